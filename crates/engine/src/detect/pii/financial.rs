//! Financial identifiers: payment cards (Luhn, issuer prefixes), IBANs (mod-97), crypto
//! wallets (bech32, Ethereum, base58).

use super::plan::{Plan, digit_groups, is_digit};
use super::{Entity, Scan};
use crate::detect::static_regex::Lazy;
use crate::detect::windows::find_in;
use crate::normalize::View;

pub(super) static CARD: Lazy = Lazy::new(r"\b\d(?:[ \-]?\d)*\b");

pub(super) static IBAN: Lazy =
    Lazy::new(r"(?i)\b[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[a-z0-9]{1,3})?\b");

pub(super) static BECH32: Lazy = Lazy::new(r"(?i)\bbc1[02-9ac-hj-np-z]{11,71}\b");

pub(super) static BASE58: Lazy = Lazy::new(r"\b[13][a-km-zA-HJ-NP-Z1-9]{25,34}\b");

pub(super) static ETH: Lazy = Lazy::new(r"\b0x[a-fA-F0-9]{40}\b");

pub(super) fn wallets(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    for m in find_in(BECH32.get(), text, plan.bech32.get()) {
        if bech32_valid(m.as_str()) {
            scan.consider(
                view,
                Entity::CryptoWallet,
                (m.start(), m.end()),
                0.95,
                "bitcoin bech32 address with a valid checksum",
            );
        }
    }
    for m in find_in(ETH.get(), text, plan.eth.get()) {
        scan.consider(
            view,
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
                view,
                Entity::CryptoWallet,
                (m.start(), m.end()),
                0.4,
                "legacy bitcoin address format",
            );
        }
    }
}

pub(super) fn ibans(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    for m in find_in(IBAN.get(), text, plan.iban.get()).needing(is_digit) {
        // The pattern's greedy groups can take a following word (`… 4593 What`, `… 7466 is`):
        // the longest prefix that ends at a space and is valid is the IBAN.
        let s = m.as_str();
        let ends = s
            .match_indices(' ')
            .map(|(i, _)| i)
            .chain(std::iter::once(s.len()));
        let mut best = None;
        for end in ends {
            if end >= 15 && iban_valid(&s[..end]) {
                best = Some(end);
            }
        }
        if let Some(end) = best {
            scan.consider(
                view,
                Entity::Iban,
                (m.start(), m.start() + end),
                0.95,
                "IBAN with a valid mod-97 checksum",
            );
        }
    }
}

/// IBANs written with a space after the country code or with dots (`NO 19 4920 06 96270`,
/// `NO07.8380.08.06006`), which the pattern does not take: from each upper-case country code
/// before a digit run, the longest run of upper-case letters, digits and single spaces or dots
/// that ends on a group and is a valid IBAN once compacted.
pub(super) fn loose_ibans(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
    let b = text.as_bytes();
    for &(ds, _) in &plan.digits {
        let start = if ds >= 3 && b[ds - 1] == b' ' {
            ds - 3
        } else if ds >= 2 {
            ds - 2
        } else {
            continue;
        };
        let upper = |i: usize| b.get(i).is_some_and(u8::is_ascii_uppercase);
        // The two capitals first: rare in front of a number, and cheaper than the dot search.
        if !upper(start) || !upper(start + 1) {
            continue;
        }
        let loose = b[start + 2] == b' ' || b[ds..(ds + 34).min(b.len())].contains(&b'.');
        if !loose {
            continue;
        }
        if start > 0 && b[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        let mut compact = [0u8; 34];
        let mut n = 0;
        let mut best = None;
        let mut i = start;
        while i < b.len() && n < 34 {
            let c = b[i];
            if c.is_ascii_digit() || c.is_ascii_uppercase() {
                compact[n] = c;
                n += 1;
                i += 1;
                let group_end = !b.get(i).is_some_and(u8::is_ascii_alphanumeric);
                if group_end && n >= 15 && std::str::from_utf8(&compact[..n]).is_ok_and(iban_valid)
                {
                    best = Some(i);
                }
            } else if matches!(c, b' ' | b'.')
                && b.get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() || d.is_ascii_uppercase())
            {
                i += 1;
            } else {
                break;
            }
        }
        if let Some(end) = best {
            scan.consider(
                view,
                Entity::Iban,
                (start, end),
                0.9,
                "IBAN with a valid mod-97 checksum",
            );
        }
    }
}

pub(super) fn cards(scan: &mut Scan<'_>, view: &View<'_>, plan: &Plan) {
    let text = view.text;
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
                if scan.consider(view, Entity::CreditCard, (s, e), base, why) {
                    taken = Some(j);
                    break;
                }
            }
            i = taken.map_or(i + 1, |j| j + 1);
        }
    }
}

pub(super) fn luhn_valid(digits: &[u8]) -> bool {
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

pub(super) fn known_iin(d: &[u8]) -> bool {
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

pub(super) fn iban_length(country: &str) -> Option<usize> {
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

pub(super) fn iban_valid(raw: &str) -> bool {
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

pub(super) const BECH32_CHARSET: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

pub(super) fn bech32_polymod(values: &[u8]) -> u32 {
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
pub(super) fn bech32_valid(addr: &str) -> bool {
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
