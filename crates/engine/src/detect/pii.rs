//! `sentinelai.pii`: personal data, found by pattern and confirmed by validators.
//!
//! Each entity has a candidate regex, a validator (Luhn, mod-97, SSN area rules, numbering plans,
//! bech32 checksums …) that sets a base score, and context words that raise it when they occur
//! near the match in balanced and robust modes. A candidate is reported when its score reaches
//! the threshold (`min_score`, default 0.5). Dates of birth and passport numbers are only
//! reported with context: a bare date or nine digits is not personal data by itself.

use std::sync::OnceLock;

use crate::ast::DetectorCall;
use crate::detect::args::ArgReader;
use crate::detect::context::{ContextWords, standalone};
use crate::detect::ner;
use crate::detect::static_regex::Lazy;
use crate::detect::windows::{DENSE_RUN, captures_in, find_in, merge, runs_around, scan_bytes};
use crate::detect::{RawFinding, push_finding};
use crate::error::CompileError;
use crate::normalize::{Family, TextViews};
use crate::policy::Mode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Entity {
    Email,
    Phone,
    CreditCard,
    Ssn,
    Iban,
    IpAddress,
    MacAddress,
    Url,
    CryptoWallet,
    DateOfBirth,
    Passport,
    UkNino,
    Person,
    Location,
    Organization,
}

pub(crate) const ENTITY_NAMES: &[&str] = &[
    "email",
    "phone",
    "credit_card",
    "ssn",
    "iban",
    "ip_address",
    "mac_address",
    "url",
    "crypto_wallet",
    "date_of_birth",
    "passport",
    "uk_nino",
    "person",
    "location",
    "organization",
];

const ALL: [Entity; 15] = [
    Entity::Email,
    Entity::Phone,
    Entity::CreditCard,
    Entity::Ssn,
    Entity::Iban,
    Entity::IpAddress,
    Entity::MacAddress,
    Entity::Url,
    Entity::CryptoWallet,
    Entity::DateOfBirth,
    Entity::Passport,
    Entity::UkNino,
    Entity::Person,
    Entity::Location,
    Entity::Organization,
];

impl Entity {
    pub(crate) fn name(self) -> &'static str {
        ENTITY_NAMES[self as usize]
    }

    fn from_name(name: &str) -> Option<Entity> {
        ALL.iter().copied().find(|e| e.name() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

fn alias(name: &str) -> Option<&'static str> {
    Some(match name {
        "phone_number" | "telephone" => "phone",
        "card" | "cc" | "credit_card_number" | "creditcard" => "credit_card",
        "social_security_number" | "us_ssn" => "ssn",
        "ip" | "ipv4" | "ipv6" => "ip_address",
        "mac" => "mac_address",
        "wallet" | "bitcoin" | "crypto" => "crypto_wallet",
        "dob" | "birth_date" | "birthdate" => "date_of_birth",
        "passport_number" | "us_passport" | "uk_passport" => "passport",
        "nino" | "national_insurance" | "national_insurance_number" => "uk_nino",
        "email_address" => "email",
        "name" | "names" | "person_name" | "per" => "person",
        "place" | "places" | "address" | "street_address" | "loc" | "gpe" | "city" => "location",
        "org" | "organisation" | "company" => "organization",
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PiiConfig {
    entities: u32,
    pub min_score: f64,
}

impl PiiConfig {
    /// Every entity except `url`: links are rarely personal data and would drown the rest.
    pub(crate) fn default_set() -> Self {
        let entities = ALL
            .iter()
            .filter(|e| **e != Entity::Url)
            .fold(0, |m, e| m | e.bit());
        PiiConfig {
            entities,
            min_score: DEFAULT_MIN_SCORE,
        }
    }

    pub(crate) fn from_call(call: &DetectorCall) -> Result<(Self, String), Vec<CompileError>> {
        let mut r = ArgReader::new(call);
        let names = r.names(ENTITY_NAMES, "pii entity", alias);
        let min_score = r.number(&["min_score", "threshold"], 0.0, 1.0);
        r.finish(&["min_score", "threshold"])?;
        let mut cfg = PiiConfig::default_set();
        if !names.is_empty() {
            cfg.entities = names
                .iter()
                .filter_map(|n| Entity::from_name(n))
                .fold(0, |m, e| m | e.bit());
        }
        if let Some(s) = min_score {
            cfg.min_score = s;
        }
        let mut key_names: Vec<&str> = ALL
            .iter()
            .filter(|e| cfg.entities & e.bit() != 0)
            .map(|e| e.name())
            .collect();
        key_names.sort_unstable();
        Ok((
            cfg.clone(),
            format!("{}|{}", key_names.join(","), cfg.min_score),
        ))
    }

    fn wants(&self, e: Entity) -> bool {
        self.entities & e.bit() != 0
    }
}

pub(crate) const DEFAULT_MIN_SCORE: f64 = 0.5;

static EMAIL: Lazy = Lazy::new(
    r"(?i)\b[a-z0-9](?:[a-z0-9._%+\-]{0,62}[a-z0-9])?@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b",
);
static PHONE: Lazy =
    Lazy::new(r"(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?)?\d{2,4}(?:[\s.\-]?\d{2,4})+");
static CARD: Lazy = Lazy::new(r"\b\d(?:[ \-]?\d)*\b");
static SSN: Lazy = Lazy::new(r"\b(\d{3})([\- ]?)(\d{2})([\- ]?)(\d{4})\b");
static IBAN: Lazy = Lazy::new(r"(?i)\b[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[a-z0-9]{1,3})?\b");
static IPV4: Lazy = Lazy::new(
    r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b",
);
static IPV6: Lazy = Lazy::new(r"(?i)(?:[0-9a-f]{1,4})?(?::[0-9a-f]{0,4}){2,7}");
static MAC: Lazy = Lazy::new(
    r"(?i)\b[0-9a-f]{2}(?:[:\-][0-9a-f]{2}){5}\b|\b[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}\b",
);
static URL: Lazy = Lazy::new(r#"(?i)\b(?:https?|ftp)://[^\s<>"'`]+|\bwww\.[^\s<>"'`]+"#);
static BECH32: Lazy = Lazy::new(r"(?i)\bbc1[02-9ac-hj-np-z]{11,71}\b");
static BASE58: Lazy = Lazy::new(r"\b[13][a-km-zA-HJ-NP-Z1-9]{25,34}\b");
static ETH: Lazy = Lazy::new(r"\b0x[a-fA-F0-9]{40}\b");
static DATE: Lazy = Lazy::new(
    r"(?i)\b(?:\d{1,2}[/.\-]\d{1,2}[/.\-](?:19|20)\d{2}|(?:19|20)\d{2}[/.\-]\d{1,2}[/.\-]\d{1,2}|\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(?:19|20)\d{2}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2})\b",
);
static PASSPORT: Lazy = Lazy::new(r"(?i)\b[a-z]?\d{8,9}\b");
static NINO: Lazy =
    Lazy::new(r"(?i)\b[a-ceghj-pr-tw-z][a-ceghj-npr-tw-z] ?\d{2} ?\d{2} ?\d{2} ?[a-d]\b");

fn context() -> &'static ContextWords {
    static CW: OnceLock<ContextWords> = OnceLock::new();
    CW.get_or_init(|| {
        ContextWords::new(&[
            (
                Entity::Email as u32,
                &["email", "e-mail", "mail", "contact", "reach"],
            ),
            (
                Entity::Phone as u32,
                &[
                    "call", "phone", "tel", "mobile", "cell", "text me", "reach me", "contact",
                    "whatsapp", "fax",
                ],
            ),
            (
                Entity::CreditCard as u32,
                &[
                    "card",
                    "credit",
                    "debit",
                    "visa",
                    "mastercard",
                    "amex",
                    "cvv",
                    "payment",
                    "expiry",
                    "expires",
                    "exp",
                    "pay with",
                ],
            ),
            (
                Entity::Ssn as u32,
                &[
                    "ssn",
                    "social security",
                    "social-security",
                    "tax id",
                    "taxpayer",
                ],
            ),
            (
                Entity::Iban as u32,
                &["iban", "bank", "account", "transfer", "wire", "sepa"],
            ),
            (
                Entity::IpAddress as u32,
                &["ip", "address", "server", "host", "connect", "login from"],
            ),
            (
                Entity::MacAddress as u32,
                &["mac", "device", "hardware", "ethernet", "wifi"],
            ),
            (
                Entity::CryptoWallet as u32,
                &[
                    "bitcoin", "btc", "wallet", "crypto", "ethereum", "eth", "send", "usdt",
                ],
            ),
            (
                Entity::DateOfBirth as u32,
                &["born", "birth", "dob", "d.o.b", "birthday", "age"],
            ),
            (Entity::Passport as u32, &["passport"]),
            (
                Entity::UkNino as u32,
                &["national insurance", "nino", "ni number", "ni no"],
            ),
            (99, &["version", "release", "build"]),
        ])
    })
}

/// How much context adds to a base score.
const CONTEXT_BOOST: f64 = 0.3;

struct Scan<'c> {
    cfg: &'c PiiConfig,
    mode: Mode,
    out: Vec<RawFinding>,
    /// Per entity, the largest end of its findings so far: a finding that starts there or
    /// later overlaps none of them and is appended without the search `push_finding` does.
    max_end: [usize; ALL.len()],
}

impl Scan<'_> {
    fn push(&mut self, e: Entity, f: RawFinding) {
        let max_end = &mut self.max_end[e as usize];
        let fresh = f.start >= *max_end;
        *max_end = (*max_end).max(f.end);
        if fresh {
            self.out.push(f);
        } else {
            push_finding(&mut self.out, f);
        }
    }

    /// Score a validated candidate and keep it if it reaches the threshold.
    /// Returns whether the candidate was kept.
    fn consider(
        &mut self,
        view: &crate::normalize::View<'_>,
        e: Entity,
        (s, end): (usize, usize),
        base: f64,
        why: &str,
    ) -> bool {
        let has_ctx = self.mode != Mode::Fast && context().near(view.text, s, end, e as u32);
        let score = if has_ctx {
            (base + CONTEXT_BOOST).min(0.99)
        } else {
            base
        };
        if score < self.cfg.min_score {
            return false;
        }
        let (os, oe) = view.original_span(s, end);
        let explanation = if has_ctx {
            format!("{why}; context words nearby")
        } else {
            why.to_owned()
        };
        self.push(
            e,
            RawFinding {
                entity: e.name().to_owned(),
                start: os,
                end: oe,
                score,
                explanation,
            },
        );
        true
    }

    /// Like `consider`, for entities that are only personal data with context, in every mode.
    fn consider_with_required_context(
        &mut self,
        view: &crate::normalize::View<'_>,
        e: Entity,
        span: (usize, usize),
        score: f64,
        why: &str,
    ) {
        if !context().near(view.text, span.0, span.1, e as u32) || score < self.cfg.min_score {
            return;
        }
        let (os, oe) = view.original_span(span.0, span.1);
        self.push(
            e,
            RawFinding {
                entity: e.name().to_owned(),
                start: os,
                end: oe,
                score,
                explanation: format!("{why} next to context words"),
            },
        );
    }
}

pub(crate) fn scan(cfg: &PiiConfig, tv: &TextViews<'_>, mode: Mode) -> Vec<RawFinding> {
    let key = format!("pii|{}|{}|{mode}", cfg.entities, cfg.min_score);
    tv.memo(key, || scan_views(cfg, tv, mode, false))
}

/// `scan`, or with `whole` the reference behaviour that runs every regex over the whole text
/// (the differential tests compare the two).
fn scan_views(cfg: &PiiConfig, tv: &TextViews<'_>, mode: Mode, whole: bool) -> Vec<RawFinding> {
    let mut scan = Scan {
        cfg,
        mode,
        out: Vec::new(),
        max_end: [0; ALL.len()],
    };
    for view in tv.views(mode, Family::Pattern) {
        let text = view.text;
        // ASCII text: each candidate regex runs only on the windows where its matches can be
        // (see `detect::windows`). Other text (Unicode `\d`, `\s`, case folding) is scanned
        // whole, behind the cheap whole-text gates.
        let windowed = !whole && text.is_ascii();
        let plan = if windowed {
            Plan::of(text.as_bytes(), cfg)
        } else {
            Plan::whole(text)
        };
        if cfg.wants(Entity::Email) && !plan.email.is_empty() {
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
                if !text[s..e].contains("..") && !in_url_authority(text, s) {
                    scan.consider(&view, Entity::Email, (s, e), 0.9, "email address");
                }
            }
        }
        if cfg.wants(Entity::Url) && has_url_marker(text) {
            for m in URL.get().find_iter(text) {
                let trimmed = m
                    .as_str()
                    .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']']);
                scan.consider(
                    &view,
                    Entity::Url,
                    (m.start(), m.start() + trimmed.len()),
                    0.7,
                    "URL",
                );
            }
        }
        if cfg.wants(Entity::MacAddress) && !plan.mac.is_empty() {
            for m in find_in(MAC.get(), text, plan.mac.get()) {
                let s = m.as_str();
                let uniform = !(s.contains(':') && s.contains('-'));
                if uniform {
                    scan.consider(
                        &view,
                        Entity::MacAddress,
                        (m.start(), m.end()),
                        0.8,
                        "MAC address",
                    );
                }
            }
        }
        if cfg.wants(Entity::IpAddress) && !plan.ipv6.is_empty() {
            for m in find_in(IPV6.get(), text, plan.ipv6.get()) {
                let s = m.as_str();
                let groups = s.split(':').filter(|g| !g.is_empty()).count();
                if groups >= 3
                    && s.parse::<std::net::Ipv6Addr>().is_ok()
                    && standalone(text, m.start(), m.end())
                    && !is_mac(s)
                {
                    scan.consider(
                        &view,
                        Entity::IpAddress,
                        (m.start(), m.end()),
                        0.75,
                        "IPv6 address",
                    );
                }
            }
        }
        if cfg.wants(Entity::CryptoWallet) {
            for m in find_in(BECH32.get(), text, plan.bech32.get()) {
                if bech32_valid(m.as_str()) {
                    scan.consider(
                        &view,
                        Entity::CryptoWallet,
                        (m.start(), m.end()),
                        0.95,
                        "bitcoin bech32 address with a valid checksum",
                    );
                }
            }
            for m in find_in(ETH.get(), text, plan.eth.get()) {
                scan.consider(
                    &view,
                    Entity::CryptoWallet,
                    (m.start(), m.end()),
                    0.85,
                    "Ethereum address",
                );
            }
            for m in find_in(BASE58.get(), text, plan.base58.get()) {
                let s = m.as_str();
                let mixed = s.bytes().any(|b| b.is_ascii_uppercase())
                    && s.bytes().any(|b| b.is_ascii_lowercase())
                    && s.bytes().any(|b| b.is_ascii_digit());
                if mixed {
                    scan.consider(
                        &view,
                        Entity::CryptoWallet,
                        (m.start(), m.end()),
                        0.4,
                        "legacy bitcoin address format",
                    );
                }
            }
        }
        if cfg.wants(Entity::UkNino) {
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
                        &view,
                        Entity::UkNino,
                        (m.start(), m.end()),
                        if upper { 0.75 } else { 0.45 },
                        "UK National Insurance number",
                    );
                }
            }
        }
        if !plan.any_digit {
            continue;
        }
        if cfg.wants(Entity::Iban) {
            for m in find_in(IBAN.get(), text, plan.iban.get()).needing(is_digit) {
                if iban_valid(m.as_str()) {
                    scan.consider(
                        &view,
                        Entity::Iban,
                        (m.start(), m.end()),
                        0.95,
                        "IBAN with a valid mod-97 checksum",
                    );
                }
            }
        }
        if cfg.wants(Entity::CreditCard) {
            for m in find_in(CARD.get(), text, plan.card.get()).needing(is_digit) {
                // A run can hold several numbers; try windows of its digit groups (at most 19
                // digits each), longest valid first, without overlaps.
                let groups = digit_groups(m.as_str());
                let mut i = 0;
                while i < groups.len() {
                    let mut windows = Vec::new();
                    let mut digits: Vec<u8> = Vec::new();
                    for (j, g) in groups.iter().enumerate().skip(i) {
                        digits.extend(m.as_str()[g.0..g.1].bytes().map(|b| b - b'0'));
                        if digits.len() > 19 {
                            break;
                        }
                        if digits.len() >= 13
                            && luhn_valid(&digits)
                            && !digits.iter().all(|d| *d == digits[0])
                        {
                            windows.push((j, known_iin(&digits)));
                        }
                    }
                    let mut taken = None;
                    for (j, known) in windows.into_iter().rev() {
                        let (s, e) = (m.start() + groups[i].0, m.start() + groups[j].1);
                        let (base, why) = if known {
                            (
                                0.85,
                                "card number with a valid Luhn checksum and a known issuer prefix",
                            )
                        } else {
                            (0.45, "card number with a valid Luhn checksum")
                        };
                        if scan.consider(&view, Entity::CreditCard, (s, e), base, why) {
                            taken = Some(j);
                            break;
                        }
                    }
                    i = taken.map_or(i + 1, |j| j + 1);
                }
            }
        }
        if cfg.wants(Entity::Ssn) {
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
                    &view,
                    Entity::Ssn,
                    (all.start(), all.end()),
                    base,
                    "US social security number (valid area, group and serial)",
                );
            }
        }
        // Dotted quads: IPv4 candidates, and never phone numbers.
        let quads: Vec<(usize, usize)> = if cfg.wants(Entity::IpAddress) || cfg.wants(Entity::Phone)
        {
            find_in(IPV4.get(), text, plan.ipv4.get())
                .needing(is_digit)
                .map(|m| (m.start(), m.end()))
                .collect()
        } else {
            Vec::new()
        };
        if cfg.wants(Entity::IpAddress) {
            for &(qs, qe) in &quads {
                if !standalone(text, qs, qe) || context().near(text, qs, qe, 99) {
                    continue;
                }
                let base = if text[qs..qe].starts_with("0.") {
                    0.3
                } else {
                    0.65
                };
                scan.consider(&view, Entity::IpAddress, (qs, qe), base, "IPv4 address");
            }
        }
        if cfg.wants(Entity::Phone) {
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
                        // Keep a leading `+` or `(` that belongs to the number.
                        if s > 0 && matches!(text.as_bytes()[s - 1], b'+' | b'(') {
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
                        if let Some((base, why)) = phone_score(&text[s..e])
                            && scan.consider(&view, Entity::Phone, (s, e), base, why)
                        {
                            taken = Some(j);
                            break;
                        }
                    }
                    i = taken.map_or(i + 1, |j| j + 1);
                }
            }
        }
        if cfg.wants(Entity::DateOfBirth) {
            // Reported only next to context words: a window without any cannot hold one.
            let windows = with_context(text, plan.date, Entity::DateOfBirth);
            for m in find_in(DATE.get(), text, windows.get()).needing(is_digit) {
                if date_plausible(m.as_str()) {
                    scan.consider_with_required_context(
                        &view,
                        Entity::DateOfBirth,
                        (m.start(), m.end()),
                        0.85,
                        "date",
                    );
                }
            }
        }
        if cfg.wants(Entity::Passport) {
            let windows = with_context(text, plan.passport, Entity::Passport);
            for m in find_in(PASSPORT.get(), text, windows.get()).needing(is_digit) {
                let s = m.as_str();
                let digits = s.bytes().filter(u8::is_ascii_digit).count();
                let us_or_uk = (digits == 9 && s.len() == 9) || (digits == 8 && s.len() == 9);
                if us_or_uk {
                    scan.consider_with_required_context(
                        &view,
                        Entity::Passport,
                        (m.start(), m.end()),
                        0.85,
                        "US/UK passport number format",
                    );
                }
            }
        }
    }
    // Names, places and organisations: a tagger over the original text (case is a feature),
    // in balanced and robust modes only.
    if mode != Mode::Fast
        && (cfg.wants(Entity::Person)
            || cfg.wants(Entity::Location)
            || cfg.wants(Entity::Organization))
    {
        for n in ner::scan(tv.original().text, mode) {
            let e = match n.kind {
                ner::Kind::Person => Entity::Person,
                ner::Kind::Location => Entity::Location,
                ner::Kind::Organization => Entity::Organization,
            };
            if cfg.wants(e) && n.score >= cfg.min_score {
                scan.push(
                    e,
                    RawFinding {
                        entity: e.name().to_owned(),
                        start: n.start,
                        end: n.end,
                        score: n.score,
                        explanation: format!("{} (tagger)", e.name()),
                    },
                );
            }
        }
    }
    scan.out
}

/// The windows of `w` around which a context word of `e` may be (see
/// `ContextWords::may_be_near`): the others cannot hold a match that
/// `consider_with_required_context` keeps.
fn with_context(text: &str, w: Where, e: Entity) -> Where {
    match w {
        Where::Everywhere => Where::Everywhere,
        Where::Windows(mut w) => {
            w.retain(|&(s, end)| context().may_be_near(text, s, end, e as u32));
            Where::Windows(w)
        }
    }
}

/// `://` or `www.` (any case): every URL match has one.
fn has_url_marker(text: &str) -> bool {
    let b = text.as_bytes();
    // A `www.` starts with one of the four case forms of `ww`: four vectorised searches for a
    // rare pair, instead of stopping at every `.` of the prose. The searches do not report
    // overlapping pairs, so a `www.` may start one byte before or after a reported pair.
    let www_at = |i: usize| {
        b.get(i..i + 4)
            .is_some_and(|w| w[..3].eq_ignore_ascii_case(b"www") && w[3] == b'.')
    };
    memchr::memmem::find(b, b"://").is_some()
        || [&b"ww"[..], b"wW", b"Ww", b"WW"].iter().any(|pair| {
            memchr::memmem::find_iter(b, pair)
                .any(|j| www_at(j) || www_at(j + 1) || j.checked_sub(1).is_some_and(www_at))
        })
}

/// Where one candidate regex runs in one view.
#[derive(Debug, Clone, PartialEq)]
enum Where {
    /// Over the whole text.
    Everywhere,
    /// Only in these windows (see `detect::windows`); none means the regex cannot match.
    Windows(Vec<(usize, usize)>),
}

impl Where {
    fn get(&self) -> Option<&[(usize, usize)]> {
        match self {
            Where::Everywhere => None,
            Where::Windows(w) => Some(w),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Where::Windows(w) if w.is_empty())
    }
}

/// Where each candidate regex runs in one view.
#[derive(Debug)]
struct Plan {
    /// Whether the text has an ASCII digit (the digit-only patterns are skipped otherwise).
    any_digit: bool,
    email: Where,
    mac: Where,
    ipv6: Where,
    bech32: Where,
    eth: Where,
    base58: Where,
    nino: Where,
    iban: Where,
    card: Where,
    ssn: Where,
    ipv4: Where,
    phone: Where,
    date: Where,
    passport: Where,
}

fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}

fn is_ascii_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

impl Plan {
    /// Every regex over the whole text, behind the whole-text gates of a non-ASCII text.
    fn whole(text: &str) -> Plan {
        let gate = |present: bool| {
            if present {
                Where::Everywhere
            } else {
                Where::Windows(Vec::new())
            }
        };
        Plan {
            any_digit: text.bytes().any(|b| b.is_ascii_digit()),
            email: gate(text.contains('@')),
            mac: Where::Everywhere,
            ipv6: gate(text.bytes().filter(|b| *b == b':').nth(1).is_some()),
            bech32: Where::Everywhere,
            eth: Where::Everywhere,
            base58: Where::Everywhere,
            nino: Where::Everywhere,
            iban: Where::Everywhere,
            card: Where::Everywhere,
            ssn: Where::Everywhere,
            ipv4: Where::Everywhere,
            phone: Where::Everywhere,
            date: Where::Everywhere,
            passport: Where::Everywhere,
        }
    }

    /// The windows of an ASCII text. Each list is argued against its regex: the alphabet of a
    /// run is every byte the regex can consume, a bounded window covers the longest match around
    /// its seed.
    fn of(b: &[u8], cfg: &PiiConfig) -> Plan {
        let len = b.len();
        let scanned = scan_bytes(b);
        let digits = scanned.digits;
        let seeds = DigitSeeds::of(b, &digits);
        let alpha = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphabetic);
        let none = || Where::Windows(Vec::new());
        let wants = |e: Entity| cfg.wants(e);

        // E-mail: found by `email_spans`, not by the regex.
        let email = if wants(Entity::Email) {
            Where::Everywhere
        } else {
            none()
        };
        // MAC: hex digits and `:-.`, 14 or 17 bytes, with a separator between hex digits.
        let mac = if wants(Entity::MacAddress) {
            // A match is at least `DENSE_RUN` bytes of hex digits and `:-.`, all in the byte
            // range of the dense ranges: each match has a byte in one of them.
            let seeds = scanned.dense.iter().flat_map(|&(s, e)| s..e);
            let mut w = runs_around(b, seeds, |c| {
                c.is_ascii_hexdigit() || matches!(c, b':' | b'-' | b'.')
            });
            w.retain(|w| w.1 - w.0 >= DENSE_RUN);
            Where::Windows(w)
        } else {
            none()
        };
        // IPv6: hex digits and colons, at least two colons.
        let ipv6 = if wants(Entity::IpAddress) {
            // Every match has two colons with at most four hex digits between them
            // (`(?::[0-9a-f]{0,4}){2,7}`): only the first of such a pair is a seed.
            let paired = |i: usize| {
                b[i + 1..(i + 6).min(len)]
                    .iter()
                    .take_while(|c| c.is_ascii_hexdigit() || **c == b':')
                    .position(|c| *c == b':')
                    .is_some()
            };
            let seeds = memchr::memchr_iter(b':', b).filter(|&i| paired(i));
            let mut w = runs_around(b, seeds, |c| c.is_ascii_hexdigit() || c == b':');
            w.retain(|w| b[w.0..w.1].iter().filter(|c| **c == b':').nth(1).is_some());
            Where::Windows(w)
        } else {
            none()
        };
        // Wallets: runs of letters and digits around a digit that starts a digit run: the `1`
        // of `bc1` (after a `c`), or the first byte of `\b0x…` and `\b[13]…` (a digit after a
        // non-word byte). Every match lies in the run around its seed.
        let (bech32, eth, base58) = if wants(Entity::CryptoWallet) {
            let with = |min: usize, seeds: Vec<usize>| {
                let mut w = runs_around(b, seeds, |c| c.is_ascii_alphanumeric());
                w.retain(|w| w.1 - w.0 >= min);
                Where::Windows(w)
            };
            (
                with(14, seeds.bech),
                with(42, seeds.eth),
                with(26, seeds.b58),
            )
        } else {
            (none(), none(), none())
        };
        // NINO: its first digit starts a run after two letters and an optional space; the match
        // is at most 3 bytes before and 10 from there, and from that digit has the shape
        // `dd ?dd ?dd ?[a-d]` (each optional space is taken only when digits follow it, so the
        // shape is read without backtracking).
        let nino_shape = |s: usize| {
            let digit2 = |i: usize| {
                b.get(i..i + 2)
                    .is_some_and(|p| p.iter().all(u8::is_ascii_digit))
            };
            let mut i = s;
            for k in 0..3 {
                if k > 0 && b.get(i) == Some(&b' ') {
                    i += 1;
                }
                if !digit2(i) {
                    return false;
                }
                i += 2;
            }
            if b.get(i) == Some(&b' ') {
                i += 1;
            }
            b.get(i)
                .is_some_and(|c| matches!(c.to_ascii_lowercase(), b'a'..=b'd'))
        };
        let nino = if wants(Entity::UkNino) {
            Where::Windows(merge(
                seeds
                    .lettered
                    .iter()
                    .filter(|d| {
                        let s = d.0;
                        ((alpha(s - 1) && alpha(s - 2))
                            || (s >= 3 && b[s - 1] == b' ' && alpha(s - 2) && alpha(s - 3)))
                            && nino_shape(s)
                    })
                    .map(|d| (d.0.saturating_sub(3), (d.0 + 10).min(len)))
                    .collect(),
            ))
        } else {
            none()
        };
        // IBAN: two letters, then its first digits start a run; at most 43 bytes from the
        // letters.
        let iban = if wants(Entity::Iban) {
            Where::Windows(merge(
                seeds
                    .lettered
                    .iter()
                    .filter(|d| alpha(d.0 - 1) && alpha(d.0 - 2))
                    .map(|d| (d.0 - 2, (d.0 + 41).min(len)))
                    .collect(),
            ))
        } else {
            none()
        };
        // Phones: digits, `+()`, `.-` and whitespace. Cards and SSNs (digits, spaces, hyphens)
        // and IPv4 addresses (digits, dots) use subsets of those bytes, so their maximal runs
        // with a digit lie inside the phone runs and are found by scanning only those.
        let numeric = [
            Entity::CreditCard,
            Entity::Ssn,
            Entity::IpAddress,
            Entity::Phone,
        ]
        .iter()
        .any(|e| wants(*e));
        let phone_runs = if numeric {
            phone_runs(b, &digits)
        } else {
            Vec::new()
        };
        // The sub-runs of the phone runs for which `run` holds (each filter below only drops
        // runs without enough digits or dots for a sub-run to have them).
        // With each sub-run, its digits and dots.
        let sub_runs = |class: fn(u8) -> bool, run: &dyn Fn(&(usize, usize, usize)) -> bool| {
            let mut out: Vec<(usize, usize, usize, usize)> = Vec::new();
            for &(s, e, _) in phone_runs.iter().filter(|r| run(r)) {
                let mut i = s;
                while i < e {
                    if !class(b[i]) {
                        i += 1;
                        continue;
                    }
                    let start = i;
                    let (mut digits, mut dots) = (0, 0);
                    while i < e && class(b[i]) {
                        digits += usize::from(b[i].is_ascii_digit());
                        dots += usize::from(b[i] == b'.');
                        i += 1;
                    }
                    if digits > 0 {
                        out.push((start, i, digits, dots));
                    }
                }
            }
            out
        };
        // A reportable card has 13 digits, an SSN 9, a phone number 8; an IPv4 address has
        // three dots.
        let (card, ssn) = if wants(Entity::CreditCard) || wants(Entity::Ssn) {
            let min_digits = if wants(Entity::Ssn) { 9 } else { 13 };
            let runs = sub_runs(|c| c.is_ascii_digit() || c == b' ' || c == b'-', &|r| {
                r.2 >= min_digits
            });
            let min = |n: usize, wanted: bool| {
                Where::Windows(if wanted {
                    runs.iter()
                        .filter(|w| w.2 >= n)
                        .map(|w| (w.0, w.1))
                        .collect()
                } else {
                    Vec::new()
                })
            };
            (
                min(13, wants(Entity::CreditCard)),
                min(9, wants(Entity::Ssn)),
            )
        } else {
            (none(), none())
        };
        let ipv4 = if wants(Entity::IpAddress) || wants(Entity::Phone) {
            // A dotted quad has four digits and three dots.
            let runs = sub_runs(|c| c.is_ascii_digit() || c == b'.', &|r| {
                r.2 >= 4 && b[r.0..r.1].iter().filter(|c| **c == b'.').count() >= 3
            });
            Where::Windows(
                runs.iter()
                    .filter(|w| w.3 >= 3)
                    .map(|w| (w.0, w.1))
                    .collect(),
            )
        } else {
            none()
        };
        // A reported phone number has 10 or 11 digits, or starts with `+` and has 8 to 15
        // (`phone_score`); its `+` is in the same run. A run that has neither cannot hold one.
        let phone = if wants(Entity::Phone) {
            Where::Windows(
                phone_runs
                    .iter()
                    .filter(|w| w.2 >= 10 || (w.2 >= 8 && b[w.0..w.1].contains(&b'+')))
                    .map(|w| (w.0, w.1))
                    .collect(),
            )
        } else {
            none()
        };
        // Dates: every match has one year, a run of exactly four digits `19xx`/`20xx`. Numeric
        // forms reach 6 bytes either side of it; written forms (`4 March 2024`, `March 4th,
        // 2024`) end at the year and start at most two words and their spaces and `.,` before.
        let date = if wants(Entity::DateOfBirth) {
            let skip_left = |mut i: usize, f: &dyn Fn(u8) -> bool, max: usize| {
                let mut n = 0;
                while i > 0 && n < max && f(b[i - 1]) {
                    i -= 1;
                    n += 1;
                }
                i
            };
            let word = |c: u8| c.is_ascii_alphanumeric();
            let punct = |c: u8| c == b',' || c == b'.';
            // Next to the year, every alternative has: `d[/.-]` before it (`4/3/2024`),
            // `[/.-]` and one or two digits and `[/.-]` after it (`2024-03-04`), or whitespace
            // before it (the written forms).
            let sep = |i: usize| b.get(i).is_some_and(|c| matches!(c, b'/' | b'.' | b'-'));
            let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
            let shaped = |d: &(usize, usize)| {
                let (s, e) = *d;
                (s >= 2 && sep(s - 1) && digit(s - 2))
                    || (s >= 1 && is_ascii_space(b[s - 1]))
                    || (sep(e) && digit(e + 1) && (sep(e + 2) || (digit(e + 2) && sep(e + 3))))
            };
            Where::Windows(merge(
                seeds
                    .years
                    .iter()
                    .filter(|d| shaped(d))
                    .map(|d| {
                        let mut i = skip_left(d.0, &is_ascii_space, usize::MAX);
                        i = skip_left(i, &punct, 2);
                        i = skip_left(i, &word, usize::MAX);
                        i = skip_left(i, &is_ascii_space, usize::MAX);
                        i = skip_left(i, &punct, 2);
                        i = skip_left(i, &word, usize::MAX);
                        (i.min(d.0.saturating_sub(6)), (d.1 + 6).min(len))
                    })
                    .collect(),
            ))
        } else {
            none()
        };
        // Passports: an optional letter and a whole run of 8 or 9 digits.
        let passport = if wants(Entity::Passport) {
            Where::Windows(
                seeds
                    .long
                    .iter()
                    .map(|d| (d.0.saturating_sub(1), d.1))
                    .collect(),
            )
        } else {
            none()
        };
        Plan {
            any_digit: !digits.is_empty(),
            email,
            mac,
            ipv6,
            bech32,
            eth,
            base58,
            nino,
            iban,
            card,
            ssn,
            ipv4,
            phone,
            date,
            passport,
        }
    }
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
fn email_spans(b: &[u8]) -> Vec<(usize, usize)> {
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
fn email_domain_end(b: &[u8], mut p: usize) -> Option<usize> {
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

/// A match's start and text.
struct Span<'t> {
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
fn phone_spans(b: &[u8], windows: &[(usize, usize)]) -> Vec<(usize, usize)> {
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
/// `(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?)?\d{2,4}(?:[\s.\-]?\d{2,4})+` starting at `s`
/// ends, on ASCII bytes, by trying its choices in the regex's order of preference: an optional
/// group present before absent, a counted repeat longest first, and a later choice before an
/// earlier one is revisited. Nothing follows the final `+` group, so once its first repetition
/// matched every later repetition is the first choice that fits, and no later failure can send
/// the search back into it.
fn phone_at(b: &[u8], s: usize) -> Option<usize> {
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
    // `\d{2,4}(?:[\s.\-]?\d{2,4})+` at `p`.
    let tail = |p: usize| -> Option<usize> {
        let next = |q: usize| {
            opt_sep(q).find_map(|r| (2..=4).rev().find(|&n| digits(r, n)).map(|n| r + n))
        };
        let first = (2..=4)
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

/// The digit runs that the seeded windows of [`Plan::of`] start from, sorted out in one pass.
#[derive(Debug, Default)]
struct DigitSeeds {
    /// Wallet seeds: the `1` of `bc1`, the `0` of `0x`, the first digit of `[13]…`, each with
    /// the letters and digits its match has from there (12, 42, 26).
    bech: Vec<usize>,
    eth: Vec<usize>,
    b58: Vec<usize>,
    /// Runs of two digits or more after a letter, or after a space and a letter: where a NINO
    /// (`AB 12…`, `AB12…`) or an IBAN (`GB82…`) has its first digits.
    lettered: Vec<(usize, usize)>,
    /// Runs of exactly four digits `19xx` or `20xx` (years).
    years: Vec<(usize, usize)>,
    /// Runs of 8 or 9 digits (passport numbers).
    long: Vec<(usize, usize)>,
}

impl DigitSeeds {
    fn of(b: &[u8], digits: &[(usize, usize)]) -> Self {
        let alnum = |s: usize, n: usize| {
            b.get(s..s + n)
                .is_some_and(|r| r.iter().all(u8::is_ascii_alphanumeric))
        };
        let mut out = DigitSeeds::default();
        for &(s, e) in digits {
            match b[s] {
                b'1' => {
                    if s >= 2 && b[s - 2..s].eq_ignore_ascii_case(b"bc") && alnum(s, 12) {
                        out.bech.push(s);
                    }
                    if alnum(s, 26) {
                        out.b58.push(s);
                    }
                }
                b'3' if alnum(s, 26) => out.b58.push(s),
                b'0' if b.get(s + 1) == Some(&b'x') && alnum(s + 2, 40) => out.eth.push(s),
                _ => {}
            }
            let n = e - s;
            if n >= 2
                && s >= 2
                && (b[s - 1].is_ascii_alphabetic()
                    || (b[s - 1] == b' ' && b[s - 2].is_ascii_alphabetic()))
            {
                out.lettered.push((s, e));
            }
            if n == 4 && matches!(&b[s..s + 2], b"19" | b"20") {
                out.years.push((s, e));
            }
            if matches!(n, 8 | 9) {
                out.long.push((s, e));
            }
        }
        out
    }
}

/// Bytes of a phone number: digits, `+()`, `.-` and whitespace.
fn phone_byte(c: u8) -> bool {
    c.is_ascii_digit() || matches!(c, b'+' | b'(' | b')' | b'.' | b'-') || is_ascii_space(c)
}

/// The maximal runs of [`phone_byte`]s that hold a digit, with their number of digits, from the
/// text's digit runs (`digits`, ascending): consecutive digit runs are in the same phone run
/// exactly when every byte between them is a phone byte, and a run reaches over phone bytes
/// before its first digit run and after its last. Equal to `runs_around` over the digit runs'
/// starts (unit-tested), without scanning each run again to count its digits.
fn phone_runs(b: &[u8], digits: &[(usize, usize)]) -> Vec<(usize, usize, usize)> {
    let mut out: Vec<(usize, usize, usize)> = Vec::new();
    // The open run: its start, the end of its last digit run, its digits.
    let mut open: Option<(usize, usize, usize)> = None;
    let close = |(s, e, n): (usize, usize, usize), out: &mut Vec<(usize, usize, usize)>| {
        let mut end = e;
        while end < b.len() && phone_byte(b[end]) {
            end += 1;
        }
        out.push((s, end, n));
    };
    for &(s, e) in digits {
        match open.as_mut() {
            Some(run) if b[run.1..s].iter().all(|c| phone_byte(*c)) => {
                run.1 = e;
                run.2 += e - s;
            }
            _ => {
                if let Some(run) = open.take() {
                    close(run, &mut out);
                }
                let mut start = s;
                while start > 0 && phone_byte(b[start - 1]) {
                    start -= 1;
                }
                open = Some((start, e, e - s));
            }
        }
    }
    if let Some(run) = open {
        close(run, &mut out);
    }
    out
}

/// Byte ranges of the digit runs in `s` (`"(415) 555-2671"` → three groups).
fn digit_groups(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    digit_groups_into(s, &mut out);
    out
}

/// [`digit_groups`] into `out` (cleared first), to reuse one list for many matches.
fn digit_groups_into(s: &str, out: &mut Vec<(usize, usize)>) {
    out.clear();
    let mut start = None;
    for (i, b) in s.bytes().enumerate() {
        match (b.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                out.push((st, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, s.len()));
    }
}

/// Whether the e-mail-shaped match at `start` is the user-info part of a URL
/// (`postgres://user:pass@db.example.com/x`, `https://token@github.com/o/r`): inside the same
/// whitespace-free token, after `://` and before any path, query or fragment.
fn in_url_authority(text: &str, start: usize) -> bool {
    let Some(before) = text.get(..start) else {
        return false;
    };
    let token = before
        .rfind(char::is_whitespace)
        .map_or(before, |i| &before[i + 1..]);
    token
        .rfind("://")
        .is_some_and(|i| !token[i + 3..].contains(['/', '?', '#', '=', '&']))
}

fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6 && parts.iter().all(|p| p.len() == 2)
}

pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn known_iin(d: &[u8]) -> bool {
    let n = |k: usize| {
        d.iter()
            .take(k)
            .fold(0u32, |acc, x| acc * 10 + u32::from(*x))
    };
    let len = d.len();
    match d.first() {
        Some(4) => matches!(len, 13 | 16 | 19),
        Some(5) => (51..=55).contains(&n(2)) && len == 16,
        Some(2) => (2221..=2720).contains(&n(4)) && len == 16,
        Some(3) => {
            (matches!(n(2), 34 | 37) && len == 15)
                || (n(2) == 35 && len >= 16)
                || (matches!(n(2), 30 | 36 | 38) && len >= 14)
        }
        Some(6) => n(4) == 6011 || n(2) == 65 || (644..=649).contains(&n(3)) || n(2) == 62,
        _ => false,
    }
}

fn ssn_valid(area: &str, group: &str, serial: &str) -> bool {
    let area_n: u32 = area.parse().unwrap_or(0);
    area_n != 0
        && area_n != 666
        && area_n < 900
        && group != "00"
        && serial != "0000"
        && !(area == "078" && group == "05" && serial == "1120")
}

fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "AD" => 24,
        "AT" => 20,
        "BE" => 16,
        "BG" => 22,
        "CH" => 21,
        "CY" => 28,
        "CZ" => 24,
        "DE" => 22,
        "DK" => 18,
        "EE" => 20,
        "ES" => 24,
        "FI" => 18,
        "FR" => 27,
        "GB" => 22,
        "GR" => 27,
        "HR" => 21,
        "HU" => 28,
        "IE" => 22,
        "IS" => 26,
        "IT" => 27,
        "LI" => 21,
        "LT" => 20,
        "LU" => 20,
        "LV" => 21,
        "MC" => 27,
        "MT" => 31,
        "NL" => 18,
        "NO" => 15,
        "PL" => 28,
        "PT" => 25,
        "RO" => 24,
        "SE" => 24,
        "SI" => 19,
        "SK" => 24,
        "SM" => 27,
        "TR" => 26,
        "AE" => 23,
        "SA" => 24,
        "IL" => 23,
        "BR" => 29,
        _ => return None,
    })
}

pub(crate) fn iban_valid(raw: &str) -> bool {
    let s: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let Some(country) = s.get(..2) else {
        return false;
    };
    let ok_len = iban_length(country).map_or((15..=34).contains(&s.len()), |l| l == s.len());
    if !ok_len || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (head, tail) = s.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

fn nanp_ok(d: &[u8]) -> bool {
    d.len() == 10 && (2..=9).contains(&d[0]) && !(d[1] == 1 && d[2] == 1) && (2..=9).contains(&d[3])
}

/// A phone candidate's base score, by numbering plan.
fn phone_score(s: &str) -> Option<(f64, &'static str)> {
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
    let formatted = s.contains([' ', '-', '.', '(']);
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

fn date_plausible(s: &str) -> bool {
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

const BECH32_CHARSET: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn bech32_polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    for v in values {
        let b = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(*v);
        for (i, g) in GEN.iter().enumerate() {
            if (b >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// Bech32 / bech32m checksum of a `bc1…` address (BIP-173 / BIP-350).
pub(crate) fn bech32_valid(addr: &str) -> bool {
    let lower = addr.to_ascii_lowercase();
    if lower != addr && addr.to_ascii_uppercase() != addr {
        return false;
    }
    let Some((hrp, data)) = lower.rsplit_once('1') else {
        return false;
    };
    let mut values: Vec<u8> = hrp.bytes().map(|b| b >> 5).collect();
    values.push(0);
    values.extend(hrp.bytes().map(|b| b & 31));
    for c in data.chars() {
        match BECH32_CHARSET.find(c).and_then(|p| u8::try_from(p).ok()) {
            Some(v) => values.push(v),
            None => return false,
        }
    }
    matches!(bech32_polymod(&values), 1 | 0x2bc8_30a3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, mode: Mode) -> Vec<(String, String)> {
        let tv = TextViews::new(text);
        scan(&PiiConfig::default_set(), &tv, mode)
            .into_iter()
            .map(|f| (f.entity, text.get(f.start..f.end).unwrap_or("").to_owned()))
            .collect()
    }

    #[test]
    fn positives() {
        let cases = [
            (
                "mail me at jane.doe@example.com please",
                "email",
                "jane.doe@example.com",
            ),
            (
                "my card is 4111 1111 1111 1111",
                "credit_card",
                "4111 1111 1111 1111",
            ),
            (
                "visa 4242-4242-4242-4242 exp 12/29",
                "credit_card",
                "4242-4242-4242-4242",
            ),
            ("SSN: 536-22-1234", "ssn", "536-22-1234"),
            ("my ssn is 536221234", "ssn", "536221234"),
            (
                "IBAN DE89 3704 0044 0532 0130 00",
                "iban",
                "DE89 3704 0044 0532 0130 00",
            ),
            (
                "GB82WEST12345698765432 is my account",
                "iban",
                "GB82WEST12345698765432",
            ),
            (
                "server at 192.168.10.24 is down",
                "ip_address",
                "192.168.10.24",
            ),
            (
                "v6 2001:db8:85a3::8a2e:370:7334 here",
                "ip_address",
                "2001:db8:85a3::8a2e:370:7334",
            ),
            (
                "device 00:1A:2B:3C:4D:5E",
                "mac_address",
                "00:1A:2B:3C:4D:5E",
            ),
            ("call me on (415) 555-2671", "phone", "(415) 555-2671"),
            ("ring +44 20 7946 0958", "phone", "+44 20 7946 0958"),
            (
                "send to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                "crypto_wallet",
                "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            ),
            (
                "eth 0x52908400098527886E0F7030069857D2E4169EE7",
                "crypto_wallet",
                "0x52908400098527886E0F7030069857D2E4169EE7",
            ),
            ("I was born on 12/03/1985", "date_of_birth", "12/03/1985"),
            ("DOB: March 4, 1990", "date_of_birth", "March 4, 1990"),
            ("passport number 123456789", "passport", "123456789"),
            ("passport: C03005988", "passport", "C03005988"),
            ("NI number AB 12 34 56 C", "uk_nino", "AB 12 34 56 C"),
            (
                "+44 20 7946 0958 4111 1111 1111 1111",
                "credit_card",
                "4111 1111 1111 1111",
            ),
            (
                "+44 20 7946 0958 4111 1111 1111 1111",
                "phone",
                "+44 20 7946 0958",
            ),
        ];
        for (text, entity, value) in cases {
            let got = found(text, Mode::Balanced);
            assert!(
                got.iter().any(|(e, v)| e == entity && v == value),
                "{text}: {got:?}"
            );
        }
    }

    #[test]
    fn urls_addresses_and_long_digit_runs() {
        let has = |text: &str, entity: &str, value: &str| {
            found(text, Mode::Balanced)
                .iter()
                .any(|(e, v)| e == entity && v == value)
        };
        // User info in a URL is not an e-mail address; an address in a query string or next to
        // a URL still is.
        assert!(!has(
            "postgres://user:pass@db.example.com/x",
            "email",
            "pass@db.example.com"
        ));
        assert!(!has(
            "https://token@github.com/o/r",
            "email",
            "token@github.com"
        ));
        assert!(has(
            "https://shop.example/contact?email=jane.doe@example.com",
            "email",
            "jane.doe@example.com"
        ));
        assert!(has(
            "see https://example.com or mail jane.doe@example.com",
            "email",
            "jane.doe@example.com"
        ));
        // An IPv4 address is not a phone number, whatever its digits.
        for ip in ["212.55.100.24", "203.112.113.25"] {
            let text = format!("server {ip} is down");
            let got = found(&text, Mode::Balanced);
            assert!(!got.iter().any(|(e, _)| e == "phone"), "{text}: {got:?}");
            assert!(
                got.iter().any(|(e, v)| e == "ip_address" && v == ip),
                "{text}: {got:?}"
            );
        }
        // Amex-formatted card: one card, no phone inside it.
        let amex = "amex card 3455 503491 06540";
        let got = found(amex, Mode::Balanced);
        assert!(!got.iter().any(|(e, _)| e == "phone"), "{got:?}");
        assert!(has(amex, "credit_card", "3455 503491 06540"), "{got:?}");
        let got = found("ref 3455 503491 06541", Mode::Balanced);
        assert!(!got.iter().any(|(e, _)| e == "phone"), "{got:?}");
        // A phone number on its own, or one that starts with `+` before other digits, still is.
        assert!(has("call 212-555-0142 today", "phone", "212-555-0142"));
        assert!(has("tel 212.551.0024", "phone", "212.551.0024"));
    }

    #[test]
    fn negatives() {
        for text in [
            "the meeting is at 10:30 on floor 4",
            "card 4111 1111 1111 1112 fails Luhn",
            "order 000-12-3456 has a bad area",
            "order 666-12-3456 has a bad area",
            "IBAN DE89 3704 0044 0532 0130 01 has a bad checksum",
            "version 1.2.3.4 released",
            "the date 12/03/1985 in a table",
            "reference 123456789",
            "call 123-456-7890",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx",
            "just some ordinary prose without numbers",
            "DATABASE_URL=postgres://user:pass@db.example.com/x",
            "clone https://token@github.com/acme/repo.git",
            "git remote add origin https://x-access-token@github.com/acme/repo",
            "mysql://admin:hunter2@db-1.internal.example.org:3306/app",
        ] {
            let got = found(text, Mode::Balanced);
            assert!(got.is_empty(), "{text}: {got:?}");
        }
    }

    #[test]
    fn context_raises_score_in_balanced_only() {
        let plain = "536221234";
        assert!(
            found(&format!("ssn {plain}"), Mode::Balanced)
                .iter()
                .any(|(e, _)| e == "ssn")
        );
        assert!(
            !found(&format!("ssn {plain}"), Mode::Fast)
                .iter()
                .any(|(e, _)| e == "ssn")
        );
    }

    #[test]
    fn url_marker_is_found_in_every_case_and_run_of_ws() {
        let naive = |t: &str| {
            t.contains("://")
                || t.as_bytes()
                    .windows(4)
                    .any(|w| w[..3].eq_ignore_ascii_case(b"www") && w[3] == b'.')
        };
        for t in [
            "www.x",
            "wwww.x",
            "wwwww.x",
            "wWww.x",
            "WwWw.x",
            "xWWW.x",
            "ww.x",
            "w.w.w.x",
            "wwwwwwx",
            "a://b",
            "wwW",
            "wW wWw.",
            "wwwwwwwwww.",
        ] {
            assert_eq!(has_url_marker(t), naive(t), "{t}");
        }
    }

    fn email_regex_spans(text: &str) -> Vec<(usize, usize)> {
        EMAIL
            .get()
            .find_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect()
    }

    #[test]
    fn email_matcher_equals_the_regex() {
        let long = |c: char, n: usize| c.to_string().repeat(n);
        let mut texts: Vec<String> = [
            "a@b.co jane.doe@example.com x@@y.org .a@b.cd a..b@c.de mail@example.c0m",
            "a@b.co.x@c.de a@b.co@x.de a@b.co.uk. a@b.com-x a@b.com_x a@b.c a@-b.co a@b-.co",
            "_a@b.co a_b@c.de %a@b.co +a@b.co a.@b.co a@b..co a@.b.co @b.co a@ a@b. a@b.co9",
            "A@B.CO x.y+z%w@MAIL.Example.ORG.  q@w.e.r.t.yy.z 1@2.34 1@2.ab 1@2.3.ab",
            "postgres://user:pass@db.example.com/x https://token@github.com/o/r",
            "ab@cd.ef@gh.ij @@ a@@b.co a@b@c.de a-@b.co a@b.co- é",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Length limits: 64-byte local parts, 63-byte labels, 24-letter top-level domains.
        for n in [62, 63, 64, 65, 66] {
            texts.push(format!("{}@b.co", long('a', n)));
            texts.push(format!("x.{}@b.co", long('a', n)));
            texts.push(format!("a@{}.co", long('b', n)));
        }
        for n in [1, 2, 23, 24, 25, 26] {
            texts.push(format!("a@b.{}", long('c', n)));
            texts.push(format!("a@b.{}.de", long('c', n)));
            texts.push(format!("a@b.de.{} x", long('c', n)));
        }
        for text in &texts {
            assert_eq!(
                email_spans(text.as_bytes()),
                email_regex_spans(text),
                "{text:?}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]
        #[test]
        fn email_matcher_equals_the_regex_on_noise(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "a", "b", "Z", "q", "x", "co", "de", "com", "org", "1", "9", "0", "@", "@", ".",
                ".", "-", "_", "%", "+", " ", "\n", "/", ":", "//", "..", "jane.doe", "example",
                "mail", "abcdefghijklmnopqrstuvwxy", "0123456789abcdefghijklmnopqrstuvwxyz0123",
            ][..]), 0..30)
        ) {
            let text = parts.concat();
            proptest::prop_assert_eq!(email_spans(text.as_bytes()), email_regex_spans(&text));
        }
    }

    /// `phone_spans` over the maximal phone-byte runs against the regex over the whole text.
    fn assert_phone_matcher_equals_the_regex(text: &str) {
        let b = text.as_bytes();
        let mut runs = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if !phone_byte(b[i]) {
                i += 1;
                continue;
            }
            let s = i;
            while i < b.len() && phone_byte(b[i]) {
                i += 1;
            }
            runs.push((s, i));
        }
        let regex: Vec<(usize, usize)> = PHONE
            .get()
            .find_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect();
        assert_eq!(phone_spans(b, &runs), regex, "{text:?}");
    }

    #[test]
    fn phone_matcher_equals_the_regex() {
        for text in [
            "",
            "12",
            "123",
            "1234",
            "12345",
            "123456789",
            "12345 67",
            "1234 5 67",
            "(415) 555-2671",
            "+44 20 7946 0958",
            "+1 (415) 555 2671",
            "+12345 (12345) 12",
            "+(12) 34 56",
            "++1 22 33",
            "(1)(2) 33 44",
            "( 12) 34 56",
            "1-2-3-4-5-6",
            "12--34..56  78\t\n90",
            "INV-2024-0412) 3455 503491 06540 212.551.0024",
            "+1234 56 78 (0) 4155552671 .12.34 -12 +-12 34",
        ] {
            assert_phone_matcher_equals_the_regex(text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]
        #[test]
        fn phone_matcher_equals_the_regex_on_noise(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "1", "2", "9", "0", "12", "345", "4567", "+", "+1", "+44", "(", ")", "(415)",
                " ", " ", "-", ".", "\t", "\n", "x", "ab", "+(", ")-",
            ][..]), 0..30)
        ) {
            assert_phone_matcher_equals_the_regex(&parts.concat());
        }
    }

    #[test]
    fn phone_runs_are_the_runs_around_digits() {
        for text in [
            "",
            "x",
            "1",
            " (415) 555-2671 if +44 20 7946 0958, 1 2 3 4.5 x9y 10:30 (((( 7 ))))",
            "12 34\n\t56 a 78-90 b 1.2.3.4 c +1 (555) 010-0000.",
            "a1b2c3 -- 4 -- 5",
        ] {
            let b = text.as_bytes();
            let scanned = scan_bytes(b);
            let digits = scanned.digits;
            let plain: Vec<(usize, usize, usize)> =
                runs_around(b, digits.iter().map(|d| d.0), phone_byte)
                    .into_iter()
                    .map(|(s, e)| (s, e, b[s..e].iter().filter(|c| c.is_ascii_digit()).count()))
                    .collect();
            assert_eq!(phone_runs(b, &digits), plain, "{text:?}");
        }
    }

    #[test]
    fn validators() {
        assert!(luhn_valid(&[
            4, 5, 3, 9, 1, 4, 8, 8, 0, 3, 4, 3, 6, 4, 6, 7
        ]));
        assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
        assert!(!iban_valid("GB82 WEST 1234 5698 7654 33"));
        assert!(bech32_valid("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"));
        assert!(!bech32_valid("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"));
        assert!(ssn_valid("536", "22", "1234"));
        assert!(!ssn_valid("900", "22", "1234"));
    }

    /// Every entity, url included.
    fn every_entity() -> PiiConfig {
        PiiConfig {
            entities: ALL.iter().fold(0, |m, e| m | e.bit()),
            min_score: 0.0,
        }
    }

    /// The windowed scan finds exactly what scanning every regex over the whole text finds.
    fn assert_same_as_whole(text: &str) {
        for &mode in Mode::ALL {
            let tv = TextViews::new(text);
            for cfg in [every_entity(), PiiConfig::default_set()] {
                let windowed = scan_views(&cfg, &tv, mode, false);
                let whole = scan_views(&cfg, &tv, mode, true);
                assert_eq!(windowed, whole, "{mode} {text:?}");
            }
        }
    }

    #[test]
    fn windows_find_what_the_whole_text_finds() {
        for text in [
            "",
            "4111 1111 1111 1111",
            "x4111 1111 1111 1111y",
            "card 4111-1111-1111-1111, ssn 536-22-1234 and 536 22 1234 or 536221234",
            "+44 20 7946 0958 4111 1111 1111 1111 (415) 555-2671 +1 (415) 555 2671",
            "a@b.co jane.doe@example.com x@@y.org .a@b.cd a..b@c.de mail@example.c0m",
            "https://token@github.com/o/r www.example.com/x?y=1 ftp://a.b",
            "00:1A:2B:3C:4D:5E 00-1a-2b-3c-4d-5e dead.beef.cafe 001a.2b3c.4d5e",
            "2001:db8:85a3::8a2e:370:7334 ::1 fe80::1%eth0 10:30 a:b:c",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq 0x52908400098527886E0F7030069857D2E4169EE7",
            "1BoatSLRHtKNngkdXEeobR76b53LETtpyT 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
            "NI number AB 12 34 56 C, ab123456c, QQ123456A, AB1234 56 C",
            "IBAN DE89 3704 0044 0532 0130 00 GB82WEST12345698765432 gb82 west 1234 5698 7654 32",
            "born 12/03/1985, 1985-03-12, 4th March 1990, March 4, 1990, Mar. 4th, 2001, 12th  of  May 2020",
            "DOB:\n 4  March,  1990 and 2020/1/2 and 19/12/2019 and 2019",
            "passport 123456789 C03005988 x123456789 1234567890 12345678",
            "server 192.168.10.24 v1.2.3.4 1.2.3.4.5 256.1.1.1 0.0.0.0 212.55.100.24",
            "call 212-555-0142 or 212.551.0024 or 020 7946 0958 or 07911 123456",
            "amex card 3455 503491 06540, ref 3455 503491 06541",
            "INV-2024-0412 $1,250.00 on 14 March at 10:30",
            "9999999999999999999999 1 2 3 4 5 6 7 8 9 0 1 2 3 4",
            "-1-2-3-4-5-6-7-8-9-0-1-2-3-4- --4111111111111111-- 4111111111111111x",
            "date of birth 1-2-1990 01.02.1990 x1/2/1990 1990-1-2x 1990-12-3 1990-123-4 1990.1.2",
            "birthday:1990-01-02 born\t4 Mar 1990 dob 1990/01/02/03 age 3 May,1990 May 3 1990",
            "+1 555 0100 +44 7911 123 +4479 1112 3456 +12 345 678 90 12345678 (0) 4155552671",
            "aa:bb:cc:dd:ee:ff A1-B2-C3-D4-E5-F6 aabb.ccdd.eeff ab.cdef.0123 abcd.ef01.23456",
            "passport no: C03005988; ppt 123456789 next to passport",
        ] {
            assert_same_as_whole(text);
        }
    }

    #[test]
    fn windows_find_what_the_whole_text_finds_in_the_corpus() {
        crate::tests_support::check_corpus_texts(assert_same_as_whole);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]
        #[test]
        fn windows_find_what_the_whole_text_finds_on_noise(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "4111", "1111", "0412", "1985", "2020", "19", "20", "536", "22", "1234", " ",
                "-", ".", ":", "/", "(", ")", "+", "+44", "@", "a", "b", "c", "x", "AB", "de",
                "89", "GB82", "WEST", "bc1q", "0x", "ff", "March", "4th", ",", "\n", "\t",
                "call", "ssn", "card", "born", "passport", "jane.doe", "example.com", "www.",
                "://", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "00:1A:2B", "::", "é", "７",
            ][..]), 0..40)
        ) {
            assert_same_as_whole(&parts.concat());
        }
    }

    #[test]
    fn fullwidth_digits_found_in_balanced_mapped_to_original() {
        let text = "card ４１１１ １１１１ １１１１ １１１１";
        let got = found(text, Mode::Balanced);
        assert!(
            got.iter()
                .any(|(e, v)| e == "credit_card" && v == "４１１１ １１１１ １１１１ １１１１"),
            "{got:?}"
        );
        assert!(found(text, Mode::Fast).is_empty());
    }
}
