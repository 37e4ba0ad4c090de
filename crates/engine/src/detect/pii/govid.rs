//! Government identifiers: US SSN, UK NINO, passports, and the national identifiers of the
//! largest economies, each with its checksum where it has one.

use super::context::with_context;
use super::plan::{Plan, is_digit};
use super::{Entity, Scan};
use crate::detect::static_regex::Lazy;
use crate::detect::windows::{captures_in, find_in};
use crate::normalize::View;

pub(super) static SSN: Lazy = Lazy::new(r"\b(\d{3})([\- ]?)(\d{2})([\- ]?)(\d{4})\b");

pub(super) static PASSPORT: Lazy = Lazy::new(r"(?i)\b[a-z]?\d{8,9}\b");

pub(super) static NINO: Lazy =
    Lazy::new(r"(?i)\b[a-ceghj-pr-tw-z][a-ceghj-npr-tw-z] ?\d{2} ?\d{2} ?\d{2} ?[a-d]\b");

pub(super) fn ninos(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    for m in find_in(NINO.get(), text, plan.nino.get()).needing(is_digit) {
        let prefix = m
            .as_str()
            .get(..2)
            .map(str::to_ascii_uppercase)
            .unwrap_or_default();
        if !matches!(
            prefix.as_str(),
            "BG" | "GB" | "NK" | "KN" | "TN" | "NT" | "ZZ"
        ) {
            let upper = m.as_str().bytes().all(|b| !b.is_ascii_lowercase());
            scan.consider(
                view,
                Entity::UkNino,
                (m.start(), m.end()),
                if upper { 0.75 } else { 0.45 },
                "UK National Insurance number",
            );
        }
    }
}

pub(super) fn ssns(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    for c in captures_in(SSN.get(), text, plan.ssn.get()).needing(is_digit) {
        let (Some(all), Some(a), Some(s1), Some(g), Some(s2), Some(n)) =
            (c.get(0), c.get(1), c.get(2), c.get(3), c.get(4), c.get(5))
        else {
            continue;
        };
        if s1.as_str() != s2.as_str() || !ssn_valid(a.as_str(), g.as_str(), n.as_str()) {
            continue;
        }
        let base = if s1.as_str().is_empty() { 0.25 } else { 0.65 };
        scan.consider(
            view,
            Entity::Ssn,
            (all.start(), all.end()),
            base,
            "US social security number (valid area, group and serial)",
        );
    }
}

pub(super) fn passports(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    let windows = with_context(text, plan.passport.clone(), Entity::Passport);
    for m in find_in(PASSPORT.get(), text, windows.get()).needing(is_digit) {
        let s = m.as_str();
        let digits = s.bytes().filter(u8::is_ascii_digit).count();
        let us_or_uk = (digits == 9 && s.len() == 9) || (digits == 8 && s.len() == 9);
        if us_or_uk {
            scan.consider_with_required_context(
                view,
                Entity::Passport,
                (m.start(), m.end()),
                0.85,
                "US/UK passport number format",
            );
        }
    }
}

pub(super) fn ssn_valid(area: &str, group: &str, serial: &str) -> bool {
    let area_n: u32 = area.parse().unwrap_or(0);
    area_n != 0
        && area_n != 666
        && area_n < 900
        && group != "00"
        && serial != "0000"
        && !(area == "078" && group == "05" && serial == "1120")
}
