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
use crate::detect::static_regex::Lazy;
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
];

const ALL: [Entity; 12] = [
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
}

impl Scan<'_> {
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
        push_finding(
            &mut self.out,
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
        push_finding(
            &mut self.out,
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
    let mut scan = Scan {
        cfg,
        mode,
        out: Vec::new(),
    };
    for view in tv.views(mode, Family::Pattern) {
        let text = view.text;
        let has_digit = text.bytes().any(|b| b.is_ascii_digit());
        // One pass over ASCII text says which candidate regexes can match at all; each gate
        // is a property every match of that regex has. Non-ASCII text (Unicode `\d`, `\s`,
        // case folding) runs every regex.
        let f = if text.is_ascii() {
            Features::of(text.as_bytes())
        } else {
            Features::ALL
        };
        if cfg.wants(Entity::Email) && text.contains('@') {
            for m in EMAIL.get().find_iter(text) {
                if !m.as_str().contains("..") && !in_url_authority(text, m.start()) {
                    scan.consider(
                        &view,
                        Entity::Email,
                        (m.start(), m.end()),
                        0.9,
                        "email address",
                    );
                }
            }
        }
        if cfg.wants(Entity::Url) && f.url {
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
        if cfg.wants(Entity::MacAddress) && f.mac {
            for m in MAC.get().find_iter(text) {
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
        if cfg.wants(Entity::IpAddress) && text.contains(':') && f.colons >= 2 {
            for m in IPV6.get().find_iter(text) {
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
            for m in BECH32.get().find_iter(text).filter(|_| f.bech32) {
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
            for m in ETH.get().find_iter(text).filter(|_| f.eth) {
                scan.consider(
                    &view,
                    Entity::CryptoWallet,
                    (m.start(), m.end()),
                    0.85,
                    "Ethereum address",
                );
            }
            for m in BASE58.get().find_iter(text).filter(|_| f.alnum_run >= 26) {
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
        if cfg.wants(Entity::UkNino) && f.nino && f.joined_digits >= 6 {
            for m in NINO.get().find_iter(text) {
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
        if !has_digit {
            continue;
        }
        if cfg.wants(Entity::Iban) && f.iban {
            for m in IBAN.get().find_iter(text) {
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
        if cfg.wants(Entity::CreditCard) && f.joined_digits >= 13 {
            for m in CARD.get().find_iter(text) {
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
        if cfg.wants(Entity::Ssn) && f.joined_digits >= 9 {
            for c in SSN.get().captures_iter(text) {
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
        if cfg.wants(Entity::IpAddress) && f.dots_in_number >= 3 {
            for m in IPV4.get().find_iter(text) {
                if !standalone(text, m.start(), m.end())
                    || context().near(text, m.start(), m.end(), 99)
                {
                    continue;
                }
                let base = if m.as_str().starts_with("0.") {
                    0.3
                } else {
                    0.65
                };
                scan.consider(
                    &view,
                    Entity::IpAddress,
                    (m.start(), m.end()),
                    base,
                    "IPv4 address",
                );
            }
        }
        if cfg.wants(Entity::Phone) && f.phone_digits >= 8 {
            // Dotted quads are IPv4 addresses (or versions), never phone numbers.
            let quads: Vec<(usize, usize)> = if f.dots_in_number >= 3 {
                IPV4.get()
                    .find_iter(text)
                    .map(|m| (m.start(), m.end()))
                    .collect()
            } else {
                Vec::new()
            };
            for m in PHONE.get().find_iter(text) {
                let groups = digit_groups(m.as_str());
                let mut i = 0;
                while i < groups.len() {
                    let mut taken = None;
                    let mut ends = Vec::new();
                    let mut n = 0;
                    for (j, g) in groups.iter().enumerate().skip(i) {
                        n += g.1 - g.0;
                        if n > 15 {
                            break;
                        }
                        ends.push(j);
                    }
                    for j in ends.into_iter().rev() {
                        let mut s = m.start() + groups[i].0;
                        let e = m.start() + groups[j].1;
                        // Keep a leading `+` or `(` that belongs to the number.
                        if s > 0 && matches!(text.as_bytes()[s - 1], b'+' | b'(') {
                            s -= 1;
                        }
                        if !standalone(text, s, e) || quads.iter().any(|&(qs, qe)| qs < e && s < qe)
                        {
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
        if cfg.wants(Entity::DateOfBirth) && f.year {
            for m in DATE.get().find_iter(text) {
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
        if cfg.wants(Entity::Passport) && f.digit_run >= 8 {
            for m in PASSPORT.get().find_iter(text) {
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
    scan.out
}

/// Cheap facts about an ASCII text, from one pass, that gate the candidate regexes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Features {
    /// `://` or `www.` (any case).
    url: bool,
    /// `hh:hh:hh`, `hh-hh-hh` (either separator) or `hhhh.hhhh` with hex digits.
    mac: bool,
    colons: usize,
    /// `bc1` (any case).
    bech32: bool,
    /// `0x`.
    eth: bool,
    /// Longest run of ASCII letters and digits.
    alnum_run: usize,
    /// Most digits in a run of digits joined by single spaces or hyphens.
    joined_digits: usize,
    /// Most digits in a run of digits joined by up to two of `\s.-()`.
    phone_digits: usize,
    /// Most dots in a run of digits and dots.
    dots_in_number: usize,
    /// Two letters followed by two digits.
    iban: bool,
    /// Two letters, an optional space and two digits.
    nino: bool,
    /// Four digits starting with 19 or 20.
    year: bool,
    /// Longest run of digits.
    digit_run: usize,
}

impl Features {
    const ALL: Features = Features {
        url: true,
        mac: true,
        colons: usize::MAX,
        bech32: true,
        eth: true,
        alnum_run: usize::MAX,
        joined_digits: usize::MAX,
        phone_digits: usize::MAX,
        dots_in_number: usize::MAX,
        iban: true,
        nino: true,
        year: true,
        digit_run: usize::MAX,
    };

    fn of(b: &[u8]) -> Features {
        let mut f = Features {
            url: false,
            mac: false,
            colons: 0,
            bech32: false,
            eth: false,
            alnum_run: 0,
            joined_digits: 0,
            phone_digits: 0,
            dots_in_number: 0,
            iban: false,
            nino: false,
            year: false,
            digit_run: 0,
        };
        let hex = |i: usize| b.get(i).is_some_and(u8::is_ascii_hexdigit);
        let alpha = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphabetic);
        let phone_sep = |c: u8| {
            matches!(
                c,
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'.' | b'-' | b'(' | b')'
            )
        };
        let (mut alnum, mut run) = (0usize, 0usize);
        // Digits so far in the current joined / phone / dotted run, and non-digits since the
        // last digit (`usize::MAX` when the run is broken).
        let (mut joined, mut joined_gap) = (0usize, usize::MAX);
        let (mut phone, mut phone_gap) = (0usize, usize::MAX);
        let mut dots = 0usize;
        for (i, &c) in b.iter().enumerate() {
            if c.is_ascii_alphabetic() && !matches!(c, b'x' | b'c' | b'C') {
                // The common case: a letter breaks every number run.
                run = 0;
                joined_gap = usize::MAX;
                phone_gap = usize::MAX;
                dots = 0;
                alnum += 1;
                f.alnum_run = f.alnum_run.max(alnum);
                continue;
            }
            if c.is_ascii_digit() {
                run += 1;
                f.digit_run = f.digit_run.max(run);
                joined = if joined_gap <= 1 { joined + 1 } else { 1 };
                joined_gap = 0;
                f.joined_digits = f.joined_digits.max(joined);
                phone = if phone_gap <= 2 { phone + 1 } else { 1 };
                phone_gap = 0;
                f.phone_digits = f.phone_digits.max(phone);
                if run == 4 && matches!(&b[i - 3..i - 1], b"19" | b"20") {
                    f.year = true;
                }
                if run == 2 && alpha(i.wrapping_sub(2)) && alpha(i.wrapping_sub(3)) {
                    f.iban = true;
                    f.nino = true;
                }
                if run == 2
                    && b.get(i.wrapping_sub(2)) == Some(&b' ')
                    && alpha(i.wrapping_sub(3))
                    && alpha(i.wrapping_sub(4))
                {
                    f.nino = true;
                }
            } else {
                run = 0;
                joined_gap = if matches!(c, b' ' | b'-') && joined_gap == 0 {
                    1
                } else {
                    usize::MAX
                };
                phone_gap = if phone_sep(c) && phone_gap < 2 {
                    phone_gap + 1
                } else {
                    usize::MAX
                };
                match c {
                    b'.' => {
                        if i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.') {
                            dots += 1;
                        } else {
                            dots = 1;
                        }
                        f.dots_in_number = f.dots_in_number.max(dots);
                        if !f.mac && (1..=4).all(|k| hex(i.wrapping_sub(k)) && hex(i + k)) {
                            f.mac = true;
                        }
                        if !f.url
                            && b.get(i.wrapping_sub(3)..i)
                                .is_some_and(|w| w.eq_ignore_ascii_case(b"www"))
                        {
                            f.url = true;
                        }
                    }
                    b':' | b'-' => {
                        if c == b':' {
                            f.colons += 1;
                            if !f.url && b.get(i..i + 3) == Some(b"://") {
                                f.url = true;
                            }
                        }
                        if !f.mac
                            && hex(i.wrapping_sub(1))
                            && hex(i.wrapping_sub(2))
                            && hex(i + 1)
                            && hex(i + 2)
                            && matches!(b.get(i + 3), Some(b':' | b'-'))
                            && hex(i + 4)
                            && hex(i + 5)
                        {
                            f.mac = true;
                        }
                    }
                    b'x' if i > 0 && b[i - 1] == b'0' => f.eth = true,
                    b'c' | b'C'
                        if i > 0
                            && b[i - 1].eq_ignore_ascii_case(&b'b')
                            && b.get(i + 1) == Some(&b'1') =>
                    {
                        f.bech32 = true
                    }
                    _ => {}
                }
                if c != b'.' {
                    dots = 0;
                }
            }
            if c.is_ascii_alphanumeric() {
                alnum += 1;
                f.alnum_run = f.alnum_run.max(alnum);
            } else {
                alnum = 0;
            }
        }
        f
    }
}

/// Byte ranges of the digit runs in `s` (`"(415) 555-2671"` → three groups).
fn digit_groups(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
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
    out
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
    let digits: Vec<u8> = s
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
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
        let local = if n == 11 { &digits[1..] } else { &digits[..] };
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
