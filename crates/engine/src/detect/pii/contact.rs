//! E-mail addresses and URLs.

use std::sync::OnceLock;

use memchr::memmem::Finder;

use super::{Entity, Scan};
use crate::detect::static_regex::Lazy;
use crate::normalize::View;

pub(super) static EMAIL: Lazy = Lazy::new(
    r"(?i)\b[a-z0-9](?:[a-z0-9._%+\-]{0,62}[a-z0-9])?@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b",
);

pub(super) static URL: Lazy = Lazy::new(r#"(?i)\b(?:https?|ftp)://[^\s<>"'`]+|\bwww\.[^\s<>"'`]+"#);

pub(super) fn emails(scan: &mut Scan<'_>, view: &View<'_>, windowed: bool) {
    let text = view.text;
    let spans: Vec<(usize, usize)> = if windowed {
        email_spans(text.as_bytes())
    } else {
        EMAIL
            .get()
            .find_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect()
    };
    for (s, e) in spans {
        // Byte windows, not `str::contains`: the spans are short, and a substring searcher
        // costs more to set up than the search.
        let dots = text.as_bytes()[s..e].windows(2).any(|w| w == b"..");
        if !dots && !in_url_authority(text, s) {
            scan.consider(view, Entity::Email, (s, e), 0.9, "email address");
        }
    }
}

pub(super) fn urls(scan: &mut Scan<'_>, view: &View<'_>) {
    let text = view.text;
    for m in URL.get().find_iter(text) {
        let trimmed = m
            .as_str()
            .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']']);
        scan.consider(
            view,
            Entity::Url,
            (m.start(), m.start() + trimmed.len()),
            0.7,
            "URL",
        );
    }
}

/// `://` or `www.` (any case): every URL match has one.
pub(super) fn has_url_marker(text: &str) -> bool {
    let b = text.as_bytes();
    // A `www.` ends with `w.` or `W.`: two vectorised searches for a pair that prose rarely
    // has (one per case form of `ww` were four; a search for `.` stops at every sentence).
    let www_at = |j: usize| j >= 2 && b[j - 2..j].eq_ignore_ascii_case(b"ww");
    // The searchers are built once: building one costs more than searching a short text.
    static FINDERS: OnceLock<[Finder<'static>; 3]> = OnceLock::new();
    let [scheme, lower, upper] =
        FINDERS.get_or_init(|| [Finder::new(b"://"), Finder::new(b"w."), Finder::new(b"W.")]);
    scheme.find(b).is_some()
        || [lower, upper]
            .iter()
            .any(|pair| pair.find_iter(b).any(www_at))
}

/// The matches of [`EMAIL`] in an ASCII text, in order, without running the regex: the same
/// spans as `EMAIL.find_iter(text)` (differential tests below).
///
/// Why they are the same. The regex is `\b L @ D` with the local part
/// `L = [a-z0-9](?:[a-z0-9._%+-]{0,62}[a-z0-9])?` and the domain
/// `D = (?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b`, case-insensitive (on ASCII
/// text `(?i)` only adds the capitals; `\b` sees ASCII word bytes `[A-Za-z0-9_]`).
/// - `L` cannot contain `@`, so a match starting at `s` uses the first `@` after `s`, at `a`:
///   `s` is in `(previous @, a)`, every byte of `s..a` is in `L`'s class, `b[s]` and `b[a - 1]`
///   are alphanumeric, `a - s <= 64`, and `\b` holds at `s` (`b[s - 1]` is not a word byte).
///   Nothing of `L` depends on what follows the `@`, and nothing of `D` on `s`.
/// - `find_iter` reports the leftmost start at or after the end of the previous match, so for
///   each `@` in turn the smallest valid `s` wins, if `D` matches after that `@`.
/// - `D`: a label cannot contain `.` and must end with one, so from each position the label is
///   forced (up to the next byte outside `[a-z0-9-]`, which must be `.`, with alphanumeric
///   first and last bytes and 1 to 63 bytes). The greedy `+` takes as many labels as there
///   are, and on failure gives them back one at a time: the top-level domain is tried after
///   the last label first. `[a-z]{2,24}\b` at `t` succeeds exactly when the run of letters at
///   `t` has 2 to 24 bytes and is not followed by a digit or `_` (a shorter take is followed by
///   a letter, so `\b` fails; a longer run cannot be taken). So the match ends after the
///   letters of the last label position where that holds: the one found last walking forward.
/// - No `@` can be inside a previous match's domain, so every `@` after the first is looked at.
pub(super) fn email_spans(b: &[u8]) -> Vec<(usize, usize)> {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let local = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
    let mut out = Vec::new();
    // Where the next match may start: after the previous match and after the previous `@`.
    let mut from = 0;
    for a in memchr::memchr_iter(b'@', b) {
        let lo = from.max(a.saturating_sub(64));
        from = from.max(a + 1);
        if a == 0 || a <= lo || !b[a - 1].is_ascii_alphanumeric() {
            continue;
        }
        let mut run = a;
        while run > lo && local(b[run - 1]) {
            run -= 1;
        }
        let Some(s) =
            (run..a).find(|&s| b[s].is_ascii_alphanumeric() && (s == 0 || !word(b[s - 1])))
        else {
            continue;
        };
        if let Some(e) = email_domain_end(b, a + 1) {
            out.push((s, e));
            from = e;
        }
    }
    out
}

/// Where the domain part of [`EMAIL`] that starts at `p` ends, if it matches (see
/// [`email_spans`]).
pub(super) fn email_domain_end(b: &[u8], mut p: usize) -> Option<usize> {
    let tld_end = |t: usize| {
        let letters = b[t.min(b.len())..]
            .iter()
            .take(25)
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        let after = b.get(t + letters);
        ((2..=24).contains(&letters)
            && !after.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_'))
        .then_some(t + letters)
    };
    let mut end = None;
    loop {
        let mut q = p;
        while q < b.len() && (b[q].is_ascii_alphanumeric() || b[q] == b'-') {
            q += 1;
        }
        let label = q > p
            && q - p <= 63
            && b.get(q) == Some(&b'.')
            && b[p].is_ascii_alphanumeric()
            && b[q - 1].is_ascii_alphanumeric();
        if !label {
            return end;
        }
        p = q + 1;
        if let Some(e) = tld_end(p) {
            end = Some(e);
        }
    }
}

/// Whether the e-mail-shaped match at `start` is the user-info part of a URL
/// (`postgres://user:pass@db.example.com/x`, `https://token@github.com/o/r`): inside the same
/// whitespace-free token, after `://` and before any path, query or fragment.
pub(super) fn in_url_authority(text: &str, start: usize) -> bool {
    let Some(before) = text.get(..start) else {
        return false;
    };
    let token = before
        .rfind(char::is_whitespace)
        .map_or(before, |i| &before[i + 1..]);
    // The token is short: byte windows, not a substring searcher.
    token
        .as_bytes()
        .windows(3)
        .rposition(|w| w == b"://")
        .is_some_and(|i| !token[i + 3..].contains(['/', '?', '#', '=', '&']))
}
