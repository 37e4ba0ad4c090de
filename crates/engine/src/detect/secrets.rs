//! `sentinelai.secrets`: credentials, found by known prefixes and shapes, confirmed by entropy.
//!
//! Vendor tokens with a distinctive prefix (`AKIA…`, `ghp_…`, `xoxb-…`, `sk_live_…`) score high on
//! shape alone, but their random part must still look random (Shannon entropy), so documentation
//! placeholders such as `sk_live_xxxxxxxxxxxxxxxx` do not fire. Generic `key=`/`token=`/`password=`
//! assignments are only reported when the value is not a placeholder and, except for passwords,
//! has high entropy — which keeps ordinary prose and code (`token = next_token()`) quiet.

use base64::Engine as _;

use crate::ast::DetectorCall;
use crate::detect::args::ArgReader;
use crate::detect::context::shannon_entropy;
use crate::detect::static_regex::Lazy;
use crate::detect::windows::{captures_in, find_in, merge};
use crate::detect::{RawFinding, push_finding};
use crate::error::CompileError;
use crate::normalize::{Family, TextViews};
use crate::policy::Mode;

pub(crate) const PROVIDERS: &[&str] = &[
    "aws",
    "gcp",
    "azure",
    "github",
    "gitlab",
    "slack",
    "stripe",
    "openai",
    "anthropic",
    "twilio",
    "sendgrid",
    "private_key",
    "jwt",
    "connection_string",
    "generic",
];

struct Pattern {
    entity: &'static str,
    provider: &'static str,
    regex: Lazy,
    /// Capture group holding the secret itself (0 = the whole match).
    group: usize,
    base: f64,
    /// Minimum Shannon entropy (bits/char) of the secret, 0 to skip.
    min_entropy: f64,
}

const fn pat(
    entity: &'static str,
    provider: &'static str,
    regex: &'static str,
    group: usize,
    base: f64,
    min_entropy: f64,
) -> Pattern {
    Pattern {
        entity,
        provider,
        regex: Lazy::new(regex),
        group,
        base,
        min_entropy,
    }
}

static PATTERNS: [Pattern; 21] = [
    pat(
        "aws_access_key",
        "aws",
        r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
        0,
        0.9,
        2.5,
    ),
    pat(
        "aws_secret_key",
        "aws",
        r#"(?i)aws[a-z_\-]{0,20}(?:secret|sk)[a-z_\-]{0,20}["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{40})\b"#,
        1,
        0.95,
        3.5,
    ),
    pat(
        "gcp_api_key",
        "gcp",
        r"\bAIza[0-9A-Za-z_\-]{35}",
        0,
        0.95,
        3.0,
    ),
    pat(
        "gcp_service_account",
        "gcp",
        r#""type"\s*:\s*"service_account""#,
        0,
        0.85,
        0.0,
    ),
    pat(
        "azure_storage_key",
        "azure",
        r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)",
        1,
        0.95,
        4.0,
    ),
    pat(
        "azure_client_secret",
        "azure",
        r"\b[a-zA-Z0-9_~.\-]{3}\dQ~[a-zA-Z0-9_~.\-]{31,34}\b",
        0,
        0.85,
        3.5,
    ),
    pat(
        "azure_sas_token",
        "azure",
        r"(?i)[?&]sig=([A-Za-z0-9%+/=]{30,})",
        1,
        0.8,
        3.5,
    ),
    pat(
        "github_token",
        "github",
        r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{60,}",
        0,
        0.97,
        3.0,
    ),
    pat(
        "gitlab_token",
        "gitlab",
        r"\bglpat-[A-Za-z0-9_\-]{20,}",
        0,
        0.97,
        3.0,
    ),
    pat(
        "slack_token",
        "slack",
        r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
        0,
        0.95,
        3.0,
    ),
    pat(
        "slack_webhook",
        "slack",
        r"https://hooks\.slack\.com/services/[A-Za-z0-9/_]{20,}",
        0,
        0.95,
        0.0,
    ),
    pat(
        "stripe_key",
        "stripe",
        r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",
        0,
        0.95,
        3.0,
    ),
    pat(
        "anthropic_key",
        "anthropic",
        r"\bsk-ant-[A-Za-z0-9_\-]{20,}",
        0,
        0.97,
        3.5,
    ),
    pat(
        "openai_key",
        "openai",
        r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
        0,
        0.9,
        3.5,
    ),
    pat(
        "twilio_key",
        "twilio",
        r"\bSK[0-9a-fA-F]{32}\b",
        0,
        0.8,
        3.0,
    ),
    pat(
        "sendgrid_key",
        "sendgrid",
        // No trailing `\b`: a key may end in `-` or `_`. The lookahead-free boundary is the
        // following character (or the end), outside the captured key.
        r"\b(SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43})(?:[^A-Za-z0-9_\-]|\z)",
        1,
        0.97,
        3.5,
    ),
    pat(
        "private_key",
        "private_key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\z)",
        0,
        0.99,
        0.0,
    ),
    pat(
        "jwt",
        "jwt",
        r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{10,}",
        0,
        0.9,
        0.0,
    ),
    pat(
        "connection_string_password",
        "connection_string",
        r"(?i)\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@]+:([^\s@/]+)@[^\s/]+",
        1,
        0.9,
        0.0,
    ),
    pat(
        "generic_secret",
        "generic",
        r#"(?i)\b([a-z0-9_\-]*(?:api[_\-]?key|apikey|secret|token|passw(?:or)?d|passwd|pwd|access[_\-]?key|auth[_\-]?key|client[_\-]?secret|private[_\-]?key|credentials?)[a-z0-9_\-]*)["']?\]?\s*(?:=|:|=>)\s*["']?([^\s"',;{}()\[\]<>]{6,})"#,
        2,
        0.0,
        0.0,
    ),
    pat(
        "twilio_account_sid",
        "twilio",
        r"\bAC[0-9a-f]{32}\b",
        0,
        0.6,
        3.0,
    ),
];

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SecretsConfig {
    providers: Vec<&'static str>,
    pub min_score: f64,
}

impl SecretsConfig {
    pub(crate) fn all() -> Self {
        SecretsConfig {
            providers: PROVIDERS.to_vec(),
            min_score: 0.5,
        }
    }

    pub(crate) fn from_call(call: &DetectorCall) -> Result<(Self, String), Vec<CompileError>> {
        let mut r = ArgReader::new(call);
        let names = r.names(PROVIDERS, "secret provider", |n| match n {
            "google" => Some("gcp"),
            "pem" | "ssh" | "openssh" => Some("private_key"),
            "password" | "passwords" => Some("connection_string"),
            _ => None,
        });
        let min = r.number(&["min_score", "threshold"], 0.0, 1.0);
        r.finish(&["min_score", "threshold"])?;
        let mut cfg = SecretsConfig::all();
        if !names.is_empty() {
            cfg.providers = names;
            cfg.providers.sort_unstable();
        }
        if let Some(m) = min {
            cfg.min_score = m;
        }
        let key = format!("{}|{}", cfg.providers.join(","), cfg.min_score);
        Ok((cfg, key))
    }
}

/// Lowercase ASCII substrings that mark a placeholder value.
const PLACEHOLDER_MARKERS: [&str; 22] = [
    "xxxx",
    "****",
    "your",
    "<",
    "${",
    "{{",
    "%s",
    "example",
    "placeholder",
    "changeme",
    "redacted",
    "dummy",
    "process.env",
    "getenv",
    "environ",
    "env(",
    "env.",
    "secret_here",
    "token_here",
    "none",
    "null",
    "undefined",
];

/// For each byte, the markers that start with it (bit `i` for `PLACEHOLDER_MARKERS[i]`).
const MARKERS_BY_FIRST_BYTE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < PLACEHOLDER_MARKERS.len() {
        t[PLACEHOLDER_MARKERS[i].as_bytes()[0] as usize] |= 1 << i;
        i += 1;
    }
    t
};

fn is_placeholder(v: &str) -> bool {
    let l = v.as_bytes();
    // `v.to_ascii_lowercase().contains(m)` for the lowercase ASCII markers, without the copy:
    // at each byte, only the markers starting with its lowercase form are compared.
    let marked = (0..l.len()).any(|i| {
        let mut m = MARKERS_BY_FIRST_BYTE[usize::from(l[i].to_ascii_lowercase())];
        while m != 0 {
            let marker = PLACEHOLDER_MARKERS[m.trailing_zeros() as usize].as_bytes();
            if l[i..]
                .get(..marker.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(marker))
            {
                return true;
            }
            m &= m - 1;
        }
        false
    });
    marked
        || ["password", "true", "false", "secret", "token"]
            .iter()
            .any(|w| l.eq_ignore_ascii_case(w.as_bytes()))
        || l.iter().all(|b| b.eq_ignore_ascii_case(&l[0]))
}

/// A vendor-shaped key that is a documentation example (`AKIAIOSFODNN7EXAMPLE`,
/// `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`).
fn is_example_key(v: &str) -> bool {
    let u = v.to_ascii_uppercase();
    let u = u.trim_end_matches(['=', '_', '-']);
    u.ends_with("EXAMPLE") || u.ends_with("EXAMPLEKEY")
}

fn looks_like_code(v: &str) -> bool {
    v.contains('(')
        || v.ends_with(')')
        || v.starts_with("self.")
        || v.starts_with("this.")
        || v.contains("::")
        || v.starts_with('$')
}

fn jwt_header_ok(token: &str) -> bool {
    let Some(head) = token.split('.').next() else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head.trim_end_matches('='))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .is_some_and(|h| h.contains("\"alg\""))
}

/// Where a pattern's trigger literals are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Anywhere in the text (case-sensitive).
    Anywhere,
    /// Inside a run of at least [`MIN_TOKEN`] key-shaped bytes `[A-Za-z0-9_-]`
    /// (case-sensitive). Every match of these patterns is such a run's substring: it consists
    /// of those bytes only and is at least [`MIN_TOKEN`] long (the shortest, a Slack token, is
    /// `xoxb-` and ten more). The pattern then also runs only on those runs.
    Token,
    /// In the key before a `=` or `:` (ASCII-case-insensitive), or for
    /// `"service_account"` (case-sensitive) right after a `:` and spaces: see [`candidates`].
    Key,
}

/// The shortest match of a [`Seen::Token`] pattern.
const MIN_TOKEN: usize = 15;

/// Literals at least one of which every match of `PATTERNS[i]` contains, and where to look.
const TRIGGERS: [(Seen, &[&str]); 21] = [
    (Seen::Token, &["AKIA", "ASIA", "ABIA", "ACCA"]),
    (Seen::Key, &["aws"]),
    (Seen::Token, &["AIza"]),
    (Seen::Key, &["\"service_account\""]),
    (Seen::Key, &["accountkey="]),
    (Seen::Anywhere, &["Q~"]),
    (Seen::Key, &["sig="]),
    (
        Seen::Token,
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
    ),
    (Seen::Token, &["glpat-"]),
    (Seen::Token, &["xox"]),
    (Seen::Anywhere, &["://"]),
    (
        Seen::Token,
        &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
    ),
    (Seen::Token, &["sk-ant-"]),
    (Seen::Token, &["sk-"]),
    (Seen::Token, &["SK"]),
    (Seen::Anywhere, &["SG."]),
    (Seen::Anywhere, &["-----BEGIN "]),
    (Seen::Anywhere, &["eyJ"]),
    (Seen::Anywhere, &["://"]),
    (
        Seen::Key,
        &[
            "api",
            "secret",
            "token",
            "passw",
            "pwd",
            "access",
            "auth",
            "private",
            "credential",
        ],
    ),
    (Seen::Token, &["AC"]),
];

/// The trigger searches. Each `Anywhere` literal is its own `memmem` search, stopping at the
/// first occurrence: a handful of vectorised passes that skip prose at memory speed. (One
/// Aho-Corasick automaton over them, let alone over every literal, fell back to stepping byte
/// by byte over ordinary prose and cost more than the rest of the scan.)
struct Prefilter {
    /// Each distinct `Anywhere` literal, with the bits of the patterns it triggers.
    anywhere: Vec<(memchr::memmem::Finder<'static>, u32)>,
    token: Automaton,
    key: Automaton,
    /// Every case-sensitive literal, for non-ASCII text (scanned whole).
    exact: Automaton,
    /// Patterns of each kind.
    token_mask: u32,
    key_mask: u32,
}

struct Automaton {
    ac: aho_corasick::AhoCorasick,
    pattern: Vec<u32>,
}

impl Automaton {
    #[expect(
        clippy::expect_used,
        reason = "static literals written in this crate; built by the unit tests"
    )]
    fn new(kinds: &[Seen], folded: bool) -> Self {
        let mut words = Vec::new();
        let mut pattern = Vec::new();
        for (i, (seen, lits)) in TRIGGERS.iter().enumerate() {
            if kinds.contains(seen) {
                for t in *lits {
                    words.push(*t);
                    pattern.push(i as u32);
                }
            }
        }
        let ac = aho_corasick::AhoCorasickBuilder::new()
            .ascii_case_insensitive(folded)
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(&words)
            .expect("secret triggers build");
        Automaton { ac, pattern }
    }

    /// Bits of the patterns whose literals occur in `hay`.
    fn mask(&self, hay: &[u8], stop_at: u32) -> u32 {
        let mut mask = 0u32;
        for m in self.ac.find_overlapping_iter(hay) {
            mask |= 1 << self.pattern[m.pattern().as_usize()];
            if mask & stop_at == stop_at {
                break;
            }
        }
        mask
    }
}

fn prefilter() -> &'static Prefilter {
    static P: std::sync::OnceLock<Prefilter> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let of = |kind: Seen| {
            TRIGGERS
                .iter()
                .enumerate()
                .filter(|(_, (k, _))| *k == kind)
                .fold(0u32, |m, (i, _)| m | 1 << i)
        };
        // One search per distinct literal (`://` triggers two patterns), with the patterns it
        // triggers.
        let mut anywhere: Vec<(memchr::memmem::Finder<'static>, u32)> = Vec::new();
        for (i, (kind, lits)) in TRIGGERS.iter().enumerate() {
            if *kind != Seen::Anywhere {
                continue;
            }
            for l in *lits {
                match anywhere
                    .iter_mut()
                    .find(|(f, _)| f.needle() == l.as_bytes())
                {
                    Some((_, m)) => *m |= 1 << i,
                    None => anywhere.push((memchr::memmem::Finder::new(l.as_bytes()), 1 << i)),
                }
            }
        }
        Prefilter {
            anywhere,
            token: Automaton::new(&[Seen::Token], false),
            key: Automaton::new(&[Seen::Key], true),
            exact: Automaton::new(&[Seen::Anywhere, Seen::Token], false),
            token_mask: of(Seen::Token),
            key_mask: of(Seen::Key),
        }
    })
}

/// The key (group 1) and value (group 2) of the `generic_secret` match `ms..me` of an ASCII
/// text, read from the match instead of running the capture engines: the same groups
/// (differential tests below).
///
/// Why: after the key come `["']?\]?\s*(?:=|:|=>)`, none of them a key byte, so the key is the
/// run of key bytes `[a-z0-9_-]` (any case) at the start of the match. Then each optional quote
/// or `]` is taken when present and the spaces all taken (giving one back leaves a byte that
/// nothing after it can match); the separators are tried in the regex's order, `=`, `:`, `=>`,
/// each followed by spaces, an optional quote (taken when present, as before) and a value of at
/// least 6 value bytes running to the match's end (the value's class has neither spaces nor
/// quotes, and its greedy repeat ends where the match does). `None` if the reading fails, which
/// cannot happen for a match.
fn generic_groups(b: &[u8], ms: usize, me: usize) -> Option<((usize, usize), (usize, usize))> {
    let b = b.get(..me)?;
    let mut k = ms;
    while k < me && key_byte(b[k]) {
        k += 1;
    }
    let mut p = k;
    if p < me && matches!(b[p], b'"' | b'\'') {
        p += 1;
    }
    if p < me && b[p] == b']' {
        p += 1;
    }
    while p < me && is_space(b[p]) {
        p += 1;
    }
    for sep in [&b"="[..], b":", b"=>"] {
        if !b[p..].starts_with(sep) {
            continue;
        }
        let mut v = p + sep.len();
        while v < me && is_space(b[v]) {
            v += 1;
        }
        if v < me && matches!(b[v], b'"' | b'\'') {
            v += 1;
        }
        let run = b[v..].iter().take_while(|c| value_byte(**c)).count();
        if run >= 6 && v + run == me {
            return Some(((ms, k), (v, me)));
        }
    }
    None
}

/// Index of `generic_secret` in `PATTERNS`.
const GENERIC: usize = 19;
/// Index of `gcp_service_account` (`"type": "service_account"`) in `PATTERNS`.
const SERVICE_ACCOUNT: usize = 3;

/// Which patterns may match a text, and where some of them run.
struct Candidates {
    /// Bit `i` set when `PATTERNS[i]` may match.
    mask: u32,
    /// Windows for `generic_secret` (`None`: the whole text).
    generic: Option<Vec<(usize, usize)>>,
    /// Windows for the [`Seen::Token`] patterns (`None`: the whole text).
    tokens: Option<Vec<(usize, usize)>>,
}

/// Bytes of a key in `generic_secret` (`[a-z0-9_\-]`, any case), and of a vendor token.
fn key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Bytes of a value in `generic_secret` (`[^\s"',;{}()\[\]<>]`), for ASCII text.
fn value_byte(c: u8) -> bool {
    !is_space(c)
        && !matches!(
            c,
            b'"' | b'\'' | b',' | b';' | b'{' | b'}' | b'(' | b')' | b'[' | b']' | b'<' | b'>'
        )
}

/// ASCII `\s`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The maximal runs of [`key_byte`]s at least [`MIN_TOKEN`] long, in an ASCII text.
///
/// Such a run covers a whole aligned 8-byte word; take the first one it covers: fewer than 8 of
/// its bytes are before that word and at least 7 lie outside it, so 4 of them lie on one side:
/// the top 4 bytes of the word before or the low 4 of the word after are key bytes too. A key
/// byte is at least `-` (0x2D), which a SWAR test checks 8 bytes at a time (exactly per byte);
/// prose fails it at almost every word, and at its neighbours for nearly all the rest, so only
/// the rare long tokens are looked at byte by byte.
fn long_tokens(b: &[u8]) -> Vec<(usize, usize)> {
    const L: u64 = 0x0101_0101_0101_0101;
    const H: u64 = 0x8080_8080_8080_8080;
    let words = b.len() / 8;
    // The high bit of each byte below 0x2D or above 0x7F (no borrow crosses a byte: each has
    // its high bit set before the subtraction). A missing word passes (a run may reach into
    // the last partial word).
    let low = |k: usize| -> u64 {
        let Some(chunk) = b.get(k * 8..k * 8 + 8) else {
            return 0;
        };
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        (!((x | H) - 0x2D * L) & !x & H) | (x & H)
    };
    let mut out: Vec<(usize, usize)> = Vec::new();
    let look = |k: usize, out: &mut Vec<(usize, usize)>| {
        let at = k * 8;
        if out.last().is_some_and(|r| at + 8 <= r.1) || !b[at..at + 8].iter().all(|c| key_byte(*c))
        {
            return;
        }
        let mut s = at;
        while s > 0 && key_byte(b[s - 1]) {
            s -= 1;
        }
        let mut e = at + 8;
        while e < b.len() && key_byte(b[e]) {
            e += 1;
        }
        if e - s >= MIN_TOKEN {
            out.push((s, e));
        }
    };
    // Four words at a time: in prose each has a byte below `-` (a space), and the block is
    // passed after one test; `prev` carries the last word's mask to the next block.
    let mut prev = 0;
    let mut k = 0;
    while k + 4 <= words {
        let l = [low(k), low(k + 1), low(k + 2), low(k + 3)];
        if l[0] != 0 && l[1] != 0 && l[2] != 0 && l[3] != 0 {
            prev = l[3];
            k += 4;
            continue;
        }
        for j in 0..4 {
            let next = if j < 3 { l[j + 1] } else { low(k + 4) };
            if l[j] == 0 && (prev >> 32 == 0 || next & 0xFFFF_FFFF == 0) {
                look(k + j, &mut out);
            }
            prev = l[j];
        }
        k += 4;
    }
    while k < words {
        let cur = low(k);
        if cur == 0 && (prev >> 32 == 0 || low(k + 1) & 0xFFFF_FFFF == 0) {
            look(k, &mut out);
        }
        prev = cur;
        k += 1;
    }
    out
}

/// The candidate patterns of `text`.
///
/// On ASCII text: the `Anywhere` literals come from one automaton pass; the `Token` literals
/// are looked for only in long key-shaped runs ([`long_tokens`]), which are also those
/// patterns' windows; every `Key` pattern (`aws…secret = …`, `AccountKey=`, `sig=`,
/// `api_key: …`) has a `=` or `:` in each match with its trigger word in the key just before
/// it, so those triggers are looked for only there: from each separator (found with `memchr`)
/// back over spaces, one `]`, one quote and the key's `[A-Za-z0-9_-]` run. That same key start
/// and the end of the value after the separator (`=>`, spaces, one quote, the value's run)
/// bound every `generic_secret` match using the separator, so the generic rule runs only on
/// those windows (see `detect::windows`; a window whose key has no trigger word cannot hold a
/// match and is left out).
///
/// Non-ASCII text is scanned whole: `(?i)` in Unicode mode also folds `K` (Kelvin) and `ſ` to
/// ASCII letters, so the ASCII-folding automaton would not be exact.
fn candidates(text: &str, wanted: u32) -> Candidates {
    let p = prefilter();
    let b = text.as_bytes();
    if !text.is_ascii() {
        let mut mask = wanted & p.key_mask;
        let exact = wanted & !p.key_mask;
        if exact != 0 {
            mask |= p.exact.mask(b, exact);
        }
        return Candidates {
            mask: mask & wanted,
            generic: None,
            tokens: None,
        };
    }
    let mut mask = 0u32;
    let anywhere = wanted & !p.key_mask & !p.token_mask;
    for (finder, patterns) in &p.anywhere {
        let open = anywhere & patterns & !mask;
        if open != 0 && finder.find(b).is_some() {
            mask |= open;
        }
    }
    let mut tokens = Vec::new();
    if wanted & p.token_mask != 0 {
        tokens = long_tokens(b);
        for &(s, e) in &tokens {
            mask |= p.token.mask(&b[s..e], wanted & p.token_mask);
        }
    }
    let mut generic = Vec::new();
    if wanted & p.key_mask != 0 {
        for sep in memchr::memchr2_iter(b'=', b':', b) {
            let mut start = sep;
            while start > 0 && is_space(b[start - 1]) {
                start -= 1;
            }
            if start > 0 && b[start - 1] == b']' {
                start -= 1;
            }
            if start > 0 && matches!(b[start - 1], b'"' | b'\'') {
                start -= 1;
            }
            while start > 0 && key_byte(b[start - 1]) {
                start -= 1;
            }
            let mut found = p.key.mask(&b[start..=sep], u32::MAX);
            if b[sep] == b':' {
                let mut v = sep + 1;
                while v < b.len() && is_space(b[v]) {
                    v += 1;
                }
                if b[v..].starts_with(b"\"service_account\"") {
                    found |= 1 << SERVICE_ACCOUNT;
                }
            }
            if found & (1 << GENERIC) != 0 {
                let mut end = sep + 1;
                if b[sep] == b'=' && b.get(end) == Some(&b'>') {
                    end += 1;
                }
                while end < b.len() && is_space(b[end]) {
                    end += 1;
                }
                if end < b.len() && matches!(b[end], b'"' | b'\'') {
                    end += 1;
                }
                while end < b.len() && value_byte(b[end]) {
                    end += 1;
                }
                generic.push((start, end));
            }
            mask |= found;
        }
    }
    Candidates {
        mask: mask & wanted,
        generic: Some(merge(generic)),
        tokens: Some(tokens),
    }
}

pub(crate) fn scan(cfg: &SecretsConfig, tv: &TextViews<'_>, mode: Mode) -> Vec<RawFinding> {
    let key = format!(
        "secrets|{}|{}|{mode}",
        cfg.providers.join(","),
        cfg.min_score
    );
    tv.memo(key, || scan_views(cfg, tv, mode, false))
}

/// `scan`, or with `whole` the reference behaviour that runs every wanted pattern over the
/// whole text (the differential tests compare the two).
fn scan_views(cfg: &SecretsConfig, tv: &TextViews<'_>, mode: Mode, whole: bool) -> Vec<RawFinding> {
    let mut out = Vec::new();
    let wanted = PATTERNS
        .iter()
        .enumerate()
        .filter(|(_, p)| cfg.providers.contains(&p.provider))
        .fold(0u32, |m, (i, _)| m | 1 << i);
    for view in tv.views(mode, Family::Pattern) {
        let text = view.text;
        let cands = if whole {
            Candidates {
                mask: wanted,
                generic: None,
                tokens: None,
            }
        } else {
            candidates(text, wanted)
        };
        if cands.mask == 0 {
            continue;
        }
        for (i, p) in PATTERNS.iter().enumerate() {
            if cands.mask & (1 << i) == 0 {
                continue;
            }
            let windows = if i == GENERIC {
                cands.generic.as_deref()
            } else if TRIGGERS[i].0 == Seen::Token {
                cands.tokens.as_deref()
            } else {
                None
            };
            // The value's span and, for `generic_secret`, the key's. A pattern whose value is
            // the whole match is searched without capture groups (the same matches, found by
            // the faster engines).
            let found: Vec<((usize, usize), &str)> = if p.group == 0 {
                find_in(p.regex.get(), text, windows)
                    .map(|m| ((m.start(), m.end()), ""))
                    .collect()
            } else if i == GENERIC && text.is_ascii() {
                find_in(p.regex.get(), text, windows)
                    .filter_map(|m| {
                        if let Some((key, value)) =
                            generic_groups(text.as_bytes(), m.start(), m.end())
                        {
                            return Some((value, &text[key.0..key.1]));
                        }
                        // Not reached (see `generic_groups`); the capture engines decide.
                        let caps = p.regex.get().captures_at(text, m.start())?;
                        let (key, value) = (caps.get(1)?, caps.get(2)?);
                        Some(((value.start(), value.end()), key.as_str()))
                    })
                    .collect()
            } else {
                captures_in(p.regex.get(), text, windows)
                    .filter_map(|caps| {
                        let m = caps.get(p.group).or_else(|| caps.get(0))?;
                        let key = caps.get(1).map_or("", |k| k.as_str());
                        Some(((m.start(), m.end()), key))
                    })
                    .collect()
            };
            for ((ms, me), key) in found {
                let value = &text[ms..me];
                let (score, why): (f64, String) = match p.entity {
                    "openai_key" if value.starts_with("sk-ant-") => continue,
                    "jwt" => {
                        if jwt_header_ok(value) {
                            (0.9, "JSON Web Token with a decodable header".to_owned())
                        } else {
                            (0.55, "JSON Web Token shape".to_owned())
                        }
                    }
                    "connection_string_password" => {
                        if is_placeholder(value) || value.len() < 3 {
                            continue;
                        }
                        (
                            p.base,
                            "password embedded in a connection string".to_owned(),
                        )
                    }
                    "generic_secret" => {
                        let key = key.to_ascii_lowercase();
                        if is_placeholder(value) || looks_like_code(value) {
                            continue;
                        }
                        let entropy = shannon_entropy(value);
                        let password_like = key.contains("pass") || key.contains("pwd");
                        if password_like {
                            (
                                if value.len() >= 8 { 0.75 } else { 0.6 },
                                format!("password assigned to `{key}`"),
                            )
                        } else if value.len() >= 16
                            && entropy >= 3.5
                            && value.bytes().any(|b| b.is_ascii_digit())
                        {
                            (
                                (0.6 + (entropy - 3.5) * 0.2).min(0.9),
                                format!(
                                    "high-entropy value ({entropy:.1} bits/char) assigned to `{key}`"
                                ),
                            )
                        } else {
                            continue;
                        }
                    }
                    _ => {
                        // `AKIAIOSFODNN7EXAMPLE` and friends: documentation keys.
                        if is_example_key(value) {
                            continue;
                        }
                        let entropy = shannon_entropy(value);
                        if entropy < p.min_entropy {
                            continue;
                        }
                        let score = if p.entity == "stripe_key" && value.contains("_test_") {
                            0.8
                        } else {
                            p.base
                        };
                        (
                            score,
                            format!("{} (known prefix and shape)", p.entity.replace('_', " ")),
                        )
                    }
                };
                if score < cfg.min_score {
                    continue;
                }
                let (s, e) = view.original_span(ms, me);

                push_finding(
                    &mut out,
                    RawFinding {
                        entity: p.entity.to_owned(),
                        start: s,
                        end: e,
                        score,
                        explanation: why,
                    },
                );
            }
        }
    }
    // A provider pattern already names the value (`GITHUB_TOKEN=ghp_…`): the generic
    // `key=value` rule would only report the same span a second time.
    let named: Vec<(usize, usize)> = out
        .iter()
        .filter(|f| f.entity != "generic_secret")
        .map(|f| (f.start, f.end))
        .collect();
    out.retain(|f| {
        f.entity != "generic_secret" || !named.iter().any(|&(s, e)| s < f.end && f.start < e)
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, String)> {
        let tv = TextViews::new(text);
        scan(&SecretsConfig::all(), &tv, Mode::Balanced)
            .into_iter()
            .map(|f| (f.entity, text.get(f.start..f.end).unwrap_or("").to_owned()))
            .collect()
    }

    #[test]
    fn positives() {
        let pem =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----";
        let ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----";
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let cases = [
            (
                "key AKIAZ3MSJV4WWNKWW5FG",
                "aws_access_key",
                "AKIAZ3MSJV4WWNKWW5FG",
            ),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9Kq2mXp0",
                "aws_secret_key",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9Kq2mXp0",
            ),
            (
                "AIzaSyD3k9fQ2xLmN8pR7tV1wY4zB6cE0gH5jK2",
                "gcp_api_key",
                "AIzaSyD3k9fQ2xLmN8pR7tV1wY4zB6cE0gH5jK2",
            ),
            (
                "token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
                "github_token",
                "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
            ),
            (
                "glpat-x9Yz8Wv7Ut6Sr5Qp4On3",
                "gitlab_token",
                "glpat-x9Yz8Wv7Ut6Sr5Qp4On3",
            ),
            (
                "xoxb-2048302934-4829302934-aB3dE5fG7hJ9kL1m",
                "slack_token",
                "xoxb-2048302934-4829302934-aB3dE5fG7hJ9kL1m",
            ),
            (
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "stripe_key",
                "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            ),
            (
                "sk-proj-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
                "openai_key",
                "sk-proj-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
            ),
            (
                "sk-ant-api03-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
                "anthropic_key",
                "sk-ant-api03-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
            ),
            (
                "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",
                "sendgrid_key",
                "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",
            ),
            (
                "SK2f8a9c0b1d3e4f5a6b7c8d9e0f1a2b3c",
                "twilio_key",
                "SK2f8a9c0b1d3e4f5a6b7c8d9e0f1a2b3c",
            ),
            (pem, "private_key", pem),
            (ssh, "private_key", ssh),
            (jwt, "jwt", jwt),
            (
                "postgres://app:s3cr3tP4ss@db.internal:5432/prod",
                "connection_string_password",
                "s3cr3tP4ss",
            ),
            (
                "api_key = \"q8Zr2Lx9Vb4Nm7Kp1Ws6Td3\"",
                "generic_secret",
                "q8Zr2Lx9Vb4Nm7Kp1Ws6Td3",
            ),
            ("password: hunter2hunter", "generic_secret", "hunter2hunter"),
            (
                "config['api_key'] = 'q8Zr2Lx9Vb4Nm7Kp1Ws6Td3'",
                "generic_secret",
                "q8Zr2Lx9Vb4Nm7Kp1Ws6Td3",
            ),
            (
                "config[\"password\"] = \"Xk9#mQ2v!Lr7\"",
                "generic_secret",
                "Xk9#mQ2v!Lr7",
            ),
            (
                "SENDGRID_API_KEY=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",
                "sendgrid_key",
                "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",
            ),
            (
                "key: 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 done",
                "sendgrid_key",
                "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",
            ),
            (
                "GITHUB_TOKEN=ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
                "github_token",
                "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
            ),
        ];
        for (text, entity, value) in cases {
            let got = found(text);
            assert!(
                got.iter().any(|(e, v)| e == entity && v == value),
                "{text}: {got:?}"
            );
        }
    }

    #[test]
    fn negatives() {
        for text in [
            "The token is passed to the next function.",
            "token = next_token()",
            "api_key = os.environ['API_KEY']",
            "password: <your password here>",
            "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "postgres://user:${DB_PASSWORD}@localhost/db",
            "Ask the secret santa for a present.",
            "let key = config.api_key;",
            "AKIAAAAAAAAAAAAAAAAA",
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "aws key AKIAI44QH8DHBEXAMPLE from the docs",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "config['api_key'] = 'your-api-key-here'",
            "config[\"password\"] = \"changeme\"",
            "config['api_key'] = 'abcdefghabcdefgh'",
            // 45 characters after the second dot: not a SendGrid key.
            "SG.aB3dE5fG7hJ9kL1mN3pQ5r.sT7uV9wX1yZ3aB5cD7eF9gH1jK3lM5nP7qR9sT1uV3wXX",
        ] {
            let got = found(text);
            assert!(got.is_empty(), "{text}: {got:?}");
        }
        // One finding per value: the provider pattern, not also `generic_secret`.
        for text in [
            "GITHUB_TOKEN=ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
            "export OPENAI_API_KEY=sk-proj-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
            "STRIPE_SECRET_KEY: sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        ] {
            let got = found(text);
            assert_eq!(got.len(), 1, "{text}: {got:?}");
            assert_ne!(got[0].0, "generic_secret", "{text}: {got:?}");
        }
    }

    fn assert_same_as_whole(text: &str) {
        for &mode in Mode::ALL {
            let tv = TextViews::new(text);
            let cfg = SecretsConfig {
                providers: PROVIDERS.to_vec(),
                min_score: 0.0,
            };
            assert_eq!(
                scan_views(&cfg, &tv, mode, false),
                scan_views(&cfg, &tv, mode, true),
                "{mode} {text:?}"
            );
        }
    }

    #[test]
    fn prefilter_and_windows_find_what_the_whole_text_finds() {
        assert_eq!(PATTERNS[GENERIC].entity, "generic_secret");
        assert_eq!(PATTERNS[SERVICE_ACCOUNT].entity, "gcp_service_account");
        for text in [
            "",
            "api_key = \"q8Zr2Lx9Vb4Nm7Kp1Ws6Td3\" and token: abcdef1234567890XYZ",
            "config['api_key'] = 'q8Zr2Lx9Vb4Nm7Kp1Ws6Td3'; x = 1; password=>hunter2hunter",
            "a=pwd=secret123 token = next_token() MY_SECRET_TOKEN:\t\"Zx9vQ2mL8kP4nR7tW1yB\"",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9Kq2mXp0",
            "AWS-SK: \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9Kq2mXp0\"",
            "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=\
             Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;",
            "https://acct.blob.core.windows.net/c?sv=2020&sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789%2B",
            "postgres://app:s3cr3tP4ss@db.internal:5432/prod",
            "token ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5, sk-ant-api03-Ab3De5Fg7Hj9Kl1Mn3Pq5Rs7Tu9Vw1Xy3",
            "credentials]  :  'Xk9#mQ2v!Lr7' private-key=\"-----BEGIN RSA PRIVATE KEY-----\nMIIE\"",
            "apiKey:\n\n   abc:def=ghi123456 SECRET=:=:=== = token ==> x",
            "passwd=été123456 token: ＡＢＣ123456789",
            "{\"type\":  \"service_account\", \"x\": 1} \"type\"\n:\t\"service_account\"",
            "tenant 8Q~abcdefghijklmnopqrstuvwxyz0123456 and Q~ alone",
        ] {
            assert_same_as_whole(text);
        }
    }

    #[test]
    fn prefilter_and_windows_find_what_the_whole_text_finds_in_the_corpus() {
        crate::tests_support::check_corpus_texts(assert_same_as_whole);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]
        #[test]
        fn prefilter_and_windows_find_what_the_whole_text_finds_on_noise(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "api", "_key", "token", "secret", "passw", "ord", "pwd", "auth", "access",
                "private", "credential", "aws", "AccountKey", "sig", "?", "&", "=", ":", "=>",
                " ", "\t", "\n", "\"", "'", "]", "[", ",", ";", "{", "(", "q8Zr2Lx9Vb4N",
                "m7Kp1Ws6Td3", "hunter2", "ghp_", "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
                "sk-", "ant-", "AKIA", "Z3MSJV4WWNKWW5FG", "://", "@", "/", "-", "_", "x",
                "é", "K", "SK2f8a9c0b1d3e4f5a6b7c8d9e0f1a2b3c", "AC", "0123456789abcdef",
                "3Q~", "abc", "service_account", "\"type\"", "eyJ", "-----BEGIN ", "glpat-",
            ][..]), 0..30)
        ) {
            assert_same_as_whole(&parts.concat());
        }
    }

    #[test]
    fn every_pattern_has_a_trigger() {
        for (i, (_, lits)) in TRIGGERS.iter().enumerate() {
            assert!(!lits.is_empty(), "{i}");
        }
        let _ = prefilter();
    }

    /// `generic_groups` against the capture groups of every `generic_secret` match of `text`.
    fn assert_generic_groups(text: &str) {
        let re = PATTERNS[GENERIC].regex.get();
        for caps in re.captures_iter(text) {
            let (Some(all), Some(key), Some(value)) = (caps.get(0), caps.get(1), caps.get(2))
            else {
                panic!("{text:?}: a match without its groups");
            };
            assert_eq!(
                generic_groups(text.as_bytes(), all.start(), all.end()),
                Some(((key.start(), key.end()), (value.start(), value.end()))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn generic_groups_equal_the_capture_groups() {
        for text in [
            "api_key = \"q8Zr2Lx9Vb4Nm7Kp1Ws6Td3\"",
            "config['api_key'] = 'q8Zr2Lx9Vb4Nm7Kp1Ws6Td3'",
            "config[\"password\"] = \"Xk9#mQ2v!Lr7\"",
            "password: hunter2hunter",
            "token==abcdef123 secret=>abcdefgh PWD:  'x:y=z>12' my-token := aaaaaaa",
            "auth_key\t=\t\"\"abcdef\"\" client-secret = :abcdefg apikey=>=>=>aaa",
            "SECRET=123456 secret = 12345 credentials: \"'abcdef'\" access-key ]= abcdefgh",
        ] {
            assert_generic_groups(text);
        }
        for text in crate::tests_support::corpus_texts() {
            if text.is_ascii() {
                assert_generic_groups(&text);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2048, ..Default::default() })]
        #[test]
        fn generic_groups_equal_the_capture_groups_on_noise(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "api_key", "token", "secret", "PWD", "x", "-", "_", "9", " ", "\t", "=", ":",
                "=>", ">", "\"", "'", "]", "[", "abcdef", "Q1w2E3r4", "/", ";", "(", "é",
            ][..]), 0..16)
        ) {
            let text = parts.concat();
            if text.is_ascii() {
                assert_generic_groups(&text);
            }
        }
    }

    /// `is_placeholder` as first written, over a lowercased copy.
    fn is_placeholder_by_copy(v: &str) -> bool {
        let l = v.to_ascii_lowercase();
        PLACEHOLDER_MARKERS.iter().any(|m| l.contains(m))
            || matches!(
                l.as_str(),
                "password" | "true" | "false" | "secret" | "token"
            )
            || l.bytes().all(|b| b == l.as_bytes()[0])
    }

    #[test]
    fn placeholder_test_equals_the_copying_one() {
        for v in [
            "",
            "a",
            "aA",
            "AAAA",
            "Password",
            "TRUE",
            "q8Zr2Lx9Vb4Nm7Kp1Ws6Td3",
            "YOUR_KEY",
            "x${HOME}",
            "Process.Env.KEY",
            "NULLABLE",
            "séCRET",
            "xxx",
            "XxXx",
            "<redacted>",
            "hunter2",
            "Undefined1",
            "token_HERE",
            "é",
            "ÉÉ",
        ] {
            assert_eq!(is_placeholder(v), is_placeholder_by_copy(v), "{v:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn placeholder_test_equals_the_copying_one_on_noise(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "x", "X", "*", "Y", "our", "<", "$", "{", "%", "s", "EXAMPLE", "env", ".", "(",
                "none", "NULL", "true", "a", "9", "é", "_here", "secret", "token", "Pass", "word",
            ][..]), 0..8)
        ) {
            let v = parts.concat();
            proptest::prop_assert_eq!(is_placeholder(&v), is_placeholder_by_copy(&v));
        }
    }

    fn plain_long_tokens(b: &[u8]) -> Vec<(usize, usize)> {
        let mut plain = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if key_byte(b[i]) {
                let s = i;
                while i < b.len() && key_byte(b[i]) {
                    i += 1;
                }
                if i - s >= MIN_TOKEN {
                    plain.push((s, i));
                }
            } else {
                i += 1;
            }
        }
        plain
    }

    #[test]
    fn long_tokens_are_the_long_key_shaped_runs() {
        let text = "short words only, then ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5 and \
                    abcdefghijklmn abcdefghijklmno x-y_z-0123456789ab";
        let b = text.as_bytes();
        assert_eq!(long_tokens(b), plain_long_tokens(b));
        assert_eq!(plain_long_tokens(b).len(), 3);
        // Every alignment and a length around the limit, at the start, middle and end.
        for pad in 0..17 {
            for len in 12..20 {
                let token = "aZ9_-".repeat(4)[..len].to_owned();
                for text in [
                    format!("{}{token}", " ".repeat(pad)),
                    format!("{}{token} is it.", "x ".repeat(pad)),
                    format!("{}{token}", "x.".repeat(pad)),
                ] {
                    let b = text.as_bytes();
                    assert_eq!(long_tokens(b), plain_long_tokens(b), "{text:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn long_tokens_are_the_long_key_shaped_runs_on_noise(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "a", "Z", "9", "_", "-", " ", ".", "/", ",", "abcdefg", "0123456789", "\n",
            ][..]), 0..80)
        ) {
            let text = parts.concat();
            proptest::prop_assert_eq!(long_tokens(text.as_bytes()), plain_long_tokens(text.as_bytes()));
        }
    }

    #[test]
    fn all_patterns_compile() {
        for p in &PATTERNS {
            let _ = p.regex.get();
        }
    }
}
