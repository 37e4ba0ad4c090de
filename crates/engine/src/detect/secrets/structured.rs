//! Structural checks of secrets that carry their own evidence: checksums (GitHub, age), decodable
//! JSON (JWT), a decodable `user:password` (Docker), a key block with a body.

use base64::Engine as _;

/// Base62 as GitHub's token checksum writes it.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// CRC-32 (IEEE, reflected), bit by bit: the inputs are 30 bytes.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Whether a `ghp_…`-style token (prefix, 30 random base62, 6 base62 of the CRC32 of the 30)
/// carries a valid checksum.
pub(crate) fn github_checksum_ok(token: &str) -> bool {
    let Some((_, body)) = token.split_once('_') else {
        return false;
    };
    let b = body.as_bytes();
    if b.len() != 36 {
        return false;
    }
    let (random, check) = b.split_at(30);
    let mut n = crc32(random);
    let mut want = [b'0'; 6];
    for slot in want.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    want == check
}

/// Whether an `AGE-SECRET-KEY-1…` key has a valid Bech32 checksum (BIP-173, over the lowercase
/// form with the human-readable part `age-secret-key-`).
pub(crate) fn bech32_ok(key: &str) -> bool {
    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let lower = key.to_ascii_lowercase();
    let Some(sep) = lower.rfind('1') else {
        return false;
    };
    let (hrp, data) = (&lower[..sep], &lower[sep + 1..]);
    let mut values: Vec<u8> = hrp.bytes().map(|c| c >> 5).collect();
    values.push(0);
    values.extend(hrp.bytes().map(|c| c & 31));
    for c in data.bytes() {
        match CHARSET.iter().position(|x| *x == c) {
            Some(v) => values.push(v as u8),
            None => return false,
        }
    }
    let mut chk = 1u32;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk == 1
}

/// The JSON object a base64url segment decodes to (padding tolerated).
fn json_segment(seg: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(seg.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice::<serde_json::Value>(&bytes).ok()? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

/// How far a JWT-shaped value validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwtShape {
    /// Header is a JSON object with a string `alg`, payload a JSON object.
    Valid,
    /// Only the header is.
    HeaderOnly,
    /// Neither decodes as such.
    Invalid,
}

pub(crate) fn jwt_shape(token: &str) -> JwtShape {
    let mut parts = token.split('.');
    let (Some(head), Some(payload)) = (parts.next(), parts.next()) else {
        return JwtShape::Invalid;
    };
    let header_ok = json_segment(head).is_some_and(|h| h.get("alg").is_some_and(|a| a.is_string()));
    if !header_ok {
        return JwtShape::Invalid;
    }
    if json_segment(payload).is_some() {
        JwtShape::Valid
    } else {
        JwtShape::HeaderOnly
    }
}

/// Whether a Docker `auth` value is base64 of `user:password` with both parts present.
pub(crate) fn docker_auth_ok(v: &str) -> bool {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(v) else {
        return false;
    };
    let Ok(s) = String::from_utf8(bytes) else {
        return false;
    };
    s.split_once(':')
        .is_some_and(|(u, p)| !u.is_empty() && !p.is_empty() && !s.contains(char::is_control))
}

/// Whether a private key block has a body: at least 16 base64 characters after its header
/// line (a `BEGIN … PRIVATE KEY` string constant in code has none).
pub(crate) fn key_body_ok(block: &str) -> bool {
    if block.starts_with("PuTTY") {
        let body = block.split("Private-Lines:").nth(1).unwrap_or("");
        return body.bytes().filter(u8::is_ascii_alphanumeric).count() >= 16;
    }
    let body = match block.find("-----\n").or_else(|| block.find("-----\\n")) {
        Some(i) => &block[i + 5..],
        None => match block.get(11..).and_then(|b| b.find("-----")) {
            Some(i) => &block[11 + i + 5..],
            None => "",
        },
    };
    let body = body.split("-----END").next().unwrap_or("");
    // PuTTY files carry their body after `Private-Lines:`; count every base64 byte then.
    body.bytes()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/'))
        .count()
        >= 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn github_checksums() {
        let random = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1";
        let mut n = crc32(random.as_bytes());
        let mut tail = [b'0'; 6];
        for slot in tail.iter_mut().rev() {
            *slot = BASE62[(n % 62) as usize];
            n /= 62;
        }
        let good = format!("ghp_{random}{}", String::from_utf8_lossy(&tail));
        assert!(github_checksum_ok(&good), "{good}");
        let mut bad = good.clone().into_bytes();
        bad[10] = if bad[10] == b'x' { b'y' } else { b'x' };
        assert!(!github_checksum_ok(&String::from_utf8_lossy(&bad)));
        assert!(!github_checksum_ok("ghp_short"));
    }

    #[test]
    fn bech32_checksums() {
        // A random key with its checksum, from scripts/quality/secrets_formats.py (`age_key`).
        let key = "AGE-SECRET-KEY-1GYS8LU7CDXLPCMQU3WX5PPPQCDMPWULWKWWAJP6XTJ84MVNJLEZSFAHZLR";
        assert!(bech32_ok(key));
        let flipped = key.replacen("LEZSF", "LEZSG", 1);
        assert!(!bech32_ok(&flipped));
        assert!(!bech32_ok("AGE-SECRET-KEY-1BBBB"));
    }

    #[test]
    fn jwts_are_decoded() {
        let valid = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(jwt_shape(valid), JwtShape::Valid);
        // Header without `alg`: `{"typ":"JWT"}`.
        assert_eq!(
            jwt_shape("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.abcdefghijkl"),
            JwtShape::Invalid
        );
        // Payload that is not JSON.
        assert_eq!(
            jwt_shape("eyJhbGciOiJIUzI1NiJ9.eyJub3QganNvbg.abcdefghijkl"),
            JwtShape::HeaderOnly
        );
        assert_eq!(jwt_shape("eyJhbGciOiJIUzI1NiJ"), JwtShape::Invalid);
        assert_eq!(
            jwt_shape("eyJzzzzzzz.eyJzzzzzzz.abcdefghijkl"),
            JwtShape::Invalid
        );
    }

    #[test]
    fn docker_auth_decodes_to_user_and_password() {
        // base64("octo:s3cr3t-P4ss")
        assert!(docker_auth_ok("b2N0bzpzM2NyM3QtUDRzcw=="));
        // base64("nocolon")
        assert!(!docker_auth_ok("bm9jb2xvbg=="));
        assert!(!docker_auth_ok("not base64!"));
    }

    #[test]
    fn key_blocks_need_a_body() {
        assert!(key_body_ok(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----"
        ));
        assert!(key_body_ok(
            "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n"
        ));
        assert!(!key_body_ok("-----BEGIN RSA PRIVATE KEY-----\";"));
        assert!(!key_body_ok(
            "-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----"
        ));
    }
}
