//! `sentinelai.pii`: personal data, found by pattern and confirmed by validators.
//!
//! Each entity has a candidate pattern, a validator (Luhn, mod-97, national-id checksums,
//! numbering plans, bech32 checksums …) that sets a base score, and context words that raise it
//! when they occur near the match in balanced and robust modes. A candidate is reported when its
//! score reaches the threshold (`min_score`, default 0.5). Dates of birth and passport numbers are
//! only reported with context: a bare date or nine digits is not personal data by itself.
//!
//! One module per family: `contact` (e-mail, URL), `phone`, `network` (IP, MAC), `financial`
//! (cards, IBAN, wallets), `govid` (national identifiers, passports), `dates`; `plan` decides
//! where each candidate pattern runs on ASCII text, `context` holds the context words. A new
//! entity is a variant of [`Entity`], a name in [`ENTITY_NAMES`], and a scan function called from
//! [`scan_views`].

mod contact;
mod context;
mod dates;
mod financial;
mod govid;
mod natid;
mod network;
mod phone;
mod plan;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use crate::ast::DetectorCall;
use crate::detect::args::ArgReader;
use crate::detect::ner;
use crate::detect::{MemoKey, TextViews};
use crate::detect::{RawFinding, push_finding};
use crate::error::CompileError;
use crate::normalize::{Family, View};
use crate::policy::Mode;
use context::CONTEXT_BOOST;
use plan::Plan;

/// The entity registry: each variant with the name policies use (`sentinelai.pii(<name>)`), in
/// one list so the enum, the names and `ALL` cannot drift apart. A new entity is one line here,
/// context words in `data/context_words.txt`, and a scan function called from [`scan_views`].
macro_rules! entities {
    ($($variant:ident => $name:literal),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum Entity {
            $($variant),*
        }

        pub(crate) const ENTITY_NAMES: &[&str] = &[$($name),*];

        const ALL: &[Entity] = &[$(Entity::$variant),*];
    };
}

entities! {
    Email => "email",
    Phone => "phone",
    CreditCard => "credit_card",
    Ssn => "ssn",
    Iban => "iban",
    IpAddress => "ip_address",
    MacAddress => "mac_address",
    Url => "url",
    CryptoWallet => "crypto_wallet",
    DateOfBirth => "date_of_birth",
    Passport => "passport",
    UkNino => "uk_nino",
    UsItin => "us_itin",
    DeTaxId => "de_tax_id",
    FrNir => "fr_nir",
    ItFiscalCode => "it_fiscal_code",
    EsNif => "es_nif",
    NlBsn => "nl_bsn",
    BrCpf => "br_cpf",
    BrCnpj => "br_cnpj",
    InAadhaar => "in_aadhaar",
    InPan => "in_pan",
    CnResidentId => "cn_resident_id",
    JpMyNumber => "jp_my_number",
    KrRrn => "kr_rrn",
    CaSin => "ca_sin",
    AuTfn => "au_tfn",
    MxCurp => "mx_curp",
    DriverLicense => "driver_license",
    Age => "age",
    Person => "person",
    Location => "location",
    Organization => "organization",
}

impl Entity {
    pub(crate) fn name(self) -> &'static str {
        ENTITY_NAMES[self as usize]
    }

    fn from_name(name: &str) -> Option<Entity> {
        ALL.iter().copied().find(|e| e.name() == name)
    }

    fn bit(self) -> u64 {
        1 << (self as u64)
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
        "itin" => "us_itin",
        "steuer_id" | "steueridentifikationsnummer" | "german_tax_id" => "de_tax_id",
        "nir" | "insee" => "fr_nir",
        "codice_fiscale" => "it_fiscal_code",
        "dni" | "nie" | "nif" => "es_nif",
        "bsn" => "nl_bsn",
        "cpf" => "br_cpf",
        "cnpj" => "br_cnpj",
        "aadhaar" => "in_aadhaar",
        "pan" => "in_pan",
        "cn_id" | "resident_id" => "cn_resident_id",
        "my_number" => "jp_my_number",
        "rrn" => "kr_rrn",
        "sin" => "ca_sin",
        "tfn" => "au_tfn",
        "curp" => "mx_curp",
        "drivers_license" | "driver_licence" | "driving_licence" | "us_driver_license" => {
            "driver_license"
        }
        "age_years" => "age",
        "name" | "names" | "person_name" | "per" => "person",
        "place" | "places" | "address" | "street_address" | "loc" | "gpe" | "city" => "location",
        "org" | "organisation" | "company" => "organization",
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PiiConfig {
    entities: u64,
    pub min_score: f64,
}

impl PiiConfig {
    /// Every entity.
    pub(crate) fn default_set() -> Self {
        let entities = ALL.iter().fold(0, |m, e| m | e.bit());
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
        view: &View<'_>,
        e: Entity,
        (s, end): (usize, usize),
        base: f64,
        why: &'static str,
    ) -> bool {
        let has_ctx = self.mode != Mode::Fast && context::near(view.text, s, end, e);
        let score = if has_ctx {
            (base + CONTEXT_BOOST).min(0.99)
        } else {
            base
        };
        if score < self.cfg.min_score {
            return false;
        }
        let explanation = if has_ctx {
            Cow::Owned(concat(why, "; context words nearby"))
        } else {
            Cow::Borrowed(why)
        };
        self.keep(view, e, (s, end), score, explanation);
        true
    }

    /// Keep a finding of `e` on the view's span `[s, end)`, mapped to the original text.
    fn keep(
        &mut self,
        view: &View<'_>,
        e: Entity,
        (s, end): (usize, usize),
        score: f64,
        explanation: Cow<'static, str>,
    ) {
        let (start, end) = view.original_span(s, end);
        self.push(
            e,
            RawFinding {
                entity: Cow::Borrowed(e.name()),
                start,
                end,
                score,
                explanation,
            },
        );
    }

    /// Like `consider`, for entities that are only personal data with context, in every mode.
    fn consider_with_required_context(
        &mut self,
        view: &View<'_>,
        e: Entity,
        span: (usize, usize),
        score: f64,
        why: &str,
    ) {
        if !context::near(view.text, span.0, span.1, e) || score < self.cfg.min_score {
            return;
        }
        self.keep(
            view,
            e,
            span,
            score,
            concat(why, " next to context words").into(),
        );
    }
}

/// `a` then `b` (what `format!("{a}{b}")` writes), in one allocation of the right size without
/// the formatting machinery.
fn concat(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(a);
    s.push_str(b);
    s
}

/// The entity of a tagger's kind, and the explanation of its findings, `"{name} (tagger)"`,
/// written out so that no string is built per finding.
fn tagged(kind: ner::Kind) -> (Entity, &'static str) {
    match kind {
        ner::Kind::Person => (Entity::Person, "person (tagger)"),
        ner::Kind::Location => (Entity::Location, "location (tagger)"),
        ner::Kind::Organization => (Entity::Organization, "organization (tagger)"),
    }
}

/// Whether a span the names tagger reports can be a name, a place or an organisation: it has
/// two letters or more, and one of its words is neither an identifier's label in capitals
/// (`IBAN`, `NINO`) nor holds a digit (`YZ042014D`, `1936`). The tagger reads the identifiers'
/// frames (`NINO AB123456C`, `IBAN DE89 …`) as names, and a lone `M` or `,` as part of one.
/// Of the names task's 26,399 gold spans, three fail this test, all WNUT-16 user names in the
/// train split (`sfitzy93`; docs/QUALITY.md).
fn names_entity_plausible(span: &str) -> bool {
    if span.chars().filter(|c| c.is_alphabetic()).take(2).count() < 2 {
        return false;
    }
    span.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| !w.chars().any(|c| c.is_numeric()) && !context::is_label_acronym(w))
}

pub(crate) fn scan(cfg: &PiiConfig, tv: &TextViews<'_>, mode: Mode) -> Vec<RawFinding> {
    let key = MemoKey::Pii(cfg.entities, cfg.min_score.to_bits(), mode);
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
        // Most findings are numbers: room for one every other digit run (at most one every
        // 128 bytes), so that a long text's list is not copied again and again as it grows.
        scan.out
            .reserve((plan.digits.len() / 2).min(text.len() / 128));
        let view = &view;
        if cfg.wants(Entity::Email) && !plan.email.is_empty() {
            contact::emails(&mut scan, view, windowed);
        }
        if cfg.wants(Entity::Url) && contact::has_url_marker(text) {
            contact::urls(&mut scan, view);
        }
        if cfg.wants(Entity::MacAddress) && !plan.mac.is_empty() {
            network::macs(&mut scan, view, &plan);
        }
        if cfg.wants(Entity::IpAddress) && !plan.ipv6.is_empty() {
            network::ipv6s(&mut scan, view, &plan);
        }
        if cfg.wants(Entity::CryptoWallet) {
            financial::wallets(&mut scan, view, &plan);
        }
        if cfg.wants(Entity::UkNino) {
            govid::ninos(&mut scan, view, &plan);
        }
        if !plan.any_digit {
            continue;
        }
        if cfg.wants(Entity::Iban) {
            financial::ibans(&mut scan, view, &plan);
            financial::loose_ibans(&mut scan, view, &plan);
        }
        if cfg.wants(Entity::CreditCard) {
            financial::cards(&mut scan, view, &plan);
        }
        if cfg.wants(Entity::Ssn) {
            govid::ssns(&mut scan, view, &plan);
        }
        let quads = if cfg.wants(Entity::IpAddress) || cfg.wants(Entity::Phone) {
            network::quads(text, &plan)
        } else {
            Vec::new()
        };
        if cfg.wants(Entity::IpAddress) {
            network::ipv4s(&mut scan, view, &quads);
        }
        if cfg.wants(Entity::Phone) {
            phone::phones(&mut scan, view, &plan, windowed, &quads);
        }
        if cfg.wants(Entity::DateOfBirth) {
            dates::dates_of_birth(&mut scan, view, &plan);
        }
        if cfg.wants(Entity::Passport) {
            govid::passports(&mut scan, view, &plan);
        }
        govid::numeric_ids(&mut scan, view, &plan);
        govid::alnum_ids(&mut scan, view, &plan);
        if cfg.wants(Entity::Age) {
            dates::ages(&mut scan, view, &plan);
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
            let (e, explanation) = tagged(n.kind);
            if cfg.wants(e)
                && n.score >= cfg.min_score
                && names_entity_plausible(&tv.original().text[n.start..n.end])
            {
                scan.push(
                    e,
                    RawFinding {
                        entity: Cow::Borrowed(e.name()),
                        start: n.start,
                        end: n.end,
                        score: n.score,
                        explanation: Cow::Borrowed(explanation),
                    },
                );
            }
        }
    }
    // One span, one entity: a phone number guessed on a span that an identifier with a checksum
    // (a German tax id, a Canadian SIN …) covers exactly yields to it.
    if scan.out.len() > 1 {
        // The phone numbers' spans, sorted (they come in text order, which the sort sees in
        // one pass) and looked up for each other finding: cheaper than hashing or sorting all
        // spans (a long text has thousands).
        let phone = |f: &RawFinding| f.entity == Entity::Phone.name();
        let mut phones: Vec<(usize, usize)> = scan
            .out
            .iter()
            .filter(|f| phone(f))
            .map(|f| (f.start, f.end))
            .collect();
        phones.sort_unstable();
        phones.dedup();
        let mut yields = vec![false; phones.len()];
        for f in scan.out.iter().filter(|f| !phone(f)) {
            if let Ok(i) = phones.binary_search(&(f.start, f.end)) {
                yields[i] = true;
            }
        }
        if yields.contains(&true) {
            scan.out.retain(|f| {
                !phone(f)
                    || !phones
                        .binary_search(&(f.start, f.end))
                        .is_ok_and(|i| yields[i])
            });
        }
    }
    scan.out
}
