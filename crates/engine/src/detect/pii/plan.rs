//! Where each candidate pattern runs on an ASCII text: windows seeded from digit runs and other
//! rare bytes, each argued against its pattern, so that the regexes skip plain prose.

use super::{Entity, PiiConfig};
use crate::detect::windows::{DENSE_RUN, merge, runs_around, runs_through, scan_bytes};

/// Where one candidate regex runs in one view.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Where {
    /// Over the whole text.
    Everywhere,
    /// Only in these windows (see `detect::windows`); none means the regex cannot match.
    Windows(Vec<(usize, usize)>),
}

impl Where {
    pub(super) fn get(&self) -> Option<&[(usize, usize)]> {
        match self {
            Where::Everywhere => None,
            Where::Windows(w) => Some(w),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        matches!(self, Where::Windows(w) if w.is_empty())
    }
}

/// Where each candidate regex runs in one view.
#[derive(Debug)]
pub(super) struct Plan {
    /// Whether the text has an ASCII digit (the digit-only patterns are skipped otherwise).
    pub(super) any_digit: bool,
    /// The runs of ASCII digits, ascending (the seeds of the national identifiers).
    pub(super) digits: Vec<(usize, usize)>,
    pub(super) email: Where,
    pub(super) mac: Where,
    pub(super) ipv6: Where,
    pub(super) bech32: Where,
    pub(super) eth: Where,
    pub(super) base58: Where,
    pub(super) nino: Where,
    pub(super) iban: Where,
    pub(super) card: Where,
    pub(super) ssn: Where,
    pub(super) ipv4: Where,
    pub(super) phone: Where,
    pub(super) date: Where,
    pub(super) passport: Where,
}

pub(super) fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}

pub(super) fn is_ascii_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

impl Plan {
    /// Every regex over the whole text, behind the whole-text gates of a non-ASCII text.
    pub(super) fn whole(text: &str) -> Plan {
        let gate = |present: bool| {
            if present {
                Where::Everywhere
            } else {
                Where::Windows(Vec::new())
            }
        };
        Plan {
            any_digit: text.bytes().any(|b| b.is_ascii_digit()),
            digits: scan_bytes(text.as_bytes()).digits,
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
    pub(super) fn of(b: &[u8], cfg: &PiiConfig) -> Plan {
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
            let mut w = runs_through(b, &scanned.dense, |c| {
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
            let mut out: Vec<(usize, usize, usize, usize)> =
                Vec::with_capacity(phone_runs.len().min(len / 64));
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
        // A reported phone number has 8 digits or more (`phone::score`): a run with fewer
        // cannot hold one.
        let phone = if wants(Entity::Phone) {
            Where::Windows(
                phone_runs
                    .iter()
                    .filter(|w| w.2 >= 8)
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
            digits,
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

/// The digit runs that the seeded windows of [`Plan::of`] start from, sorted out in one pass.
#[derive(Debug, Default)]
pub(super) struct DigitSeeds {
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
    pub(super) fn of(b: &[u8], digits: &[(usize, usize)]) -> Self {
        let alnum = |s: usize, n: usize| {
            b.get(s..s + n)
                .is_some_and(|r| r.iter().all(u8::is_ascii_alphanumeric))
        };
        let mut out = DigitSeeds {
            // Most texts' digit runs follow a word (`on 14 March`, `at 10:30`); the room is
            // bounded by the text's length, not by a digit-heavy text's thousands of runs.
            lettered: Vec::with_capacity(digits.len().min(b.len() / 64)),
            ..DigitSeeds::default()
        };
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
pub(super) fn phone_byte(c: u8) -> bool {
    c.is_ascii_digit() || matches!(c, b'+' | b'(' | b')' | b'.' | b'-') || is_ascii_space(c)
}

/// The maximal runs of [`phone_byte`]s that hold a digit, with their number of digits, from the
/// text's digit runs (`digits`, ascending): consecutive digit runs are in the same phone run
/// exactly when every byte between them is a phone byte, and a run reaches over phone bytes
/// before its first digit run and after its last. Equal to `runs_around` over the digit runs'
/// starts (unit-tested), without scanning each run again to count its digits.
pub(super) fn phone_runs(b: &[u8], digits: &[(usize, usize)]) -> Vec<(usize, usize, usize)> {
    // At most one run per digit run; the room is bounded by the text's length.
    let mut out: Vec<(usize, usize, usize)> = Vec::with_capacity(digits.len().min(b.len() / 64));
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
pub(super) fn digit_groups(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    digit_groups_into(s, &mut out);
    out
}

/// [`digit_groups`] into `out` (cleared first), to reuse one list for many matches.
pub(super) fn digit_groups_into(s: &str, out: &mut Vec<(usize, usize)>) {
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

/// Whether the number at `s` follows a country code (`+47 21.23.45.67`, `+55 800-12-3456`): it
/// is the rest of a phone number, not a dotted quad or an SSN.
pub(super) fn after_country_code(b: &[u8], s: usize) -> bool {
    let mut i = s;
    if i > 0 && matches!(b[i - 1], b' ' | b'.' | b'-') {
        i -= 1;
    }
    let mut n = 0;
    while i > 0 && b[i - 1].is_ascii_digit() && n < 4 {
        i -= 1;
        n += 1;
    }
    (1..=3).contains(&n) && i > 0 && b[i - 1] == b'+'
}
