//! `generic_secret`: a value assigned to a secret-like name (`api_key=`, `token:`, `"password":`,
//! `--client-secret=`), in code, YAML, JSON, env files and command lines.
//!
//! The name alone is weak evidence: code is full of `token = next_token()` and
//! `password: String`. So a value is reported only when it is not a placeholder and not code,
//! and, except for passwords, when it looks random: long enough, high Shannon entropy, a digit
//! (or a long mixed-case base64 run). A bare `key`/`auth` name needs more randomness than a
//! `secret`/`token`/`api_key` one.

use crate::detect::context::shannon_entropy;
use crate::detect::secrets::placeholders::is_placeholder;

/// Bytes of a key in `generic_secret` (`[a-z0-9_\-]`, any case).
pub(crate) fn key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// Bytes of a value in `generic_secret` (`[^\s"',;{}()\[\]<>]`), for ASCII text.
pub(crate) fn value_byte(c: u8) -> bool {
    !is_space(c)
        && !matches!(
            c,
            b'"' | b'\'' | b',' | b';' | b'{' | b'}' | b'(' | b')' | b'[' | b']' | b'<' | b'>'
        )
}

/// ASCII `\s`.
pub(crate) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The key (group 1) and value (group 2) of the `generic_secret` match `ms..me` of an ASCII
/// text, read from the match instead of running the capture engines: the same groups
/// (differential tests in `super::tests`).
///
/// Why: after the key come `["']?\]?\s*(?:=|:|=>)`, none of them a key byte, so the key is the
/// run of key bytes `[a-z0-9_-]` (any case) at the start of the match. Then each optional quote
/// or `]` is taken when present and the spaces all taken (giving one back leaves a byte that
/// nothing after it can match); the separators are tried in the regex's order, `=`, `:`, `=>`,
/// each followed by spaces, an optional quote (taken when present, as before) and a value of at
/// least 6 value bytes running to the match's end (the value's class has neither spaces nor
/// quotes, and its greedy repeat ends where the match does). `None` if the reading fails, which
/// cannot happen for a match.
pub(crate) fn generic_groups(
    b: &[u8],
    ms: usize,
    me: usize,
) -> Option<((usize, usize), (usize, usize))> {
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

/// Values that are code, not literals: `self.x`, `a::b`, `$VAR`, `&str`, `obj.attr`.
fn looks_like_code(v: &str) -> bool {
    v.starts_with("self.")
        || v.starts_with("this.")
        || v.contains("::")
        || v.starts_with('$')
        || v.starts_with('&')
        || v.starts_with('@')
        || v.ends_with('.')
        || is_attribute_path(v)
}

/// `args.password`, `cfg.auth.token`: identifiers joined by dots.
fn is_attribute_path(v: &str) -> bool {
    v.contains('.')
        && v.split('.').all(|p| {
            p.bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
                && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        })
}

/// An identifier: letters, digits and `_`, starting with a letter or `_`.
fn is_identifier(v: &str) -> bool {
    v.bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Secret-like names that are strong evidence on their own (lowercase, `-` read as `_`).
const STRONG_NAMES: [&str; 11] = [
    "api_key",
    "apikey",
    "secret",
    "token",
    "access_key",
    "accesskey",
    "auth_key",
    "private_key",
    "privatekey",
    "credential",
    "client_secret",
];

/// The score and explanation of `value` assigned to `key`, or `None` when it is not reported.
/// `before`/`after` are the bytes around the value (a quote, a `(` of a call).
pub(crate) fn score(
    key: &str,
    value: &str,
    before: Option<u8>,
    after: Option<u8>,
) -> Option<(f64, String)> {
    if is_placeholder(value) || looks_like_code(value) || matches!(after, Some(b'(' | b'<' | b'['))
    {
        return None;
    }
    let quoted = matches!(before, Some(b'"' | b'\''));
    let key = key.to_ascii_lowercase().replace('-', "_");
    let password_like = key.contains("pass") || key.contains("pwd");
    if password_like {
        if !quoted && is_identifier(value) {
            let lower = value.to_ascii_lowercase();
            // `password: String,`, `password = db_password`, `pwd=self_pwd)`: code, not a value.
            let type_name = value.as_bytes()[0].is_ascii_uppercase()
                && value.bytes().skip(1).all(|c| c.is_ascii_alphabetic())
                && value.bytes().any(|c| c.is_ascii_lowercase());
            if type_name
                || lower.contains("pass")
                || lower.contains("pwd")
                || matches!(after, Some(b',' | b')' | b';'))
            {
                return None;
            }
        }
        return Some((
            if value.len() >= 8 { 0.75 } else { 0.6 },
            format!("password assigned to `{key}`"),
        ));
    }
    let strong = STRONG_NAMES.iter().any(|n| key.contains(n));
    if value.contains("://") || value.starts_with('/') || value.starts_with("./") {
        return None;
    }
    let entropy = shannon_entropy(value);
    let digit = value.bytes().any(|b| b.is_ascii_digit());
    let mixed = value.bytes().any(|b| b.is_ascii_uppercase())
        && value.bytes().any(|b| b.is_ascii_lowercase());
    let hex = value.bytes().all(|b| b.is_ascii_hexdigit());
    let random = if strong {
        value.len() >= 16
            && entropy >= 3.5
            && (digit || (mixed && value.len() >= 24 && entropy >= 4.2))
    } else {
        // A bare `key`/`auth`: a long mixed-case random run, not a hex digest.
        value.len() >= 20 && entropy >= 4.0 && digit && mixed && !hex
    };
    if !random {
        return None;
    }
    Some((
        (0.6 + (entropy - 3.5) * 0.2).min(0.9),
        format!("high-entropy value ({entropy:.1} bits/char) assigned to `{key}`"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_code_are_not_values() {
        assert!(score("password", "String", None, Some(b',')).is_none());
        assert!(score("password", "db_password", None, Some(b'\n')).is_none());
        assert!(score("password", "args.password", None, None).is_none());
        assert!(score("password", "Option", None, Some(b'<')).is_none());
        assert!(score("password", "hunter2hunter", None, None).is_some());
        assert!(score("password", "String", Some(b'"'), Some(b'"')).is_some());
    }

    #[test]
    fn random_values_need_a_strong_name_or_more_randomness() {
        let v = "q8Zr2Lx9Vb4Nm7Kp1Ws6Td3";
        assert!(score("api_key", v, Some(b'"'), Some(b'"')).is_some());
        assert!(score("signing_key", v, Some(b'"'), Some(b'"')).is_some());
        // A hex digest under a bare `key` name is a cache key, not a secret.
        let digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert!(score("cache_key", digest, Some(b'"'), Some(b'"')).is_none());
        assert!(score("secret", digest, Some(b'"'), Some(b'"')).is_some());
        assert!(score("token", "next_token", None, Some(b'(')).is_none());
        assert!(score("api_key", "https://example.org/x1", None, None).is_none());
    }
}
