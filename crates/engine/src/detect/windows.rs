//! Running a built-in regex only on small windows of an ASCII text instead of over all of it.
//!
//! A window list for a regex `R` is a sorted list of disjoint byte ranges such that **every
//! string the body of `R` can match (ignoring `\b`), anywhere in the text, lies inside one
//! window**. Two ways of building one are used, each argued where it is built:
//!
//! - maximal runs of `R`'s alphabet (the bytes any match can consist of) that contain a seed
//!   every match must contain (an `@`, a digit, two colons …), from [`runs_around`];
//! - bounded windows around such a seed when every match has a bounded extent from it (an IBAN
//!   is at most 43 bytes from its first digit), merged with [`merge`].
//!
//! Under that property [`Found`] yields exactly what `R.find_iter(text)` yields: no match crosses
//! a window edge, the search in a window starts at the later of its start and the previous
//! match's end (as `find_iter` does), look-behind (`\b`) sees the real text before the window
//! because `find_at` is given the text from 0, and look-ahead sees the real byte after the window
//! because the haystack keeps it (and no match can end beyond the window, so that byte is never
//! the haystack's end when it matters). Matches are never empty for the patterns that use this.
//! A window that cannot hold a *reportable* match (too few digits for a card) may be left out: it
//! holds its matches only, so leaving it out changes no other window's matches.
//!
//! Only for ASCII text: the alphabets are byte sets, and Unicode `\d`, `\s` and case folding
//! reach beyond ASCII. Non-ASCII text is scanned whole.

use regex::{Captures, Match, Regex};

/// Byte ranges `[start, end)` of the maximal runs of ASCII digits, from a SWAR scan 8 bytes at a
/// time (prose is mostly free of digits, so most words are skipped whole).
#[cfg(test)]
pub(crate) fn digit_runs(b: &[u8]) -> Vec<(usize, usize)> {
    scan_bytes(b).digits
}

/// What one SWAR pass over a text finds (see [`scan_bytes`]).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ByteScan {
    /// The maximal runs of ASCII digits, ascending.
    pub digits: Vec<(usize, usize)>,
    /// Ascending, disjoint ranges such that every run of at least [`DENSE_RUN`] bytes in
    /// `0x2D..=0x66` (`-./0-9:;<=>?@A-Z[\]^_`a-f`) has a byte in one of them.
    pub dense: Vec<(usize, usize)>,
}

/// The run length [`ByteScan::dense`] is for: the shortest MAC address (`aabb.ccdd.eeff`).
pub(crate) const DENSE_RUN: usize = 14;

/// The digit runs and the dense ranges of `b`, 8 bytes at a time.
///
/// Dense ranges: a run of 14 bytes that starts at `8k + r` covers the aligned word `k` (`r = 0`)
/// or `k + 1` (`r >= 2`, as `8 - r + 8 <= 14`), or, for `r = 1`, bytes 1..8 of word `k` and
/// bytes 0..7 of word `k + 1`. So each aligned word whose bytes are all in the range is a dense
/// range, and so are bytes 1..15 of two words when those are; the last partial word and the
/// two words before it are always one (the test there is not worth making exact).
pub(crate) fn scan_bytes(b: &[u8]) -> ByteScan {
    use crate::lanes::{H, L};
    // Room for a digit run every 64 bytes, about what prose with figures has: a long text's list
    // is then not copied again and again as it grows.
    let mut digits: Vec<(usize, usize)> = Vec::with_capacity(b.len() / 64);
    let mut dense: Vec<(usize, usize)> = Vec::new();
    let mut push = |s: usize, e: usize| match digits.last_mut() {
        Some(last) if last.1 == s => last.1 = e,
        _ => digits.push((s, e)),
    };
    // The high bit of each byte of `w`, gathered into 8 bits (byte `j` to bit `j`): after the
    // shift the bits are 8 apart, and the multiplier moves bit `8j` to bit `56 + j` with no
    // two partial products meeting below bit 64 in the top byte.
    let gather = |w: u64| (w >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let word = |chunk: &[u8]| -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        u64::from_le_bytes(w)
    };
    // `y` is below 10 exactly for the digits; the high bit of each byte of the mask is set
    // when that byte of `y` is below 10 (the subtraction cannot borrow across bytes because
    // every byte has its high bit set first).
    let digit_mask = |x: u64| -> u64 {
        let y = x ^ (0x30 * L);
        !((y | H) - 10 * L) & !y & H
    };
    // High bit set for each ASCII byte outside `0x2D..=0x66`, clear for each inside (the
    // subtractions and additions stay within each byte).
    let outside = |x: u64| -> u64 {
        // Each byte of `t` is 0x80 plus its low seven bits less 0x2D, so its low seven bits are
        // `v - 0x2D` (at most 0x39 inside the range, above it from 0x67 on) or, below 0x2D,
        // `v + 0x53`; adding 0x46 to them sets the high bit exactly outside the range. A
        // non-ASCII byte may or may not be flagged: only the bytes in the range matter.
        let t = (x | H) - 0x2D * L;
        ((t & !H) + 0x46 * L) & H
    };
    // The outside-mask of the previous word (all set before the first).
    let mut prev_out = H;
    let mut dense_word = |k: usize, out: u64, prev_out: u64| {
        let at = k * 8;
        if out == 0 {
            match dense.last_mut() {
                Some(last) if last.1 >= at => last.1 = at + 8,
                _ => dense.push((at, at + 8)),
            }
        } else if out << 8 == 0 && prev_out >> 8 == 0 && at >= 8 {
            match dense.last_mut() {
                Some(last) if last.1 >= at - 7 => last.1 = last.1.max(at + 7),
                _ => dense.push((at - 7, at + 7)),
            }
        }
    };
    let mut base = 0;
    // 32 bytes at a time: most blocks of prose have no digit and are skipped after one test.
    let mut blocks = b.chunks_exact(32);
    for block in &mut blocks {
        let x = [
            word(&block[0..8]),
            word(&block[8..16]),
            word(&block[16..24]),
            word(&block[24..32]),
        ];
        let m = x.map(digit_mask);
        if m[0] | m[1] | m[2] | m[3] != 0 {
            // One bit per byte of the block; each run of set bits is a run of digits.
            let mut bits =
                gather(m[0]) | gather(m[1]) << 8 | gather(m[2]) << 16 | gather(m[3]) << 24;
            while bits != 0 {
                let s = bits.trailing_zeros();
                let len = (!(bits >> s)).trailing_zeros();
                push(base + s as usize, base + (s + len) as usize);
                bits &= !(((1u64 << len) - 1) << s);
            }
        }
        let o = x.map(outside);
        // Prose has a space or a letter above `f` in almost every word.
        // A dense word, or the second of a dense pair, has its low seven bytes inside.
        if (o[0] << 8) == 0 || (o[1] << 8) == 0 || (o[2] << 8) == 0 || (o[3] << 8) == 0 {
            for (k, out) in o.into_iter().enumerate() {
                dense_word(base / 8 + k, out, prev_out);
                prev_out = out;
            }
        } else {
            prev_out = o[3];
        }
        base += 32;
    }
    let mut chunks = blocks.remainder().chunks_exact(8);
    for chunk in &mut chunks {
        let mut mask = digit_mask(word(chunk));
        while mask != 0 {
            let i = base + (mask.trailing_zeros() / 8) as usize;
            push(i, i + 1);
            mask &= mask - 1;
        }
        base += 8;
    }
    for (k, c) in chunks.remainder().iter().enumerate() {
        if c.is_ascii_digit() {
            push(base + k, base + k + 1);
        }
    }
    // The words after the last whole block, and the two before them.
    let tail = (b.len() / 32 * 32).saturating_sub(16);
    if tail < b.len() {
        match dense.last_mut() {
            Some(last) if last.1 >= tail => last.1 = b.len(),
            _ => dense.push((tail, b.len())),
        }
    }
    ByteScan { digits, dense }
}

/// The maximal runs of bytes in `alphabet` that contain one of `seeds` (ascending positions;
/// seeds outside the alphabet are ignored). Sorted and disjoint.
pub(crate) fn runs_around(
    b: &[u8],
    seeds: impl IntoIterator<Item = usize>,
    alphabet: impl Fn(u8) -> bool,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for s in seeds {
        if out.last().is_some_and(|w| s < w.1) || !b.get(s).is_some_and(|c| alphabet(*c)) {
            continue;
        }
        out.push(run_at(b, s, &alphabet));
    }
    out
}

/// [`runs_around`] with every byte of `ranges` (ascending, disjoint) as a seed, each run walked
/// once rather than once per seed in it.
#[inline]
pub(crate) fn runs_through(
    b: &[u8],
    ranges: &[(usize, usize)],
    alphabet: impl Fn(u8) -> bool,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &(s, e) in ranges {
        let e = e.min(b.len());
        let mut i = s.max(out.last().map_or(0, |r| r.1));
        while i < e {
            if alphabet(b[i]) {
                let run = run_at(b, i, &alphabet);
                out.push(run);
                i = run.1;
            } else {
                i += 1;
            }
        }
    }
    out
}

/// The maximal run of bytes in `alphabet` around `s`, which is one.
#[inline]
fn run_at(b: &[u8], s: usize, alphabet: &impl Fn(u8) -> bool) -> (usize, usize) {
    run_through(b, (s, s + 1), alphabet)
}

/// The maximal run of bytes in `alphabet` that holds `[s, e)`, all of whose bytes are.
#[inline]
pub(crate) fn run_through(
    b: &[u8],
    (s, e): (usize, usize),
    alphabet: &impl Fn(u8) -> bool,
) -> (usize, usize) {
    let mut start = s;
    while start > 0 && alphabet(b[start - 1]) {
        start -= 1;
    }
    let mut end = e;
    while end < b.len() && alphabet(b[end]) {
        end += 1;
    }
    (start, end)
}

/// Sort and merge overlapping or touching windows.
pub(crate) fn merge(mut w: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    w.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(w.len());
    for (s, e) in w {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The matches of `re` in `text`, over the whole text (`windows` is `None`) or only inside the
/// windows; the same sequence either way (see the module docs).
pub(crate) struct Found<'r, 't, 'w> {
    re: &'r Regex,
    text: &'t str,
    windows: Option<&'w [(usize, usize)]>,
    /// A byte every match contains: the rest of a window without one is not searched (this
    /// saves the search that would only confirm there is no further match).
    needs: Option<fn(u8) -> bool>,
    next: usize,
    at: usize,
}

pub(crate) fn find_in<'r, 't, 'w>(
    re: &'r Regex,
    text: &'t str,
    windows: Option<&'w [(usize, usize)]>,
) -> Found<'r, 't, 'w> {
    Found {
        re,
        text,
        windows,
        needs: None,
        next: 0,
        at: 0,
    }
}

impl<'r, 't, 'w> Found<'r, 't, 'w> {
    /// Skip the rest of a window unless it has a byte for which `byte` holds; `byte` must hold
    /// for some byte of every match.
    pub(crate) fn needing(mut self, byte: fn(u8) -> bool) -> Self {
        self.needs = Some(byte);
        self
    }

    /// Run `search(haystack, from)` in the next window that still can hold a match; the
    /// haystack is the text up to one byte past the window.
    fn step<T>(
        &mut self,
        search: impl Fn(&'t str, usize) -> Option<T>,
        span: impl Fn(&T) -> (usize, usize),
    ) -> Option<T> {
        let Some(windows) = self.windows else {
            if self.at > self.text.len() {
                return None;
            }
            let found = search(self.text, self.at);
            match &found {
                Some(m) => self.at = span(m).1.max(span(m).0 + 1),
                None => self.at = self.text.len() + 1,
            }
            return found;
        };
        while let Some(&(s, e)) = windows.get(self.next) {
            let from = self.at.max(s);
            // The window and the whole character after it.
            let hay_end = (e + 1..=self.text.len())
                .find(|&i| self.text.is_char_boundary(i))
                .unwrap_or(self.text.len());
            if from >= e
                || self
                    .needs
                    .is_some_and(|f| !self.text.as_bytes()[from..e].iter().any(|c| f(*c)))
            {
                self.next += 1;
                continue;
            }
            let hay = &self.text[..hay_end];
            match search(hay, from) {
                Some(m) if span(&m).0 < e => {
                    let (ms, me) = span(&m);
                    if me > e {
                        // Cannot happen for a correct window list; stay exact regardless by
                        // taking the match the whole text gives at this point.
                        let full = search(self.text, ms)?;
                        self.at = span(&full).1.max(ms + 1);
                        return Some(full);
                    }
                    self.at = me.max(ms + 1);
                    return Some(m);
                }
                _ => self.next += 1,
            }
        }
        None
    }
}

impl<'t> Iterator for Found<'_, 't, '_> {
    type Item = Match<'t>;

    fn next(&mut self) -> Option<Match<'t>> {
        let re = self.re;
        self.step(|hay, from| re.find_at(hay, from), |m| (m.start(), m.end()))
    }
}

/// Like [`find_in`], with capture groups.
pub(crate) struct FoundCaptures<'r, 't, 'w>(Found<'r, 't, 'w>);

pub(crate) fn captures_in<'r, 't, 'w>(
    re: &'r Regex,
    text: &'t str,
    windows: Option<&'w [(usize, usize)]>,
) -> FoundCaptures<'r, 't, 'w> {
    FoundCaptures(find_in(re, text, windows))
}

impl<'r, 't, 'w> FoundCaptures<'r, 't, 'w> {
    /// See [`Found::needing`].
    pub(crate) fn needing(self, byte: fn(u8) -> bool) -> Self {
        FoundCaptures(self.0.needing(byte))
    }
}

impl<'t> Iterator for FoundCaptures<'_, 't, '_> {
    type Item = Captures<'t>;

    fn next(&mut self) -> Option<Captures<'t>> {
        let re = self.0.re;
        self.0.step(
            |hay, from| re.captures_at(hay, from),
            |c| c.get(0).map_or((0, 0), |m| (m.start(), m.end())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_digit_runs(b: &[u8]) -> Vec<(usize, usize)> {
        let mut plain: Vec<(usize, usize)> = Vec::new();
        for (i, c) in b.iter().enumerate() {
            if c.is_ascii_digit() {
                match plain.last_mut() {
                    Some(l) if l.1 == i => l.1 += 1,
                    _ => plain.push((i, i + 1)),
                }
            }
        }
        plain
    }

    #[test]
    fn digit_runs_match_a_plain_scan() {
        let text = "a1 22 333x4444444444 5-6 0123456789abcdefghij9";
        assert_eq!(
            digit_runs(text.as_bytes()),
            plain_digit_runs(text.as_bytes())
        );
        // Runs across block and word edges, and a block of digits only.
        for pad in 0..40 {
            for len in [1, 7, 8, 9, 31, 32, 33, 70] {
                let t = format!("{}{}x1", " ".repeat(pad), "7".repeat(len));
                assert_eq!(
                    digit_runs(t.as_bytes()),
                    plain_digit_runs(t.as_bytes()),
                    "{t:?}"
                );
            }
        }
        // Every byte value, including the neighbours of the digits and high bytes.
        let all: Vec<u8> = (0..=255u8).collect();
        let runs = digit_runs(&all);
        assert_eq!(runs, vec![(48, 58)]);
    }

    /// Every run of at least `DENSE_RUN` bytes in `0x2D..=0x66` has a byte in a dense range.
    fn assert_dense_covers(b: &[u8]) {
        let scan = scan_bytes(b);
        let inside = |c: u8| (0x2D..=0x66).contains(&c);
        let mut i = 0;
        while i < b.len() {
            if !inside(b[i]) {
                i += 1;
                continue;
            }
            let s = i;
            while i < b.len() && inside(b[i]) {
                i += 1;
            }
            if i - s >= DENSE_RUN {
                assert!(
                    scan.dense.iter().any(|&(ds, de)| ds < i && s < de),
                    "run {s}..{i} of {:?} not covered by {:?}",
                    String::from_utf8_lossy(b),
                    scan.dense
                );
            }
        }
        assert!(
            scan.dense.windows(2).all(|w| w[0].1 < w[1].0),
            "{:?}",
            scan.dense
        );
    }

    #[test]
    fn dense_ranges_cover_every_long_run() {
        let prose = "The shipment left the depot at 10:30 and arrives on Thursday, as planned. ";
        for start in 0..40 {
            for len in [13, 14, 15, 17, 22, 30] {
                let mut t = prose.repeat(3).into_bytes();
                for (k, c) in t.iter_mut().skip(start).take(len).enumerate() {
                    *c = b"0a:1b-2c.3d"[k % 11];
                }
                assert_dense_covers(&t);
                assert_dense_covers(&t[..start + len]);
                assert_dense_covers(&t[start..]);
            }
        }
        // Every byte value next to a run.
        for c in 0..=255u8 {
            let mut t = vec![b' '; 24];
            t.extend_from_slice(b"aabb.ccdd.eeff");
            t.push(c);
            t.extend_from_slice(&[b' '; 40]);
            assert_dense_covers(&t);
        }
    }

    proptest::proptest! {
        #[test]
        fn digit_runs_match_a_plain_scan_on_noise(
            bytes in proptest::collection::vec(proptest::sample::select(&[
                b'0', b'5', b'9', b'/', b':', b' ', b'a', 0x80, 0xB0, 0xFF,
            ][..]), 0..200)
        ) {
            proptest::prop_assert_eq!(digit_runs(&bytes), plain_digit_runs(&bytes));
        }

        #[test]
        fn dense_ranges_cover_every_long_run_on_noise(
            bytes in proptest::collection::vec(proptest::sample::select(&[
                b' ', b'a', b'f', b'g', b'z', b'0', b'9', b':', b'-', b'.', b'A', b'F', b'G',
                b',', b'/', b'@', b'\n', 0x2C, 0x2D, 0x66, 0x67, 0x80, 0xFF,
            ][..]), 0..200)
        ) {
            assert_dense_covers(&bytes);
        }
    }

    #[test]
    fn windows_give_the_same_matches_as_the_whole_text() {
        let re = Regex::new(r"\b\d(?:[ \-]?\d)*\b").unwrap_or_else(|e| panic!("{e}"));
        let text = "x 12 34-5 ab1 2 9z 77 8";
        let b = text.as_bytes();
        let seeds: Vec<usize> = digit_runs(b).into_iter().map(|r| r.0).collect();
        let w = runs_around(b, seeds, |c| c.is_ascii_digit() || c == b' ' || c == b'-');
        let whole: Vec<(usize, usize)> = re.find_iter(text).map(|m| (m.start(), m.end())).collect();
        let windowed: Vec<(usize, usize)> = find_in(&re, text, Some(&w))
            .map(|m| (m.start(), m.end()))
            .collect();
        assert_eq!(whole, windowed);
        let all: Vec<(usize, usize)> = find_in(&re, text, None)
            .map(|m| (m.start(), m.end()))
            .collect();
        assert_eq!(whole, all);
    }

    #[test]
    fn runs_through_ranges_are_the_runs_around_their_bytes() {
        let b = b"a1:b2-c3 zz 0f.0e:99 x--.y 12:34:56:78:9a:bc q";
        let hex = |c: u8| c.is_ascii_hexdigit() || matches!(c, b':' | b'-' | b'.');
        for ranges in [
            vec![],
            vec![(0, 3)],
            vec![(1, 2), (4, 6), (12, 14)],
            vec![(0, b.len())],
            vec![(9, 11), (21, 27), (30, 40), (44, b.len() + 5)],
        ] {
            let seeds = ranges.iter().flat_map(|&(s, e)| s..e);
            assert_eq!(
                runs_through(b, &ranges, hex),
                runs_around(b, seeds, hex),
                "{ranges:?}"
            );
        }
    }

    #[test]
    fn merge_joins_overlaps() {
        assert_eq!(
            merge(vec![(5, 9), (0, 3), (2, 4), (9, 10)]),
            vec![(0, 4), (5, 10)]
        );
    }
}
