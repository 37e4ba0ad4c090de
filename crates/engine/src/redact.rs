//! Interventions: the `intervention_config` JSON and redaction of findings out of a text.
//!
//! Overlapping findings are merged before replacing, so a redacted text never contains any part
//! of a detected span (except, by request, the last four characters in `partial` style).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::policy::ParseEnumError;

/// How a redacted span is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedactStyle {
    /// `[EMAIL_1]`; the same value gets the same number within a text.
    #[default]
    Placeholder,
    /// Every non-space character becomes `*`.
    Mask,
    /// Letters and digits become `*` except the last four (`****-****-****-4242`); values with
    /// fewer than eight letters and digits are masked completely.
    Partial,
    /// `[EMAIL:3f2a9c]`: a stable 24-bit FNV-1a digest of the value, for correlating repeats.
    Hash,
    /// `<EMAIL_1>`: like `placeholder`, numbered across a whole gateway request, and restored to
    /// the original value in the model's answer before the client sees it ([`Restorer`]). The
    /// model never reads the value. Outside the gateway it redacts like `placeholder`.
    Pseudonymise,
}

impl RedactStyle {
    pub const ALL: &'static [RedactStyle] = &[
        RedactStyle::Placeholder,
        RedactStyle::Mask,
        RedactStyle::Partial,
        RedactStyle::Hash,
        RedactStyle::Pseudonymise,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            RedactStyle::Placeholder => "placeholder",
            RedactStyle::Mask => "mask",
            RedactStyle::Partial => "partial",
            RedactStyle::Hash => "hash",
            RedactStyle::Pseudonymise => "pseudonymise",
        }
    }
}

impl fmt::Display for RedactStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RedactStyle {
    type Err = ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RedactStyle::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ParseEnumError {
                kind: "redaction style",
                value: s.to_owned(),
                expected: "placeholder mask partial hash pseudonymise",
            })
    }
}

/// A policy's parsed `intervention_config`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct InterventionConfig {
    pub redact: RedactStyle,
    /// Shown to the caller when the policy blocks.
    pub block_message: Option<String>,
}

impl InterventionConfig {
    /// Parse the JSON text. Accepted keys: `redact` (a style name, or `true`), also spelled
    /// `style` / `redact_style` / `redaction`, and `block_message` (also `message`).
    /// Unknown keys are ignored; a style that is not a known name is an error.
    pub fn parse(json: Option<&str>) -> Result<Self, String> {
        let Some(json) = json
            .map(str::trim)
            .filter(|j| !j.is_empty() && *j != "null")
        else {
            return Ok(InterventionConfig::default());
        };
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| format!("intervention_config is not valid JSON: {e}"))?;
        let Some(obj) = value.as_object() else {
            return Err("intervention_config must be a JSON object".to_owned());
        };
        let mut cfg = InterventionConfig::default();
        for key in ["redact", "style", "redact_style", "redaction"] {
            match obj.get(key) {
                Some(serde_json::Value::String(s)) => {
                    cfg.redact = s
                        .to_ascii_lowercase()
                        .parse()
                        .map_err(|e: ParseEnumError| e.to_string())?
                }
                Some(serde_json::Value::Bool(_)) | None => {}
                Some(other) => {
                    return Err(format!(
                        "`{key}` must be a redaction style name, found {other}"
                    ));
                }
            }
        }
        for key in ["block_message", "message"] {
            if let Some(serde_json::Value::String(s)) = obj.get(key) {
                cfg.block_message = Some(s.clone());
            }
        }
        Ok(cfg)
    }

    /// Like `parse`, falling back to the defaults when the text is malformed: a broken config
    /// must never stop a policy from being enforced.
    pub fn parse_lenient(json: Option<&str>) -> Self {
        Self::parse(json).unwrap_or_default()
    }
}

/// 64-bit FNV-1a.
///
/// Why FNV-1a and not `std`'s hasher or a cryptographic hash: the digest appears in stored,
/// redacted text and must be identical across processes, machines and releases (std's SipHash
/// is randomly keyed and its algorithm is unspecified), and a 24-bit excerpt used only to tell
/// repeated values apart needs no cryptographic strength, so no extra dependency. It is not a
/// secrecy measure: a low-entropy value could be brute-forced from its digest, so use `mask`
/// or `placeholder` where that matters.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn label(entity: &str) -> String {
    let l: String = entity
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if l.is_empty() {
        "REDACTED".to_owned()
    } else {
        l
    }
}

fn mask(value: &str, keep_last: usize) -> String {
    let alnum = value.chars().filter(|c| c.is_alphanumeric()).count();
    let keep_from = if keep_last > 0 && alnum >= 8 {
        alnum - keep_last
    } else {
        usize::MAX
    };
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if c.is_whitespace() || (keep_last > 0 && !c.is_alphanumeric()) {
                return c;
            }
            let keep = c.is_alphanumeric() && seen >= keep_from;
            if c.is_alphanumeric() {
                seen += 1;
            }
            if keep { c } else { '*' }
        })
        .collect()
}

/// Replace every finding's span in `text`. Spans that are out of range or not on char
/// boundaries are ignored; overlapping spans are merged and labelled by their strongest finding.
pub fn redact(text: &str, findings: &[Finding], style: RedactStyle) -> String {
    Redactor::new(style).redact(text, findings)
}

/// Redaction that remembers its numbering across texts: a value keeps its placeholder through
/// every message of a request and every segment of a stream, and in `pseudonymise` style the
/// placeholders can be turned back into their values ([`Redactor::restorer`]).
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    style: RedactStyle,
    /// `(label, value)` → number.
    numbers: HashMap<(String, String), usize>,
    /// Label → the last number given.
    counters: HashMap<String, usize>,
    /// Pseudonymise only: placeholder → value.
    originals: HashMap<String, String>,
}

impl Redactor {
    pub fn new(style: RedactStyle) -> Self {
        Redactor {
            style,
            ..Redactor::default()
        }
    }

    /// Replace every finding's span in `text` (see [`redact`]).
    pub fn redact(&mut self, text: &str, findings: &[Finding]) -> String {
        let spans: Vec<(usize, usize, &str, f64)> = findings
            .iter()
            .map(|f| (f.start, f.end, &*f.entity, f.score))
            .collect();
        self.redact_spans(text, spans)
    }

    /// [`Redactor::redact`] over `(start, end, entity, score)` spans.
    pub(crate) fn redact_spans(
        &mut self,
        text: &str,
        mut spans: Vec<(usize, usize, &str, f64)>,
    ) -> String {
        spans.retain(|&(s, e, _, _)| {
            s < e && e <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(e)
        });
        spans.sort_by_key(|s| (s.0, s.1));
        let mut merged: Vec<(usize, usize, &str, f64)> = Vec::with_capacity(spans.len());
        for s in spans {
            match merged.last_mut() {
                Some(last) if s.0 < last.1 => {
                    last.1 = last.1.max(s.1);
                    if s.3 > last.3 {
                        last.2 = s.2;
                        last.3 = s.3;
                    }
                }
                _ => merged.push(s),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (s, e, entity, _) in merged {
            out.push_str(&text[at..s]);
            let value = &text[s..e];
            match self.style {
                RedactStyle::Placeholder => {
                    let n = self.number(entity, value);
                    out.push_str(&format!("[{}_{n}]", label(entity)));
                }
                RedactStyle::Pseudonymise => {
                    let n = self.number(entity, value);
                    let placeholder = format!("<{}_{n}>", label(entity));
                    out.push_str(&placeholder);
                    self.originals.insert(placeholder, value.to_owned());
                }
                RedactStyle::Mask => out.push_str(&mask(value, 0)),
                RedactStyle::Partial => out.push_str(&mask(value, 4)),
                RedactStyle::Hash => out.push_str(&format!(
                    "[{}:{:06x}]",
                    label(entity),
                    fnv1a(value.as_bytes()) & 0x00ff_ffff
                )),
            }
            at = e;
        }
        out.push_str(&text[at..]);
        out
    }

    /// The number of `value` among the values of its label, given on first sight.
    fn number(&mut self, entity: &str, value: &str) -> usize {
        let key = (label(entity), value.to_owned());
        if let Some(n) = self.numbers.get(&key) {
            return *n;
        }
        let c = self.counters.entry(key.0.clone()).or_insert(0);
        *c += 1;
        let n = *c;
        self.numbers.insert(key, n);
        n
    }

    /// A restorer of the pseudonyms given so far (none unless the style is `pseudonymise`).
    pub fn restorer(&self) -> Restorer {
        Restorer::new(self.originals.clone())
    }
}

/// Turns `<EMAIL_1>`-style pseudonyms back into their values in a text that arrives in pieces.
/// A piece that ends inside what could still become a pseudonym (`…<EMA`) is held until the
/// next piece decides it, so a pseudonym split across chunks is restored all the same.
#[derive(Debug, Clone, Default)]
pub struct Restorer {
    originals: HashMap<String, String>,
    longest: usize,
    carry: String,
    restored: usize,
}

impl Restorer {
    pub fn new(originals: HashMap<String, String>) -> Self {
        let longest = originals.keys().map(String::len).max().unwrap_or(0);
        Restorer {
            originals,
            longest,
            carry: String::new(),
            restored: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.originals.is_empty()
    }

    /// How many pseudonyms it has put back so far.
    pub fn restored(&self) -> usize {
        self.restored
    }

    /// The restored text that can be released now.
    pub fn push(&mut self, piece: &str) -> String {
        if self.originals.is_empty() {
            return piece.to_owned();
        }
        let mut text = std::mem::take(&mut self.carry);
        text.push_str(piece);
        let keep_from = self.partial_tail(&text);
        self.carry = text[keep_from..].to_owned();
        self.restore(&text[..keep_from])
    }

    /// Whatever is still held, restored where it can be.
    pub fn finish(&mut self) -> String {
        let text = std::mem::take(&mut self.carry);
        self.restore(&text)
    }

    /// Where a trailing prefix of some pseudonym starts, or `text.len()`.
    fn partial_tail(&self, text: &str) -> usize {
        // A pseudonym is ASCII, so a byte search is exact.
        let window_start = text.len().saturating_sub(self.longest);
        let Some(lt) = text.as_bytes()[window_start..]
            .iter()
            .rposition(|&b| b == b'<')
        else {
            return text.len();
        };
        let at = window_start + lt;
        let tail = &text[at..];
        if tail.contains('>') {
            return text.len();
        }
        if self.originals.keys().any(|p| p.starts_with(tail)) {
            at
        } else {
            text.len()
        }
    }

    fn restore(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(lt) = rest.find('<') {
            out.push_str(&rest[..lt]);
            let candidate = &rest[lt..];
            let end = candidate
                .bytes()
                .take(self.longest)
                .position(|b| b == b'>')
                .map(|gt| gt + 1);
            match end.and_then(|e| self.originals.get(&candidate[..e]).map(|v| (e, v))) {
                Some((e, value)) => {
                    out.push_str(value);
                    self.restored += 1;
                    rest = &candidate[e..];
                }
                None => {
                    out.push('<');
                    rest = &candidate[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Target;

    fn f(text: &str, value: &str, entity: &str) -> Finding {
        let start = text.find(value).unwrap_or(0);
        Finding::new(
            "pii",
            entity,
            Target::Prompt,
            text,
            start,
            start + value.len(),
            0.9,
            String::new(),
        )
    }

    #[test]
    fn styles() {
        let text = "mail a@b.io or a@b.io, card 4242-4242-4242-4242, mail c@d.io";
        let a = text.find("a@b.io").unwrap_or(0);
        let second = text[a + 1..].find("a@b.io").map_or(0, |p| p + a + 1);
        let fs = vec![
            f(text, "a@b.io", "email"),
            Finding::new(
                "pii",
                "email",
                Target::Prompt,
                text,
                second,
                second + 6,
                0.9,
                String::new(),
            ),
            f(text, "4242-4242-4242-4242", "credit_card"),
            f(text, "c@d.io", "email"),
        ];
        assert_eq!(
            redact(text, &fs, RedactStyle::Placeholder),
            "mail [EMAIL_1] or [EMAIL_1], card [CREDIT_CARD_1], mail [EMAIL_2]"
        );
        assert_eq!(
            redact(text, &fs, RedactStyle::Mask),
            "mail ****** or ******, card *******************, mail ******"
        );
        assert!(redact(text, &fs, RedactStyle::Partial).contains("card ****-****-****-4242,"));
        let hashed = redact(text, &fs, RedactStyle::Hash);
        assert!(hashed.starts_with("mail [EMAIL:"), "{hashed}");
        assert_eq!(
            hashed
                .matches(&format!("[EMAIL:{:06x}]", fnv1a(b"a@b.io") & 0xff_ffff))
                .count(),
            2
        );
    }

    #[test]
    fn overlapping_findings_merge() {
        let text = "key=abcdef123456 end";
        let fs = vec![
            Finding::new(
                "secrets",
                "generic_secret",
                Target::Prompt,
                text,
                4,
                16,
                0.7,
                String::new(),
            ),
            Finding::new(
                "pii",
                "phone",
                Target::Prompt,
                text,
                10,
                16,
                0.4,
                String::new(),
            ),
            Finding::new("pii", "x", Target::Prompt, text, 2, 6, 0.2, String::new()),
        ];
        assert_eq!(
            redact(text, &fs, RedactStyle::Placeholder),
            "ke[GENERIC_SECRET_1] end"
        );
    }

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn config_parsing() {
        let cases = [
            (None, Ok(RedactStyle::Placeholder)),
            (Some(r#"{"redact":"mask"}"#), Ok(RedactStyle::Mask)),
            (
                Some(r#"{"style":"HASH","block_message":"no"}"#),
                Ok(RedactStyle::Hash),
            ),
            (Some(r#"{"redact":true}"#), Ok(RedactStyle::Placeholder)),
            (Some(r#"{"redact":"shred"}"#), Err(())),
            (Some("not json"), Err(())),
        ];
        for (json, expected) in cases {
            assert_eq!(
                InterventionConfig::parse(json)
                    .map(|c| c.redact)
                    .map_err(|_| ()),
                expected,
                "{json:?}"
            );
        }
        assert_eq!(
            InterventionConfig::parse(Some(r#"{"block_message":"stop"}"#))
                .ok()
                .and_then(|c| c.block_message)
                .as_deref(),
            Some("stop")
        );
        assert_eq!(
            InterventionConfig::parse_lenient(Some("{")),
            InterventionConfig::default()
        );
    }
}
