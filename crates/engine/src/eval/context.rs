//! One evaluation's state: the texts' views, each detector's findings computed at most once per
//! text and mode, and the expression walk over them.

use std::borrow::Cow;

use crate::ast::{ScopeField, ScopeOp};
use crate::compile::CExpr;
use crate::detect::TextViews;
use crate::detect::{Detector, RawFinding, SharedLexicons};
use crate::eval::Scope;
use crate::finding::{Finding, Target};
use crate::policy::Mode;

pub(super) const MODES: usize = 3;

fn mode_index(m: Mode) -> usize {
    match m {
        Mode::Fast => 0,
        Mode::Balanced => 1,
        Mode::Robust => 2,
    }
}

/// What a policy set shares with each of its evaluations.
#[derive(Clone, Copy)]
pub(super) struct Shared<'s> {
    pub lexicons: Option<&'s SharedLexicons>,
    /// Per detector, how many text clauses read it (`None`: unknown).
    pub uses: Option<&'s [u32]>,
    pub repeated_scans: bool,
}

/// Count the text clauses reading each detector.
pub(super) fn count_uses(expr: &CExpr, uses: &mut [u32]) {
    match expr {
        CExpr::Or(items) | CExpr::And(items) => items.iter().for_each(|i| count_uses(i, uses)),
        CExpr::Not(inner) => count_uses(inner, uses),
        CExpr::Text { detector, .. } => {
            if let Some(u) = uses.get_mut(*detector) {
                *u += 1;
            }
        }
        CExpr::Scope { .. } => {}
    }
}

/// One evaluation: its scope, the views of its texts, and each detector's findings per text and
/// mode once computed.
pub(super) struct Ctx<'i> {
    pub scope: &'i Scope,
    pub views: [Option<TextViews<'i>>; 2],
    pub detectors: &'i [Detector],
    pub cache: Cache,
    pub uses: Option<&'i [u32]>,
}

/// Each detector's findings per text and mode, once computed: a slot per (detector, text,
/// mode) that indexes the computed lists, so that making and dropping the cache costs little
/// for the many slots never computed.
pub(super) struct Cache {
    /// Per slot, 1 + the index of its findings in `computed`, or 0 when not computed yet.
    index: Vec<usize>,
    computed: Vec<Vec<Finding>>,
}

impl Cache {
    pub(super) fn new(slots: usize) -> Self {
        Cache {
            index: vec![0; slots],
            computed: Vec::new(),
        }
    }

    /// Whether `slot` is a slot whose findings are not computed yet.
    fn is_pending(&self, slot: usize) -> bool {
        self.index.get(slot) == Some(&0)
    }

    /// Keep the findings of a pending `slot`.
    fn set(&mut self, slot: usize, findings: Vec<Finding>) {
        if let Some(i) = self.index.get_mut(slot) {
            self.computed.push(findings);
            *i = self.computed.len();
        }
    }

    /// The findings of `slot`, if computed.
    fn get(&self, slot: usize) -> Option<&Vec<Finding>> {
        let i = *self.index.get(slot)?;
        self.computed.get(i.checked_sub(1)?)
    }

    /// The findings of `slot`, if computed, to take from.
    fn get_mut(&mut self, slot: usize) -> Option<&mut Vec<Finding>> {
        let i = *self.index.get(slot)?;
        self.computed.get_mut(i.checked_sub(1)?)
    }
}

impl<'i> Ctx<'i> {
    fn findings(&mut self, detector: usize, target: Target, mode: Mode) -> &[Finding] {
        let slot = (detector * 2 + target.index()) * MODES + mode_index(mode);
        if self.cache.is_pending(slot) {
            let computed = match (&self.views[target.index()], self.detectors.get(detector)) {
                (Some(tv), Some(d)) => to_findings(d, target, tv, d.run(tv, mode)),
                _ => Vec::new(),
            };
            self.cache.set(slot, computed);
        }
        self.cache.get(slot).map_or(&[], Vec::as_slice)
    }

    /// A metadata value of the scope, its key matched exactly or else ignoring case.
    fn metadata(&self, key: &str) -> Option<&str> {
        let metadata = &self.scope.metadata;
        metadata
            .get(key)
            .or_else(|| {
                metadata
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }

    /// Whether the scope's metadata `key` is `value` (ignoring case).
    fn scope_is(&self, key: &str, value: &str) -> bool {
        self.metadata(key).is_some_and(|a| eq_folded(a, value))
    }

    /// Whether `expr` holds; when `collect`, push the findings that make it hold.
    pub(super) fn eval(
        &mut self,
        expr: &CExpr,
        mode: Mode,
        collect: bool,
        out: &mut Vec<Finding>,
    ) -> bool {
        match expr {
            CExpr::Or(items) => {
                let mut any = false;
                for item in items {
                    if self.eval(item, mode, collect, out) {
                        any = true;
                        if !collect {
                            break;
                        }
                    }
                }
                any
            }
            CExpr::And(items) => {
                let mark = out.len();
                for item in items {
                    if !self.eval(item, mode, collect, out) {
                        out.truncate(mark);
                        return false;
                    }
                }
                true
            }
            CExpr::Not(inner) => !self.eval(inner, mode, false, out),
            CExpr::Text { target, detector } => {
                if let Some(part) = target.part()
                    && !self.scope_is("part", part)
                {
                    return false;
                }
                let targets = target.texts();
                // A detector read by this clause only hands its findings over instead of
                // copying them: no other clause will ask for them.
                let only_reader = self
                    .uses
                    .is_some_and(|u| u.get(*detector).is_some_and(|n| *n == 1));
                let mut found = false;
                for t in targets {
                    let f = self.findings(*detector, *t, mode);
                    if f.is_empty() {
                        continue;
                    }
                    found = true;
                    if !collect {
                        break;
                    }
                    if only_reader {
                        let slot = (*detector * 2 + t.index()) * MODES + mode_index(mode);
                        if let Some(v) = self.cache.get_mut(slot) {
                            if out.is_empty() {
                                // Same as `append`, without copying a long list.
                                std::mem::swap(out, v);
                            } else {
                                out.append(v);
                            }
                        }
                    } else {
                        out.extend_from_slice(f);
                    }
                }
                found
            }
            CExpr::Scope {
                field,
                op,
                negated,
                values,
            } => {
                let actual = match field {
                    ScopeField::App => self.scope.app.as_deref(),
                    ScopeField::User => self.scope.user.as_deref(),
                    ScopeField::UserRole => self.scope.user_role.as_deref(),
                    ScopeField::Model => self.scope.model.as_deref(),
                    ScopeField::Environment => self.scope.environment.as_deref(),
                    ScopeField::Metadata(key) => self.metadata(key),
                };
                let candidates = match op {
                    ScopeOp::Is => values.get(..1).unwrap_or(&[]),
                    ScopeOp::In => values.as_slice(),
                };
                let hit = actual.is_some_and(|a| candidates.iter().any(|v| eq_folded(a, v)));
                hit != *negated
            }
        }
    }
}

/// Public findings from raw ones, with char spans computed in one pass over the text (the
/// text's bytes are its chars when it is ASCII).
fn to_findings(
    d: &Detector,
    target: Target,
    tv: &TextViews<'_>,
    raw: Vec<RawFinding>,
) -> Vec<Finding> {
    if raw.is_empty() {
        return Vec::new();
    }
    let text = tv.original;
    let ascii = tv.is_ascii();
    // Byte offset -> char offset, for every offset the findings use (non-ASCII text only).
    let mut offsets: Vec<(usize, usize)> = Vec::new();
    if !ascii {
        let mut bytes: Vec<usize> = raw
            .iter()
            .flat_map(|r| [r.start, r.end.max(r.start)])
            .collect();
        bytes.sort_unstable();
        bytes.dedup();
        let mut chars = 0;
        let mut at = 0;
        for b in bytes {
            // Same as counting the chars of `text[..b]`, which is empty when `b` is not a
            // boundary.
            let Some(seg) = text.get(at..b) else {
                offsets.push((b, usize::MAX));
                continue;
            };
            chars += seg.chars().count();
            at = b;
            offsets.push((b, chars));
        }
    }
    let char_at = |b: usize| -> Option<usize> {
        if ascii {
            return (b <= text.len()).then_some(b);
        }
        offsets
            .binary_search_by_key(&b, |o| o.0)
            .ok()
            .and_then(|i| offsets.get(i))
            .and_then(|o| (o.1 != usize::MAX).then_some(o.1))
    };
    raw.into_iter()
        .map(|r| {
            let char_start = char_at(r.start).unwrap_or(0);
            let char_end = char_start
                + match (char_at(r.start), char_at(r.end)) {
                    (Some(a), Some(b)) if b >= a => b - a,
                    _ => text.get(r.start..r.end).map_or(0, |t| t.chars().count()),
                };
            Finding {
                detector: Cow::Borrowed(d.name),
                entity: r.entity,
                target,
                start: r.start,
                end: r.end,
                char_start,
                char_end,
                score: r.score,
                explanation: r.explanation,
            }
        })
        .collect()
}

/// `a` equals the already-lowercased `lower`, ignoring case.
fn eq_folded(a: &str, lower: &str) -> bool {
    if a.is_ascii() {
        a.eq_ignore_ascii_case(lower)
    } else {
        a.chars().flat_map(char::to_lowercase).eq(lower.chars())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keeps_each_slot_apart() {
        let f = |start| {
            Finding::new(
                "d",
                "e",
                Target::Prompt,
                "abcdef",
                start,
                6,
                0.5,
                "x".into(),
            )
        };
        let mut c = Cache::new(4);
        assert!((0..4).all(|s| c.is_pending(s) && c.get(s).is_none()));
        assert!(!c.is_pending(4), "a slot past the end is never computed");
        c.set(2, vec![f(1)]);
        c.set(0, Vec::new());
        c.set(9, vec![f(3)]);
        assert!(!c.is_pending(2) && !c.is_pending(0) && c.is_pending(1) && c.is_pending(3));
        assert_eq!(c.get(2).map(|v| v[0].start), Some(1));
        assert_eq!(c.get(0).map(Vec::len), Some(0));
        assert!(c.get(1).is_none() && c.get(9).is_none());
        if let Some(v) = c.get_mut(2) {
            v.clear();
        }
        assert_eq!(c.get(2).map(Vec::len), Some(0));
        assert!(!c.is_pending(2), "a taken list stays computed");
    }
}
