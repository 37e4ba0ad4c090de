//! Findings without repeated spans: the first of each (detector, entity, target, span) is kept.

use crate::eval::PolicyHit;
use crate::finding::Finding;

/// Which of `findings` to keep so that no span repeats: the first occurrence of each
/// (detector, entity, target, start, end). Few findings are compared pairwise; more are sorted
/// by span (integers first), so a long document's thousands of findings cost `n log n`
/// comparisons and no hashing.
fn first_of_each_span(findings: &[&Finding]) -> Vec<bool> {
    let n = findings.len();
    let mut keep = vec![true; n];
    if n <= 16 {
        for i in 1..n {
            keep[i] = !findings[..i].iter().any(|x| x.same_span(findings[i]));
        }
        return keep;
    }
    if spans_rise_per_kind(findings) {
        return keep;
    }
    // Sort plain integer keys (span, target, index); only findings with the same span and
    // target (a handful at most) are compared by detector and entity, lower index first. The
    // key is packed into one `u128` (offsets below 2^48, ordered as the tuple would be) when
    // the offsets allow, which sorts faster than the tuple.
    let packed = findings
        .iter()
        .all(|f| f.start < 1 << 48 && f.end < 1 << 48);
    if !packed || n >= 1 << 31 {
        let mut order: Vec<(usize, usize, usize, usize)> = findings
            .iter()
            .enumerate()
            .map(|(i, f)| (f.start, f.end, f.target.index(), i))
            .collect();
        order.sort_unstable();
        mark_repeats(findings, &order, |o| (o.0, o.1, o.2), |o| o.3, &mut keep);
        return keep;
    }
    let mut order: Vec<u128> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (f.start as u128) << 80
                | (f.end as u128) << 32
                | (f.target.index() as u128) << 31
                | i as u128
        })
        .collect();
    order.sort_unstable();
    mark_repeats(
        findings,
        &order,
        |o| *o >> 31,
        |o| (*o & 0x7FFF_FFFF) as usize,
        &mut keep,
    );
    keep
}

/// Whether, for each (detector, entity, target), the spans of `findings` rise strictly in list
/// order: then no span repeats (a repeat is the same span for the same three), and nothing
/// needs sorting. A detector's findings of one entity usually come in text order; with more
/// than a few kinds, or any span that does not rise, the answer is `false` and the caller
/// sorts.
fn spans_rise_per_kind(findings: &[&Finding]) -> bool {
    let mut last: Vec<(&Finding, (usize, usize))> = Vec::new();
    // The kind of the previous finding, tried first: findings of a kind come in runs.
    let mut recent = 0;
    for f in findings {
        let span = (f.start, f.end);
        let same =
            |k: &Finding| k.target == f.target && k.detector == f.detector && k.entity == f.entity;
        let kind = if last.get(recent).is_some_and(|(k, _)| same(k)) {
            Some(recent)
        } else {
            last.iter().position(|(k, _)| same(k))
        };
        recent = kind.unwrap_or(last.len());
        match kind {
            Some(k) if last[k].1 < span => last[k].1 = span,
            Some(_) => return false,
            None if last.len() < 32 => last.push((f, span)),
            None => return false,
        }
    }
    true
}

/// In `order` (sorted by span, target, then index), clear `keep` for every finding whose
/// detector and entity an earlier one of the same span and target already has.
fn mark_repeats<T, K: PartialEq>(
    findings: &[&Finding],
    order: &[T],
    key: impl Fn(&T) -> K,
    index: impl Fn(&T) -> usize,
    keep: &mut [bool],
) {
    let mut g = 0;
    while g < order.len() {
        let k = key(&order[g]);
        let mut h = g + 1;
        while h < order.len() && key(&order[h]) == k {
            h += 1;
        }
        for j in g + 1..h {
            let fj = findings[index(&order[j])];
            if order[g..j].iter().any(|o| findings[index(o)].same_span(fj)) {
                keep[index(&order[j])] = false;
            }
        }
        g = h;
    }
}

/// Whether no detector has findings in two of `hits` (each hit's own findings are already
/// without repeated spans, see `evaluate_entries`). A hit's detectors are a handful, listed by
/// walking its findings and comparing each name with the last one seen.
pub(super) fn detectors_disjoint(hits: &[PolicyHit]) -> bool {
    let mut seen: Vec<(usize, &str)> = Vec::new();
    for (h, hit) in hits.iter().enumerate() {
        let mut last: Option<&str> = None;
        for f in &hit.findings {
            let name: &str = &f.detector;
            if last == Some(name) {
                continue;
            }
            last = Some(name);
            match seen.iter().find(|(_, d)| *d == name) {
                Some((other, _)) if *other != h => return false,
                Some(_) => {}
                None => seen.push((h, name)),
            }
        }
    }
    true
}

/// `findings` without repeated spans, first occurrence kept.
pub(super) fn dedup_spans<'f>(findings: impl IntoIterator<Item = &'f Finding>) -> Vec<&'f Finding> {
    let all: Vec<&Finding> = findings.into_iter().collect();
    let keep = first_of_each_span(&all);
    all.into_iter()
        .zip(keep)
        .filter_map(|(f, k)| k.then_some(f))
        .collect()
}

/// `findings` without repeated spans, first occurrence kept, in place.
pub(super) fn dedup_spans_owned(findings: &mut Vec<Finding>) {
    let keep = first_of_each_span(&findings.iter().collect::<Vec<_>>());
    let mut k = keep.into_iter();
    findings.retain(|_| k.next().unwrap_or(true));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Scores;
    use crate::finding::Target;
    use crate::policy::{Action, Severity, ViolationType};

    fn finding(detector: &str, entity: &str, target: Target, start: usize, end: usize) -> Finding {
        Finding {
            detector: detector.to_owned().into(),
            entity: entity.to_owned().into(),
            target,
            start,
            end,
            char_start: start,
            char_end: end,
            score: 0.5,
            explanation: format!("{start}").into(),
        }
    }

    #[test]
    fn dedup_keeps_the_first_of_each_span_in_order() {
        // Enough findings for the sorting path, with repeats of every kind of key.
        let mut all = Vec::new();
        for i in 0..60usize {
            let target = if i % 3 == 0 {
                Target::Prompt
            } else {
                Target::Completion
            };
            let detector = ["pii", "secrets"][i % 2];
            let entity = ["email", "phone", "email"][i % 3];
            all.push(finding(detector, entity, target, i % 7, i % 7 + i % 5));
        }
        let naive: Vec<&Finding> = all
            .iter()
            .enumerate()
            .filter(|(i, f)| !all[..*i].iter().any(|x| x.same_span(f)))
            .map(|(_, f)| f)
            .collect();
        assert_eq!(dedup_spans(&all), naive);
        assert_eq!(dedup_spans(&all[..10]), {
            let small: Vec<&Finding> = all[..10]
                .iter()
                .enumerate()
                .filter(|(i, f)| !all[..*i].iter().any(|x| x.same_span(f)))
                .map(|(_, f)| f)
                .collect();
            small
        });
        let mut owned = all.clone();
        dedup_spans_owned(&mut owned);
        assert_eq!(owned.iter().collect::<Vec<_>>(), naive);
    }

    #[test]
    fn dedup_of_rising_spans_keeps_all_and_still_finds_a_late_repeat() {
        let naive = |all: &[Finding]| -> Vec<Finding> {
            all.iter()
                .enumerate()
                .filter(|(i, f)| !all[..*i].iter().any(|x| x.same_span(f)))
                .map(|(_, f)| f.clone())
                .collect()
        };
        // Interleaved kinds, each with rising spans (some spans shared across kinds).
        let mut all = Vec::new();
        for i in 0..80usize {
            let target = [Target::Prompt, Target::Completion][i % 2];
            let entity = ["email", "phone", "card"][i % 3];
            all.push(finding("pii", entity, target, i / 3, i / 3 + 1 + i % 2));
        }
        assert!(spans_rise_per_kind(&all.iter().collect::<Vec<_>>()));
        let kept: Vec<Finding> = dedup_spans(&all).into_iter().cloned().collect();
        assert_eq!(kept, naive(&all));
        assert_eq!(kept.len(), all.len());
        // A repeat, or a span that falls back, sends it to the sort.
        for extra in [
            all[5].clone(),
            finding("pii", "email", Target::Prompt, 0, 1),
        ] {
            let mut more = all.clone();
            more.push(extra);
            assert!(!spans_rise_per_kind(&more.iter().collect::<Vec<_>>()));
            let kept: Vec<Finding> = dedup_spans(&more).into_iter().cloned().collect();
            assert_eq!(kept, naive(&more));
            let mut owned = more.clone();
            dedup_spans_owned(&mut owned);
            assert_eq!(owned, naive(&more));
        }
    }

    #[test]
    fn findings_of_hits_with_disjoint_detectors_have_no_repeats() {
        let hit = |findings: Vec<Finding>| {
            let mut findings = findings;
            dedup_spans_owned(&mut findings);
            PolicyHit {
                policy_id: 1,
                violation_type: ViolationType::DataLeak,
                severity: Severity::Medium,
                confidence: 0.5,
                action: Action::Notification,
                findings,
                scores: Scores::default(),
                explanation: String::new(),
            }
        };
        let many = |detector: &str, k: usize| -> Vec<Finding> {
            (0..40)
                .map(|i| {
                    let target = [Target::Prompt, Target::Completion][(i + k) % 2];
                    finding(
                        detector,
                        ["email", "phone"][i % 2],
                        target,
                        i % 6,
                        i % 6 + 2,
                    )
                })
                .collect()
        };
        let naive = |hits: &[PolicyHit]| -> usize {
            let all: Vec<&Finding> = hits.iter().flat_map(|h| h.findings.iter()).collect();
            dedup_spans(all.iter().copied()).len()
        };
        let disjoint = [
            hit(many("pii", 0)),
            hit(many("secrets", 1)),
            hit(many("code", 0)),
        ];
        assert!(detectors_disjoint(&disjoint));
        let flat = disjoint.iter().map(|h| h.findings.len()).sum::<usize>();
        assert_eq!(naive(&disjoint), flat);
        let mut mixed = many("pii", 0);
        mixed.extend(many("secrets", 0));
        let shared = [hit(many("pii", 0)), hit(mixed)];
        assert!(!detectors_disjoint(&shared));
        assert!(naive(&shared) < shared.iter().map(|h| h.findings.len()).sum::<usize>());
    }
}
