//! `sentinelai.secrets`: credentials, found by known prefixes and shapes, confirmed by checksums,
//! decoding and entropy.
//!
//! - [`rules`]: the provider rules as a table (prefix, alphabet, length, score, check);
//! - [`prefilter`]: which rules can match a text at all, and on which windows they run;
//! - [`structured`]: checksums (GitHub CRC32, age Bech32), JWT decoding, Docker `auth`, key
//!   blocks;
//! - [`generic`]: values assigned to secret-like names, judged by entropy;
//! - [`placeholders`]: placeholders (never reported) and documentation examples (reported below
//!   the balanced threshold).
//!
//! Vendor tokens with a distinctive prefix (`AKIA…`, `ghp_…`, `xoxb-…`) score high on shape
//! alone, but their random part must still look random (Shannon entropy), so documentation
//! placeholders such as `sk_live_xxxxxxxxxxxxxxxx` do not fire.

pub(crate) mod generic;
pub(crate) mod placeholders;
pub(crate) mod prefilter;
pub(crate) mod rules;
pub(crate) mod structured;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use crate::ast::DetectorCall;
use crate::detect::args::ArgReader;
use crate::detect::context::shannon_entropy;
use crate::detect::windows::{captures_in, find_in};
use crate::detect::{MemoKey, TextViews};
use crate::detect::{RawFinding, push_finding};
use crate::error::CompileError;
use crate::normalize::Family;
use crate::policy::Mode;

use placeholders::{EXAMPLE_SCORE, is_example_key, is_placeholder};
use prefilter::{Candidates, Mask, candidates};
use rules::{Check, GENERIC, RULES, Seen};
use structured::JwtShape;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SecretsConfig {
    providers: Vec<&'static str>,
    /// The rules of `providers` (see [`SecretsConfig::wanted`]), computed once: each scan asks
    /// for them twice.
    wanted: Mask,
    pub min_score: f64,
}

impl SecretsConfig {
    pub(crate) fn all() -> Self {
        SecretsConfig::new(rules::providers().to_vec(), 0.5)
    }

    fn new(providers: Vec<&'static str>, min_score: f64) -> Self {
        let wanted = rules_of(&providers);
        SecretsConfig {
            providers,
            wanted,
            min_score,
        }
    }

    pub(crate) fn from_call(call: &DetectorCall) -> Result<(Self, String), Vec<CompileError>> {
        let mut r = ArgReader::new(call);
        let names = r.names(rules::providers(), "secret provider", |n| match n {
            "google" => Some("gcp"),
            "pem" | "ssh" | "openssh" | "pgp" => Some("private_key"),
            "password" | "passwords" | "url" => Some("connection_string"),
            "hashicorp" => Some("vault"),
            "hugging_face" | "hf" => Some("huggingface"),
            "fly" => Some("flyio"),
            "new_relic" => Some("newrelic"),
            _ => None,
        });
        let min = r.number(&["min_score", "threshold"], 0.0, 1.0);
        r.finish(&["min_score", "threshold"])?;
        let mut cfg = SecretsConfig::all();
        if !names.is_empty() {
            let mut providers = names;
            providers.sort_unstable();
            cfg = SecretsConfig::new(providers, cfg.min_score);
        }
        if let Some(m) = min {
            cfg.min_score = m;
        }
        let key = format!("{}|{}", cfg.providers.join(","), cfg.min_score);
        Ok((cfg, key))
    }

    /// The rules of the chosen providers.
    fn wanted(&self) -> Mask {
        self.wanted
    }
}

/// The rules of `providers`: each provider's rules looked up by name, instead of looking every
/// rule's provider up in the list (thousands of string comparisons).
fn rules_of(providers: &[&'static str]) -> Mask {
    static BY_PROVIDER: std::sync::OnceLock<Vec<(&'static str, Mask)>> = std::sync::OnceLock::new();
    let by_provider = BY_PROVIDER.get_or_init(|| {
        let mut v: Vec<(&'static str, Mask)> = Vec::new();
        for (i, r) in RULES.iter().enumerate() {
            match v.iter_mut().find(|(p, _)| *p == r.provider) {
                Some((_, m)) => *m |= 1 << i,
                None => v.push((r.provider, 1 << i)),
            }
        }
        v.sort_unstable_by_key(|&(p, _)| p);
        v
    });
    // Every provider (`SecretsConfig::all`, the same strings in table order): every rule.
    let all = rules::providers();
    if providers.len() == all.len() && providers.iter().zip(all).all(|(a, b)| std::ptr::eq(*a, *b))
    {
        return Mask::MAX >> (Mask::BITS as usize - RULES.len());
    }
    providers.iter().fold(0, |m, p| {
        by_provider
            .binary_search_by_key(p, |&(q, _)| q)
            .map_or(m, |k| m | by_provider[k].1)
    })
}

pub(crate) fn scan(cfg: &SecretsConfig, tv: &TextViews<'_>, mode: Mode) -> Vec<RawFinding> {
    // The scan depends on the providers only through their rules.
    let key = MemoKey::Secrets(cfg.wanted(), cfg.min_score.to_bits(), mode);
    tv.memo(key, || scan_views(cfg, tv, mode, false))
}

/// The score and explanation of a provider rule's match `value`, or `None` when it is not one.
fn judge(rule: &rules::Rule, value: &str) -> Option<(f64, String)> {
    let what = || format!("{} (known prefix and shape)", rule.id.replace('_', " "));
    let entropy_ok = || rule.min_entropy == 0.0 || shannon_entropy(value) >= rule.min_entropy;
    let scored = match rule.check {
        Check::Shape => {
            if !entropy_ok() {
                return None;
            }
            (rule.base, what())
        }
        Check::GithubCrc => {
            if !entropy_ok() {
                return None;
            }
            if structured::github_checksum_ok(value) {
                (
                    0.99,
                    format!("{} with a valid CRC32 checksum", rule.id.replace('_', " ")),
                )
            } else {
                (
                    rule.base - 0.15,
                    format!(
                        "{} whose checksum does not verify",
                        rule.id.replace('_', " ")
                    ),
                )
            }
        }
        Check::Bech32 => {
            if structured::bech32_ok(value) {
                (
                    0.99,
                    "age secret key with a valid Bech32 checksum".to_owned(),
                )
            } else {
                (
                    rule.base - 0.1,
                    "age secret key shape (checksum does not verify)".to_owned(),
                )
            }
        }
        Check::Jwt => match structured::jwt_shape(value) {
            JwtShape::Valid => (
                0.95,
                "JSON Web Token: JSON header with `alg`, JSON payload".to_owned(),
            ),
            JwtShape::HeaderOnly => (0.7, "JSON Web Token with a decodable header".to_owned()),
            JwtShape::Invalid => (0.4, "JSON Web Token shape that does not decode".to_owned()),
        },
        Check::UrlPassword => {
            if is_placeholder(value) || value.len() < 3 {
                return None;
            }
            (rule.base, "password embedded in a URL".to_owned())
        }
        Check::DockerAuth => {
            if structured::docker_auth_ok(value) {
                (
                    0.95,
                    "Docker config `auth`: base64 of user:password".to_owned(),
                )
            } else if value.len() >= 20 && shannon_entropy(value) >= 3.5 && !is_placeholder(value) {
                (rule.base, "Docker config credential".to_owned())
            } else {
                return None;
            }
        }
        Check::ConfigValue => {
            if is_placeholder(value) || !entropy_ok() {
                return None;
            }
            (
                rule.base,
                format!(
                    "credential in a config file ({})",
                    rule.id.replace('_', " ")
                ),
            )
        }
        Check::PrivateKey => {
            if !structured::key_body_ok(value) {
                return None;
            }
            (rule.base, "private key block".to_owned())
        }
        Check::Generic | Check::Flag => return None,
    };
    // `AKIAIOSFODNN7EXAMPLE` and friends: documentation keys, kept below the threshold.
    if is_example_key(value) {
        return Some((
            EXAMPLE_SCORE,
            format!("{} (a documentation example)", scored.1),
        ));
    }
    Some(scored)
}

/// `scan`, or with `whole` the reference behaviour that runs every wanted rule over the whole
/// text (the differential tests compare the two).
fn scan_views(cfg: &SecretsConfig, tv: &TextViews<'_>, mode: Mode, whole: bool) -> Vec<RawFinding> {
    let mut out = Vec::new();
    let wanted = cfg.wanted();
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
        let bytes = text.as_bytes();
        for (i, rule) in RULES.iter().enumerate() {
            if cands.mask & (1 << i) == 0 {
                continue;
            }
            let windows = if i == GENERIC {
                cands.generic.as_deref()
            } else if rule.seen == Seen::Token && rule.windowed {
                cands.tokens.as_deref()
            } else {
                None
            };
            // The value's span and, for `generic_secret`, the key's. A rule whose value is the
            // whole match is searched without capture groups (the same matches, found by the
            // faster engines).
            let re = rule.regex.get();
            let found: Vec<((usize, usize), &str)> = if rule.group == 0 {
                find_in(re, text, windows)
                    .map(|m| ((m.start(), m.end()), ""))
                    .collect()
            } else if i == GENERIC && text.is_ascii() {
                find_in(re, text, windows)
                    .filter_map(|m| {
                        if let Some((key, value)) =
                            generic::generic_groups(bytes, m.start(), m.end())
                        {
                            return Some((value, &text[key.0..key.1]));
                        }
                        // Not reached (see `generic_groups`); the capture engines decide.
                        let caps = re.captures_at(text, m.start())?;
                        let (key, value) = (caps.get(1)?, caps.get(2)?);
                        Some(((value.start(), value.end()), key.as_str()))
                    })
                    .collect()
            } else {
                captures_in(re, text, windows)
                    .filter_map(|caps| {
                        let m = caps.get(rule.group).or_else(|| caps.get(0))?;
                        let key = if i == GENERIC {
                            caps.get(1).map_or("", |k| k.as_str())
                        } else if rule.check == Check::Flag {
                            // The flag, up to the value.
                            caps.get(0).map_or("", |all| &text[all.start()..m.start()])
                        } else {
                            ""
                        };
                        Some(((m.start(), m.end()), key))
                    })
                    .collect()
            };
            for ((ms, me), key) in found {
                let value = &text[ms..me];
                let judged = if i == GENERIC || rule.check == Check::Flag {
                    generic::score(
                        key,
                        value,
                        ms.checked_sub(1).map(|p| bytes[p]),
                        bytes.get(me).copied(),
                    )
                } else {
                    judge(rule, value)
                };
                let Some((score, why)) = judged else {
                    continue;
                };
                let (s, e) = view.original_span(ms, me);
                push_finding(
                    &mut out,
                    RawFinding {
                        entity: Cow::Borrowed(rule.entity),
                        start: s,
                        end: e,
                        score,
                        explanation: why.into(),
                    },
                );
            }
        }
    }
    // A provider rule already names the value (`GITHUB_TOKEN=ghp_…`): the generic `key=value`
    // rule would only report the same span a second time. The same holds for a bearer token
    // or a URL password that a provider rule names.
    let named: Vec<(usize, usize)> = out
        .iter()
        .filter(|f| !is_fallback(&f.entity))
        .map(|f| (f.start, f.end))
        .collect();
    out.retain(|f| {
        !is_fallback(&f.entity) || !named.iter().any(|&(s, e)| s < f.end && f.start < e)
    });
    let generic: Vec<(usize, usize)> = out
        .iter()
        .filter(|f| f.entity == "bearer_token" || f.entity == "connection_string_password")
        .map(|f| (f.start, f.end))
        .collect();
    out.retain(|f| {
        f.entity != "generic_secret" || !generic.iter().any(|&(s, e)| s < f.end && f.start < e)
    });
    // Only now the threshold: a documentation example below it still keeps the generic rule
    // from reporting its value.
    out.retain(|f| f.score >= cfg.min_score);
    out
}

/// Entities that give way to a provider rule reporting an overlapping span.
fn is_fallback(entity: &str) -> bool {
    matches!(
        entity,
        "generic_secret"
            | "bearer_token"
            | "connection_string_password"
            | "npmrc_auth"
            | "maven_password"
    )
}
