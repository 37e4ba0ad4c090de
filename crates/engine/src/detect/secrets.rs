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

fn is_placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    const MARKERS: [&str; 22] = [
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
    MARKERS.iter().any(|m| l.contains(m))
        || matches!(
            l.as_str(),
            "password" | "true" | "false" | "secret" | "token"
        )
        || l.bytes().all(|b| b == l.as_bytes()[0])
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

/// Literals at least one of which every match of `PATTERNS[i]` contains: (case-sensitive,
/// ASCII-case-insensitive). The second list is for the `(?i)` patterns.
const TRIGGERS: [(&[&str], &[&str]); 21] = [
    (&["AKIA", "ASIA", "ABIA", "ACCA"], &[]),
    (&[], &["aws"]),
    (&["AIza"], &[]),
    (&["service_account"], &[]),
    (&[], &["accountkey="]),
    (&["Q~"], &[]),
    (&[], &["sig="]),
    (
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        &[],
    ),
    (&["glpat-"], &[]),
    (&["xox"], &[]),
    (&["hooks.slack.com/services/"], &[]),
    (&["sk_live_", "sk_test_", "rk_live_", "rk_test_"], &[]),
    (&["sk-ant-"], &[]),
    (&["sk-"], &[]),
    (&["SK"], &[]),
    (&["SG."], &[]),
    (&["-----BEGIN "], &[]),
    (&["eyJ"], &[]),
    (&["://"], &[]),
    (
        &[],
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
    (&["AC"], &[]),
];

/// The combined prefilter: one pass of two Aho-Corasick automata over the text says which
/// patterns can match at all.
struct Prefilter {
    exact: aho_corasick::AhoCorasick,
    exact_pattern: Vec<u32>,
    folded: aho_corasick::AhoCorasick,
    folded_pattern: Vec<u32>,
    /// Patterns with a case-insensitive trigger.
    folded_mask: u32,
}

#[expect(
    clippy::expect_used,
    reason = "static literals written in this crate; built by the unit tests"
)]
fn prefilter() -> &'static Prefilter {
    static P: std::sync::OnceLock<Prefilter> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let mut exact = (Vec::new(), Vec::new());
        let mut folded = (Vec::new(), Vec::new());
        let mut folded_mask = 0;
        for (i, (cs, ci)) in TRIGGERS.iter().enumerate() {
            for t in *cs {
                exact.0.push(*t);
                exact.1.push(i as u32);
            }
            for t in *ci {
                folded.0.push(*t);
                folded.1.push(i as u32);
                folded_mask |= 1 << i;
            }
        }
        let build = |words: &[&str], ci: bool| {
            aho_corasick::AhoCorasickBuilder::new()
                .ascii_case_insensitive(ci)
                .match_kind(aho_corasick::MatchKind::Standard)
                .build(words)
                .expect("secret triggers build")
        };
        Prefilter {
            exact: build(&exact.0, false),
            exact_pattern: exact.1,
            folded: build(&folded.0, true),
            folded_pattern: folded.1,
            folded_mask,
        }
    })
}

/// Bit `i` set when `PATTERNS[i]` may match `text`.
fn candidates(text: &str, wanted: u32) -> u32 {
    let p = prefilter();
    let mut mask = 0u32;
    let exact_wanted = wanted & !p.folded_mask;
    if exact_wanted != 0 {
        for m in p.exact.find_overlapping_iter(text) {
            mask |= 1 << p.exact_pattern[m.pattern().as_usize()];
            if mask & exact_wanted == exact_wanted {
                break;
            }
        }
    }
    let folded_wanted = wanted & p.folded_mask;
    if folded_wanted != 0 {
        if text.is_ascii() {
            // `(?i)` in Unicode mode also folds `K` (Kelvin) and `ſ` to ASCII letters, so the
            // ASCII-folding automaton is only exact on ASCII text.
            for m in p.folded.find_overlapping_iter(text) {
                mask |= 1 << p.folded_pattern[m.pattern().as_usize()];
                if mask & folded_wanted == folded_wanted {
                    break;
                }
            }
        } else {
            mask |= folded_wanted;
        }
    }
    mask & wanted
}

pub(crate) fn scan(cfg: &SecretsConfig, tv: &TextViews<'_>, mode: Mode) -> Vec<RawFinding> {
    let mut out = Vec::new();
    let wanted = PATTERNS
        .iter()
        .enumerate()
        .filter(|(_, p)| cfg.providers.contains(&p.provider))
        .fold(0u32, |m, (i, _)| m | 1 << i);
    for view in tv.views(mode, Family::Pattern) {
        let text = view.text;
        let mask = candidates(text, wanted);
        if mask == 0 {
            continue;
        }
        for (i, p) in PATTERNS.iter().enumerate() {
            if mask & (1 << i) == 0 {
                continue;
            }
            for caps in p.regex.get().captures_iter(text) {
                let Some(m) = caps.get(p.group).or_else(|| caps.get(0)) else {
                    continue;
                };
                let value = m.as_str();
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
                        let key = caps.get(1).map_or("", |k| k.as_str()).to_ascii_lowercase();
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
                let (s, e) = view.original_span(m.start(), m.end());

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

    #[test]
    fn every_pattern_has_a_trigger() {
        for (i, (cs, ci)) in TRIGGERS.iter().enumerate() {
            assert!(!cs.is_empty() || !ci.is_empty(), "{i}");
        }
        let _ = prefilter();
    }

    #[test]
    fn all_patterns_compile() {
        for p in &PATTERNS {
            let _ = p.regex.get();
        }
    }
}
