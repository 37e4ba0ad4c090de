//! Dates of birth (a plausible date next to `born`, `DOB` …) and ages.

use super::context::with_context;
use super::plan::{Plan, is_digit};
use super::{Entity, Scan};
use crate::detect::static_regex::Lazy;
use crate::detect::windows::find_in;
use crate::normalize::View;

pub(super) static DATE: Lazy = Lazy::new(
    r"(?i)\b(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:19|20)\d{2}|(?:19|20)\d{2}[/.\-]\d{1,2}[/.\-]\d{1,2}|\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(?:19|20)\d{2}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2})\b",
);

pub(super) fn dates_of_birth(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    // Reported only next to context words: a window without any cannot hold one.
    let windows = with_context(text, plan.date.clone(), Entity::DateOfBirth);
    for m in find_in(DATE.get(), text, windows.get()).needing(is_digit) {
        if date_plausible(m.as_str()) {
            scan.consider_with_required_context(
                view,
                Entity::DateOfBirth,
                (m.start(), m.end()),
                0.85,
                "date",
            );
        }
    }
}

pub(super) fn date_plausible(s: &str) -> bool {
    let nums: Vec<u32> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect();
    match nums.as_slice() {
        [y, m, d] if *y >= 1900 => (1..=12).contains(m) && (1..=31).contains(d),
        [a, b, _y] => (1..=31).contains(a) && (1..=31).contains(b) && (*a <= 12 || *b <= 12),
        [d, _y] => (1..=31).contains(d),
        _ => false,
    }
}

const AGE_CUES: &str = include_str!("data/age_cues.txt");

/// The cues of `data/age_cues.txt`: (after the number?, cue).
fn age_cues() -> &'static [(bool, &'static str)] {
    static CUES: std::sync::OnceLock<Vec<(bool, &'static str)>> = std::sync::OnceLock::new();
    CUES.get_or_init(|| {
        AGE_CUES
            .lines()
            .filter_map(|l| {
                let l = l.trim_start();
                if let Some(c) = l.strip_prefix("after: ") {
                    Some((true, c))
                } else {
                    l.strip_prefix("before: ").map(|c| (false, c))
                }
            })
            .collect()
    })
}

/// The cues of [`age_cues`] by where they are compared: before the number, right after it
/// (`-year-old`, `歳`), or after one space.
struct CuesByPlace {
    before: Vec<&'static str>,
    attached: Vec<&'static str>,
    spaced: Vec<&'static str>,
}

fn cues_by_place() -> &'static CuesByPlace {
    static BY_PLACE: std::sync::OnceLock<CuesByPlace> = std::sync::OnceLock::new();
    BY_PLACE.get_or_init(|| {
        let mut by_place = CuesByPlace {
            before: Vec::new(),
            attached: Vec::new(),
            spaced: Vec::new(),
        };
        for &(after, cue) in age_cues() {
            if !after {
                by_place.before.push(cue);
            } else if cue.starts_with('-') || !cue.is_ascii() {
                by_place.attached.push(cue);
            } else {
                by_place.spaced.push(cue);
            }
        }
        by_place
    })
}

/// The bytes a cue after a number starts with, and those a cue before a number ends with
/// (lower case): a number with neither next to it has no cue, and the cue list is not read.
fn cue_edges() -> &'static ([bool; 256], [bool; 256]) {
    static EDGES: std::sync::OnceLock<([bool; 256], [bool; 256])> = std::sync::OnceLock::new();
    EDGES.get_or_init(|| {
        let (mut firsts, mut lasts) = ([false; 256], [false; 256]);
        for &(after, cue) in age_cues() {
            if after {
                if let Some(c) = cue.bytes().next() {
                    firsts[usize::from(c.to_ascii_lowercase())] = true;
                }
            } else if let Some(c) = cue.bytes().next_back() {
                lasts[usize::from(c.to_ascii_lowercase())] = true;
            }
        }
        (firsts, lasts)
    })
}

/// Whether `hay` starts (`at_start`) or ends with `cue`, ignoring ASCII case, on a word edge
/// (CJK cues such as `歳` need none).
fn cue_at(hay: &str, cue: &str, at_start: bool) -> bool {
    let n = cue.len();
    let edge = |c: Option<char>| !cue.is_ascii() || !c.is_some_and(char::is_alphanumeric);
    if at_start {
        hay.get(..n).is_some_and(|h| h.eq_ignore_ascii_case(cue)) && edge(hay[n..].chars().next())
    } else {
        hay.len() >= n
            && hay
                .get(hay.len() - n..)
                .is_some_and(|h| h.eq_ignore_ascii_case(cue))
            && edge(hay[..hay.len() - n].chars().next_back())
    }
}

/// Ages: a number from 1 to 120 with an age cue right after it ("42 years old", "42-year-old",
/// "42歳") or right before it ("age: 42", "aged 42").
pub(super) fn ages(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    for &(s, e) in &plan.digits {
        if e - s > 3 {
            continue;
        }
        let rest = &text[e..];
        let spaced = rest.strip_prefix(' ');
        let before = text[..s].trim_end_matches(' ');
        // A cheap look at the bytes next to the number: every cue after it starts with a
        // letter, `-` or a non-ASCII character; every cue before it ends with a letter or `:`.
        let next = spaced.unwrap_or(rest).bytes().next();
        let prev = before.bytes().next_back();
        let (firsts, lasts) = cue_edges();
        let may_follow = next.is_some_and(|c| firsts[usize::from(c.to_ascii_lowercase())]);
        let may_precede = prev.is_some_and(|c| lasts[usize::from(c.to_ascii_lowercase())]);
        if !may_follow && !may_precede {
            continue;
        }
        if !standalone_number(text, s, e) {
            continue;
        }
        let Ok(n) = text[s..e].parse::<u32>() else {
            continue;
        };
        if !(1..=120).contains(&n) {
            continue;
        }
        // A cue is only compared in full when its two edge bytes are the two next to the
        // number (which `cue_at` implies).
        let starts_alike = |cue: &str, hay: &str| {
            let (c, h) = (cue.as_bytes(), hay.as_bytes());
            let n = c.len().min(2);
            h.len() >= n && c[..n].eq_ignore_ascii_case(&h[..n])
        };
        let ends_alike = |cue: &str, hay: &str| {
            let (c, h) = (cue.as_bytes(), hay.as_bytes());
            let n = c.len().min(2);
            h.len() >= n && c[c.len() - n..].eq_ignore_ascii_case(&h[h.len() - n..])
        };
        // A cue before the number ends with the byte before it, one after starts with the byte
        // after (past a space): only the cues on a side that passed are compared.
        let cues = cues_by_place();
        let cued = (may_precede
            && cues
                .before
                .iter()
                .any(|cue| ends_alike(cue, before) && cue_at(before, cue, false)))
            || (may_follow
                && (cues
                    .attached
                    .iter()
                    .any(|cue| starts_alike(cue, rest) && cue_at(rest, cue, true))
                    || spaced.is_some_and(|h| {
                        cues.spaced
                            .iter()
                            .any(|cue| starts_alike(cue, h) && cue_at(h, cue, true))
                    })));
        if cued {
            scan.consider(
                view,
                Entity::Age,
                (s, e),
                0.8,
                "age (number next to an age cue)",
            );
        }
    }
}

/// Whether the digits at `[s, e)` are a whole number: no letter, digit or `_` glued to it, and
/// no decimal part (`3.5 years`, `1,000 years`, `v2`). A sentence's final `.` is fine.
fn standalone_number(text: &str, s: usize, e: usize) -> bool {
    // Read as bytes: every test is of an ASCII character, and a byte of a non-ASCII character
    // passes none of them, just as the character does (and the character before a `.` or `,`
    // is the byte before it).
    let b = text.as_bytes();
    let at = |i: Option<usize>| i.and_then(|i| b.get(i)).copied();
    let word = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_');
    let mark = |c: Option<u8>| matches!(c, Some(b'.' | b','));
    let digit = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_digit());
    let (b1, b2) = (at(s.checked_sub(1)), at(s.checked_sub(2)));
    let (a1, a2) = (at(Some(e)), at(Some(e + 1)));
    let glued = word(b1) || word(a1) || (mark(b1) && digit(b2)) || (mark(a1) && digit(a2));
    !glued
}
