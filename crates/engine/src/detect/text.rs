//! The text a detector reads: its views ([`Views`]) plus what the detectors of one evaluation
//! share over them, the hits of the shared lexicon pass and a memo of pattern scans.

use std::cell::RefCell;
use std::ops::Deref;

use crate::detect::lexicon::{LazyLexicon, SignalHit};
use crate::detect::{RawFinding, SharedLexicons};
use crate::normalize::{Family, View, ViewKind, Views};
use crate::policy::Mode;

/// A scan [`TextViews::memo`] keeps: the detector and everything its findings depend on besides
/// the text (thresholds as their bits). Cheaper to build and compare than a formatted string:
/// a key is made on every run of the detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemoKey {
    /// `pii`: the entities (a bit set), `min_score`, the mode.
    Pii(u64, u64, Mode),
    /// `secrets`: the rules of the chosen providers (a bit set), `min_score`, the mode.
    Secrets(u128, u64, Mode),
    /// Toxicity's sentence classifier over the views of a mode.
    ToxicityModel(Mode),
    /// Toxicity's hits of disguised spellings in a mode: masked words, and on the folded view
    /// obfuscated spellings and profane words inside longer words where the classifier does not
    /// read that view.
    ToxicityDisguised(Mode),
}

/// Hits of every lexicon of a [`SharedLexicons`] over one list of views (named by their kinds).
type LexiconHits = (Vec<ViewKind>, Vec<Vec<SignalHit>>);

/// The views of one text ([`Views`], which it dereferences to) plus what the detectors of one
/// evaluation share over them.
pub(crate) struct TextViews<'a> {
    views: Views<'a>,
    /// The lexicons the evaluation's detectors share, scanned together once per list of views.
    shared: Option<&'a SharedLexicons>,
    lexicon_hits: RefCell<Vec<LexiconHits>>,
    /// Which entry of `lexicon_hits` holds the views a family reads in a mode (entries are never
    /// removed), so that [`TextViews::family_hits`] need not list the views again.
    family_lists: RefCell<Vec<(Mode, Family, usize)>>,
    /// Findings of pattern detectors run on this text, by detector, arguments and mode: the
    /// bundles `data_leakage`, `data_protection`, `data_minimization` and `incident_detection`
    /// run the same `pii` / `secrets` scans.
    memo: RefCell<Vec<(MemoKey, Vec<RawFinding>)>>,
    /// Whether several detectors may ask for the same scan (else storing a copy is waste).
    memo_on: bool,
}

impl<'a> TextViews<'a> {
    #[cfg(test)]
    pub(crate) fn new(original: &'a str) -> Self {
        Self::with_lexicons(original, None)
    }

    /// Views whose lexicon scans go through `shared` (see [`TextViews::shared_hits`]).
    pub(crate) fn with_lexicons(original: &'a str, shared: Option<&'a SharedLexicons>) -> Self {
        TextViews {
            views: Views::new(original),
            shared,
            lexicon_hits: RefCell::new(Vec::new()),
            family_lists: RefCell::new(Vec::new()),
            memo: RefCell::new(Vec::new()),
            memo_on: true,
        }
    }

    /// The hits of lexicon number `index` of the shared lexicons over `views`; the first call for
    /// a list of views scans it once for all of them. `None` without shared lexicons.
    pub(crate) fn shared_hits(
        &self,
        lexicon: &LazyLexicon,
        views: &[View<'_>],
    ) -> Option<Vec<SignalHit>> {
        let shared = self.shared?;
        let index = shared.index(lexicon)?;
        let mut cache = self.lexicon_hits.borrow_mut();
        if let Some((_, hits)) = cache
            .iter()
            .find(|(k, _)| k.iter().copied().eq(views.iter().map(|v| v.kind)))
        {
            return hits.get(index).cloned();
        }
        let kinds: Vec<ViewKind> = views.iter().map(|v| v.kind).collect();
        // Scanning a list of views is scanning them one after the other into the same hit
        // lists (each view's hits are deduplicated against the earlier ones'), so a scan can
        // continue from the longest list already scanned that starts this one: the original
        // view is scanned once whether a detector reads it alone or with the robust views.
        let (done, mut hits) = cache
            .iter()
            .filter(|(k, _)| k.len() < kinds.len() && kinds.starts_with(k))
            .max_by_key(|(k, _)| k.len())
            .map_or_else(|| (0, shared.empty_hits()), |(k, h)| (k.len(), h.clone()));
        for i in done..views.len() {
            shared.scan_into(&views[i..=i], &mut hits);
            if i + 1 < views.len() {
                cache.push((kinds[..=i].to_vec(), hits.clone()));
            }
        }
        let found = hits.get(index).cloned();
        cache.push((kinds, hits));
        found
    }

    /// [`TextViews::shared_hits`] over the views `family` reads in `mode`. `None` without
    /// shared lexicons.
    pub(crate) fn family_hits(
        &self,
        lexicon: &LazyLexicon,
        mode: Mode,
        family: Family,
    ) -> Option<Vec<SignalHit>> {
        let index = self.shared?.index(lexicon)?;
        let known = self
            .family_lists
            .borrow()
            .iter()
            .find(|(m, f, _)| *m == mode && *f == family)
            .map(|&(_, _, at)| at);
        if let Some(at) = known {
            return self
                .lexicon_hits
                .borrow()
                .get(at)
                .and_then(|(_, hits)| hits.get(index).cloned());
        }
        let views = self.views(mode, family);
        let found = self.shared_hits(lexicon, &views);
        let at = self
            .lexicon_hits
            .borrow()
            .iter()
            .position(|(k, _)| k.iter().copied().eq(views.iter().map(|v| v.kind)));
        if let Some(at) = at {
            self.family_lists.borrow_mut().push((mode, family, at));
        }
        found
    }

    /// The hits of `lexicon` over `views` if some earlier scan of the shared lexicons already
    /// covered exactly these views; never scans.
    pub(crate) fn cached_hits(
        &self,
        lexicon: &LazyLexicon,
        views: &[View<'_>],
    ) -> Option<Vec<SignalHit>> {
        let index = self.shared?.index(lexicon)?;
        let cache = self.lexicon_hits.borrow();
        cache
            .iter()
            .find(|(k, _)| k.iter().copied().eq(views.iter().map(|v| v.kind)))
            .and_then(|(_, hits)| hits.get(index).cloned())
    }

    /// Turn the memo of [`TextViews::memo`] off: no scan will be asked for twice.
    pub(crate) fn without_memo(mut self) -> Self {
        self.memo_on = false;
        self
    }

    /// `run()`'s findings, computed once per `key` for this text. `run` must be a pure function
    /// of the text and whatever `key` names.
    pub(crate) fn memo(
        &self,
        key: MemoKey,
        run: impl FnOnce() -> Vec<RawFinding>,
    ) -> Vec<RawFinding> {
        if !self.memo_on {
            return run();
        }
        if let Some((_, found)) = self.memo.borrow().iter().find(|(k, _)| *k == key) {
            return found.clone();
        }
        let found = run();
        self.memo.borrow_mut().push((key, found.clone()));
        found
    }
}

impl<'a> Deref for TextViews<'a> {
    type Target = Views<'a>;

    fn deref(&self) -> &Views<'a> {
        &self.views
    }
}
