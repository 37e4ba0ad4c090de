//! Phone numbers: runs of digits and separators, scored by numbering plan.

use super::plan::{Plan, digit_groups_into, is_ascii_space, is_digit};
use super::{Entity, Scan};
use crate::detect::context::standalone;
use crate::detect::static_regex::Lazy;
use crate::detect::windows::find_in;
use crate::normalize::View;
use crate::policy::Mode;
use phonenumber::country::Id;

pub(super) static PHONE: Lazy =
    Lazy::new(r"(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?)?\d{1,4}(?:[\s.\-]?\d{1,4})+");

pub(super) fn phones(
    scan: &mut Scan<'_>,
    view: &View<'_>,
    plan: &Plan,
    windowed: bool,
    quads: &[(usize, usize)],
) {
    let text = view.text;
    let spans: Vec<(usize, usize)> = match plan.phone.get() {
        Some(windows) if windowed => phone_spans(text.as_bytes(), windows),
        windows => find_in(PHONE.get(), text, windows)
            .needing(is_digit)
            .map(|m| (m.start(), m.end()))
            .collect(),
    };
    let mut groups = Vec::new();
    for (ms, me) in spans {
        let m = Span {
            start: ms,
            text: &text[ms..me],
        };
        digit_groups_into(m.text, &mut groups);
        let mut i = 0;
        while i < groups.len() {
            let mut taken = None;
            // The groups from `i` on with at most 15 digits in all: `i..last`.
            let mut last = i;
            let mut n = 0;
            for g in &groups[i..] {
                n += g.1 - g.0;
                if n > 15 {
                    break;
                }
                last += 1;
            }
            for j in (i..last).rev() {
                let mut s = m.start + groups[i].0;
                let e = m.start + groups[j].1;
                // Keep a leading `+`, or a `(` closed inside the number, that belongs to it.
                // (The bytes are searched: `str::contains` with a char sets up a char searcher.)
                if s > 0
                    && (text.as_bytes()[s - 1] == b'+'
                        || (text.as_bytes()[s - 1] == b'('
                            && text.as_bytes()[s..e].contains(&b')')))
                {
                    s -= 1;
                }
                // The quads are in text order and disjoint, so their ends rise too: the
                // first that ends after `s` is the only one that can overlap.
                let quad = quads.partition_point(|q| q.1 <= s);
                if !standalone(text, s, e) || quads.get(quad).is_some_and(|q| q.0 < e) {
                    continue;
                }
                // Part of a longer run of digit groups (`3455 503491 06540`, an Amex
                // card): only a number that starts with `+` marks its own start, so
                // any other piece of a longer run is not a phone number.
                let joined = |a: usize, b: usize| b - a == 1;
                let inside = (i > 0 && joined(groups[i - 1].1, groups[i].0))
                    || groups.get(j + 1).is_some_and(|n| joined(groups[j].1, n.0));
                if inside && text.as_bytes()[s] != b'+' {
                    continue;
                }
                if let Some((base, why)) = score(&text[s..e], scan.mode)
                    && scan.consider(view, Entity::Phone, (s, e), base, why)
                {
                    taken = Some(j);
                    break;
                }
            }
            i = taken.map_or(i + 1, |j| j + 1);
        }
    }
}

/// A match's start and text.
pub(super) struct Span<'t> {
    start: usize,
    text: &'t str,
}

/// The matches of [`PHONE`] in the windows of an ASCII text (maximal runs of [`phone_byte`]s,
/// or any ranges that hold every match), in order: the spans `PHONE.find_iter(text)` gives
/// there (differential tests below).
///
/// Why they are the same: every byte a match can consume is a phone byte, so no match crosses a
/// window's edge, and in each window `find_iter`'s matches are, from its start and then from
/// each match's end, the leftmost start with a match and there the match that the regex's
/// preference order (greedy quantifiers, leftmost-first alternation) picks first.
/// [`phone_at`] tries the choices of the pattern in exactly that order.
pub(super) fn phone_spans(b: &[u8], windows: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for &(ws, we) in windows {
        let w = &b[..we];
        let mut at = ws;
        while at < we {
            match (at..we).find_map(|s| phone_at(w, s).map(|e| (s, e))) {
                Some((s, e)) => {
                    out.push((s, e));
                    at = e;
                }
                None => break,
            }
        }
    }
    out
}

/// Where the first-preferred match of
/// `(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?)?\d{1,4}(?:[\s.\-]?\d{1,4})+` starting at `s`
/// ends, on ASCII bytes, by trying its choices in the regex's order of preference: an optional
/// group present before absent, a counted repeat longest first, and a later choice before an
/// earlier one is revisited. Nothing follows the final `+` group, so once its first repetition
/// matched every later repetition is the first choice that fits, and no later failure can send
/// the search back into it.
pub(super) fn phone_at(b: &[u8], s: usize) -> Option<usize> {
    let digits = |p: usize, n: usize| {
        b.get(p..p + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let sep = |p: usize| {
        b.get(p)
            .is_some_and(|c| matches!(c, b'.' | b'-') || is_ascii_space(*c))
    };
    // `[\s.\-]?` after position `p`: with the separator first, then without.
    let opt_sep = |p: usize| [sep(p).then_some(p + 1), Some(p)].into_iter().flatten();
    // `\d{1,4}(?:[\s.\-]?\d{1,4})+` at `p`.
    let tail = |p: usize| -> Option<usize> {
        let next = |q: usize| {
            opt_sep(q).find_map(|r| (1..=4).rev().find(|&n| digits(r, n)).map(|n| r + n))
        };
        let first = (1..=4)
            .rev()
            .filter(|&n| digits(p, n))
            .find_map(|n| next(p + n))?;
        let mut end = first;
        while let Some(e) = next(end) {
            end = e;
        }
        Some(end)
    };
    // `(?:\(\d{1,4}\)[\s.\-]?)?` then the tail, at `p`.
    let after_prefix = |p: usize| -> Option<usize> {
        if b.get(p) == Some(&b'(') {
            for n in (1..=4).rev() {
                if digits(p + 1, n)
                    && b.get(p + 1 + n) == Some(&b')')
                    && let Some(e) = opt_sep(p + 2 + n).find_map(tail)
                {
                    return Some(e);
                }
            }
        }
        tail(p)
    };
    // `(?:\+\d{1,3}[\s.\-]?)?`.
    if b.get(s) == Some(&b'+') {
        for n in (1..=3).rev() {
            if digits(s + 1, n)
                && let Some(e) = opt_sep(s + 1 + n).find_map(after_prefix)
            {
                return Some(e);
            }
        }
    }
    after_prefix(s)
}

pub(super) fn nanp_ok(d: &[u8]) -> bool {
    d.len() == 10 && (2..=9).contains(&d[0]) && !(d[1] == 1 && d[2] == 1) && (2..=9).contains(&d[3])
}

/// A phone candidate's base score, by numbering plan.
pub(super) fn phone_score(s: &str) -> Option<(f64, &'static str)> {
    // Candidates have at most 15 digits: no allocation for them.
    let mut buf = [0u8; 24];
    let mut n = 0;
    for b in s.bytes().filter(u8::is_ascii_digit) {
        if let Some(slot) = buf.get_mut(n) {
            *slot = b - b'0';
        }
        n += 1;
    }
    let heap: Vec<u8>;
    let digits: &[u8] = if n <= buf.len() {
        &buf[..n]
    } else {
        heap = s
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        &heap
    };
    let formatted = s.bytes().any(|c| matches!(c, b' ' | b'-' | b'.' | b'('));
    let n = digits.len();
    if s.starts_with('+') {
        if !(8..=15).contains(&n) || digits[0] == 0 {
            return None;
        }
        if digits[0] == 1 {
            return nanp_ok(&digits[1..]).then_some((
                0.75,
                "phone number (+1, valid North American numbering plan)",
            ));
        }
        if digits[..2] == [4, 4] {
            let rest = &digits[2..];
            return (matches!(rest.len(), 9 | 10)
                && matches!(rest.first(), Some(1 | 2 | 3 | 7 | 8)))
            .then_some((0.75, "phone number (+44, valid UK numbering plan)"));
        }
        return Some((0.65, "international phone number (E.164 length)"));
    }
    if n == 10 || (n == 11 && digits[0] == 1) {
        let local = if n == 11 { &digits[1..] } else { digits };
        if nanp_ok(local) {
            return Some(if formatted {
                (0.55, "phone number (valid North American numbering plan)")
            } else {
                (
                    0.3,
                    "10-digit number matching the North American numbering plan",
                )
            });
        }
    }
    if n == 11 && digits[0] == 0 && matches!(digits[1], 1 | 2 | 3 | 7 | 8) {
        return Some(if formatted {
            (0.5, "UK phone number")
        } else {
            (0.3, "11-digit number matching the UK numbering plan")
        });
    }
    None
}

/// The regions tried for a national number with a trunk prefix `0` (`020 7946 0958`,
/// `030 1234567`), largest economies first: the first where libphonenumber finds it valid wins.
const TRUNK_ZERO_REGIONS: [Id; 16] = [
    Id::GB,
    Id::DE,
    Id::FR,
    Id::IT,
    Id::JP,
    Id::IN,
    Id::CN,
    Id::KR,
    Id::AU,
    Id::BR,
    Id::NL,
    Id::CH,
    Id::SE,
    Id::BE,
    Id::IE,
    Id::PL,
];

/// The regions tried for a national number written in groups without a trunk prefix
/// (`912 34 56 78`, `(11) 2345-6789`).
const NO_TRUNK_REGIONS: [Id; 6] = [Id::ES, Id::IT, Id::BR, Id::MX, Id::PL, Id::PT];

/// A phone candidate's base score. Fast mode: the numbering-plan rules of [`phone_score`].
/// Balanced and robust: a number those rules do not already report is checked with
/// libphonenumber's metadata (`phonenumber` crate), only here, on candidates the cheap
/// prefilter kept: an international number (`+…` or `00…`) valid in the region of its country
/// code, or a national number with a trunk `0` valid in one of [`TRUNK_ZERO_REGIONS`]. An
/// international number that is not valid anywhere drops below the threshold (context can
/// still raise it).
pub(super) fn score(s: &str, mode: Mode) -> Option<(f64, &'static str)> {
    // Mixed `.` and `-` separators are an identifier's layout (`012.785.028-74`, a Brazilian
    // CPF), not a phone number's.
    // Searched as bytes (ASCII): `str::contains` with a char sets up a char searcher.
    let mixed = s.as_bytes().contains(&b'.') && s.as_bytes().contains(&b'-');
    // `ddd-dd-dddd` is an SSN's layout.
    let ssn_layout = s.len() == 11
        && s.bytes().enumerate().all(|(i, c)| {
            if i == 3 || i == 6 {
                c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if (mixed || ssn_layout) && !s.starts_with('+') {
        return None;
    }
    let plan = phone_score(s);
    if mode == Mode::Fast || plan.is_some_and(|p| p.0 >= 0.75) {
        return plan;
    }
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let intl = if let Some(rest) = s.strip_prefix("00") {
        Some(format!("+{rest}"))
    } else if s.starts_with('+') {
        Some(s.to_owned())
    } else {
        None
    };
    if let Some(intl) = intl {
        if !(8..=15).contains(&digits) {
            return plan;
        }
        return match phonenumber::parse(None, &intl) {
            Ok(n) if phonenumber::is_valid(&n) => {
                Some((0.8, "phone number valid in its region (libphonenumber)"))
            }
            _ => Some((0.4, "international number not valid in its region")),
        };
    }
    if plan.is_some_and(|p| p.0 >= 0.5) {
        return plan;
    }
    let national = s.trim_start_matches('(');
    let formatted = s.bytes().any(|c| matches!(c, b' ' | b'-' | b'.' | b'('));
    let valid_in = |regions: &[Id]| {
        regions
            .iter()
            .any(|r| phonenumber::parse(Some(*r), s).is_ok_and(|n| phonenumber::is_valid(&n)))
    };
    if national.starts_with('0') && (8..=12).contains(&digits) && valid_in(&TRUNK_ZERO_REGIONS) {
        return Some(if formatted {
            (
                0.55,
                "national phone number valid in a major region (libphonenumber)",
            )
        } else {
            (
                0.35,
                "national phone number valid in a major region, unformatted",
            )
        });
    }
    // Numbering plans without a trunk prefix: only a number written in four groups or more, or
    // with its area code in parentheses, is tried (`666-12-3456` is an SSN's layout).
    let groups = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .count();
    if !national.starts_with('0')
        && (groups >= 4 || s.contains(')'))
        && (9..=11).contains(&digits)
        && valid_in(&NO_TRUNK_REGIONS)
    {
        return Some((
            0.5,
            "national phone number valid in a major region (libphonenumber)",
        ));
    }
    plan
}
