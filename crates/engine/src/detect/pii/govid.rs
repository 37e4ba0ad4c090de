//! Government identifiers: US SSN, UK NINO, passports, and the national identifiers of the
//! largest economies, each with its checksum where it has one.

use super::context::with_context;
use super::natid;
use super::plan::{Plan, after_country_code, is_digit};
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
        if s1.as_str() != s2.as_str()
            || !ssn_valid(a.as_str(), g.as_str(), n.as_str())
            || after_country_code(text.as_bytes(), all.start())
        {
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

/// Whether `[s, e)` is a whole token: no ASCII letter, digit or `_` glued to either side
/// (Chinese and Japanese text glue identifiers to their words: `身份证号码是110…`).
fn free(text: &str, s: usize, e: usize) -> bool {
    // Read as bytes: a byte of a non-ASCII character is never an ASCII letter, digit or `_`,
    // just as the character is not.
    let glued = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
    let b = text.as_bytes();
    !glued(s.checked_sub(1).and_then(|i| b.get(i))) && !glued(b.get(e))
}

/// Separators people write inside a numeric identifier (`123.456.789-09`, `12 345 678 901`).
fn id_sep(c: u8) -> bool {
    matches!(c, b' ' | b'.' | b'-' | b'/')
}

/// A numeric identifier candidate: a cluster of digit runs joined by single separators, read
/// as its digits and its layout (`ddd.ddd.ddd-dd` for a CPF, with `d` for every digit).
struct Cluster<'a> {
    start: usize,
    end: usize,
    digits: &'a str,
    layout: &'a str,
}

/// The national identifiers written with digits only (or a final `X`), by number of digits,
/// each with the validator, its layouts that are strong evidence, and the base scores with and
/// without such a layout (context raises both; `min_score` 0.5 needs context below it).
type NumericId = (
    Entity,
    usize,
    fn(&str) -> bool,
    &'static [&'static str],
    f64,
    f64,
    &'static str,
);

const NUMERIC_IDS: &[NumericId] = &[
    (
        Entity::UsItin,
        9,
        natid::us_itin,
        &["ddd-dd-dddd", "ddd dd dddd"],
        0.65,
        0.25,
        "US ITIN",
    ),
    (
        Entity::CaSin,
        9,
        natid::ca_sin,
        &["ddd ddd ddd", "ddd-ddd-ddd"],
        0.4,
        0.25,
        "Canadian SIN (Luhn)",
    ),
    (
        Entity::NlBsn,
        9,
        natid::nl_bsn,
        &[],
        0.3,
        0.3,
        "Dutch BSN (11-proof)",
    ),
    (
        Entity::AuTfn,
        9,
        natid::au_tfn,
        &["ddd ddd ddd"],
        0.35,
        0.3,
        "Australian TFN (weighted mod 11)",
    ),
    (
        Entity::AuTfn,
        8,
        natid::au_tfn,
        &["ddd ddd dd"],
        0.35,
        0.3,
        "Australian TFN (weighted mod 11)",
    ),
    (
        Entity::BrCpf,
        11,
        natid::br_cpf,
        &["ddd.ddd.ddd-dd"],
        0.85,
        0.35,
        "Brazilian CPF (two check digits)",
    ),
    (
        Entity::DeTaxId,
        11,
        natid::de_tax_id,
        &["dd ddd ddd ddd"],
        0.4,
        0.3,
        "German tax id (ISO 7064 mod 11,10)",
    ),
    (
        Entity::InAadhaar,
        12,
        natid::in_aadhaar,
        &["dddd dddd dddd", "dddd-dddd-dddd"],
        0.4,
        0.3,
        "Aadhaar number (Verhoeff)",
    ),
    (
        Entity::JpMyNumber,
        12,
        natid::jp_my_number,
        &["dddd dddd dddd", "dddd-dddd-dddd"],
        0.3,
        0.3,
        "Japanese My Number (mod 11)",
    ),
    (
        Entity::KrRrn,
        13,
        natid::kr_rrn,
        &["dddddd-ddddddd"],
        0.85,
        0.4,
        "Korean resident registration number (birth date, mod 11)",
    ),
    (
        Entity::BrCnpj,
        14,
        natid::br_cnpj,
        &["dd.ddd.ddd/dddd-dd"],
        0.9,
        0.4,
        "Brazilian CNPJ (two check digits)",
    ),
    (
        Entity::FrNir,
        15,
        natid::fr_nir,
        &["d dd dd dd ddd ddd dd"],
        0.75,
        0.5,
        "French NIR (mod-97 key)",
    ),
    (
        Entity::CnResidentId,
        18,
        natid::cn_resident_id,
        &[],
        0.85,
        0.85,
        "Chinese resident id (birth date, mod 11-2)",
    ),
];

/// A layout's digits, for runs of up to 18.
const D18: &str = "dddddddddddddddddd";

/// The national identifiers written with digits: clusters of digit runs, each checked against
/// every identifier of its length.
pub(super) fn numeric_ids(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    let b = text.as_bytes();
    let runs = &plan.digits;
    // One digits string and one layout for all clusters, cleared for each.
    let mut digits = String::new();
    let mut layout = String::new();
    let mut i = 0;
    while i < runs.len() {
        let mut j = i;
        while j + 1 < runs.len() && runs[j + 1].0 == runs[j].1 + 1 && id_sep(b[runs[j].1]) {
            j += 1;
        }
        let (start, mut end) = (runs[i].0, runs[j].1);
        // Most clusters in prose are short (`2024`, `10`, `14`): no identifier has fewer than
        // 8 digits, and nothing is built for them.
        let count: usize = runs[i..=j].iter().map(|r| r.1 - r.0).sum();
        if !(8..=18).contains(&count) && count != 17 {
            i = j + 1;
            continue;
        }
        digits.clear();
        layout.clear();
        for (k, &(s, e)) in runs[i..=j].iter().enumerate() {
            if k > 0 {
                // An `id_sep` byte: ASCII.
                layout.push(char::from(b[s - 1]));
            }
            digits.push_str(&text[s..e]);
            // A run has at most 18 digits (the cluster has): one copy, not a push per digit.
            match D18.get(..e - s) {
                Some(ds) => layout.push_str(ds),
                None => layout.extend(std::iter::repeat_n('d', e - s)),
            }
        }
        // A Chinese id may end in `X`.
        if digits.len() == 17 && matches!(b.get(end), Some(b'X' | b'x')) {
            digits.push('X');
            end += 1;
        }
        i = j + 1;
        if digits.len() < 8 || digits.len() > 18 || !free(text, start, end) {
            continue;
        }
        let c = Cluster {
            start,
            end,
            digits: &digits,
            layout: &layout,
        };
        for &(e, n, valid, layouts, laid_out, bare, why) in NUMERIC_IDS {
            if c.digits.len() != n || !scan.cfg.wants(e) || !valid(c.digits) {
                continue;
            }
            let strong = layouts.contains(&c.layout);
            let base = if strong { laid_out } else { bare };
            scan.consider(view, e, (c.start, c.end), base, why);
        }
    }
}

/// An alphanumeric identifier candidate around a digit run: the maximal run of letters, digits
/// and inner hyphens (`A123-456-789-012`), if it is upper case.
fn token_around(b: &[u8], s: usize, e: usize) -> (usize, usize) {
    let tok = |c: u8| c.is_ascii_alphanumeric();
    let (mut ts, mut te) = (s, e);
    loop {
        while ts > 0 && tok(b[ts - 1]) {
            ts -= 1;
        }
        if ts >= 2 && b[ts - 1] == b'-' && tok(b[ts - 2]) {
            ts -= 1;
        } else {
            break;
        }
    }
    loop {
        while te < b.len() && tok(b[te]) {
            te += 1;
        }
        if te + 1 < b.len() && b[te] == b'-' && tok(b[te + 1]) {
            te += 1;
        } else {
            break;
        }
    }
    (ts, te)
}

/// The identifiers written with letters and digits (PAN, codice fiscale, DNI/NIE, CURP), and
/// passports and driver's licences next to their context words.
pub(super) fn alnum_ids(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    let b = text.as_bytes();
    // The end of the last token looked at: a digit run before it is in that token (tokens are
    // maximal runs), already judged.
    let mut judged = 0;
    for &(s, e) in &plan.digits {
        if s < judged {
            continue;
        }
        let (ts, te) = token_around(b, s, e);
        judged = te;
        // Every identifier here has 7 to 18 characters and some hyphens at most.
        if !(7..=24).contains(&(te - ts)) || !free(text, ts, te) {
            continue;
        }
        let token = &text[ts..te];
        if token.bytes().any(|c| c.is_ascii_lowercase()) {
            continue;
        }
        // The token without its hyphens, on the stack (at most 24 bytes; dropping ASCII bytes
        // from UTF-8 leaves UTF-8, so the conversion cannot fail).
        let mut buf = [0u8; 24];
        let mut n = 0;
        for &c in token.as_bytes().iter().filter(|&&c| c != b'-') {
            if let Some(slot) = buf.get_mut(n) {
                *slot = c;
                n += 1;
            }
        }
        let Ok(compact) = std::str::from_utf8(&buf[..n]) else {
            continue;
        };
        let hyphens = compact.len() != token.len();
        let mut checks: [(Entity, bool, f64, &str); 4] = [
            (
                Entity::InPan,
                !hyphens && natid::in_pan(compact),
                0.6,
                "Indian PAN (holder type and shape)",
            ),
            (
                Entity::ItFiscalCode,
                !hyphens && natid::it_fiscal_code(compact),
                0.9,
                "Italian codice fiscale (check letter)",
            ),
            (
                Entity::EsNif,
                token.bytes().filter(|c| *c == b'-').count() <= 2 && natid::es_nif(compact),
                0.6,
                "Spanish DNI/NIE (check letter)",
            ),
            (
                Entity::MxCurp,
                !hyphens && natid::mx_curp(compact),
                0.9,
                "Mexican CURP (birth date, check digit)",
            ),
        ];
        if compact.starts_with(['X', 'Y', 'Z']) {
            checks[2].2 = 0.75;
        }
        let mut found = false;
        for (e, ok, base, why) in checks {
            if ok && scan.cfg.wants(e) {
                found |= scan.consider(view, e, (ts, te), base, why);
            }
        }
        if found {
            continue;
        }
        let digits = compact.bytes().filter(u8::is_ascii_digit).count();
        let letters = compact.len() - digits;
        // Passports: 8 or 9 characters, at most three letters, at least five digits (US, UK,
        // DE numeric, FR `12AB34567`, IN `A1234567`, JP/IT `AB1234567`, CA `AB123456`,
        // CN `E12345678`), only next to `passport`.
        if scan.cfg.wants(Entity::Passport)
            && !hyphens
            && matches!(compact.len(), 8 | 9)
            && letters <= 3
            && digits >= 5
            && letters > 0
        {
            scan.consider_with_required_context(
                view,
                Entity::Passport,
                (ts, te),
                0.85,
                "passport number format",
            );
        }
        // US driver's licences: 7 to 13 characters, at most three letters, at least six digits
        // (the states' formats: `A1234567`, `123456789`, `A123-456-789-012` …), only next to
        // `driver's license`, `DL` …
        if scan.cfg.wants(Entity::DriverLicense)
            && (7..=16).contains(&compact.len())
            && letters <= 3
            && digits >= 6
        {
            scan.consider_with_required_context(
                view,
                Entity::DriverLicense,
                (ts, te),
                0.8,
                "driver's licence number format",
            );
        }
    }
}
