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
