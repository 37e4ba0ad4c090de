//! Checksums and shapes of national identifiers (no scanning here: see `govid`). Each takes the
//! identifier without separators. The algorithms are the issuers' published ones, as
//! python-stdnum documents them.

/// Digits of an ASCII string of digits (callers pass only digits).
fn digits(s: &str) -> impl Iterator<Item = u32> + '_ {
    s.bytes().map(|b| u32::from(b.wrapping_sub(b'0')))
}

fn all_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// The same digit everywhere (`000000000`, `111…`): placeholders, never issued.
fn uniform(s: &str) -> bool {
    s.bytes().all(|b| Some(b) == s.bytes().next())
}

fn weighted(s: &str, weights: &[u32]) -> u32 {
    digits(s).zip(weights).map(|(d, w)| d * w).sum()
}

/// US ITIN: `9AA-GG-SSSS` with a group 70–99 except 89 and 93.
pub(super) fn us_itin(s: &str) -> bool {
    all_digits(s, 9) && s.starts_with('9') && {
        let g: u32 = digits(&s[3..5]).fold(0, |a, d| a * 10 + d);
        (70..=99).contains(&g) && g != 89 && g != 93
    }
}

/// German tax id (Steuer-ID): 11 digits, no leading zero, exactly one digit repeated two or
/// three times in the first ten, ISO 7064 mod 11,10 check digit.
pub(super) fn de_tax_id(s: &str) -> bool {
    if !all_digits(s, 11) || s.starts_with('0') {
        return false;
    }
    let mut counts = [0u8; 10];
    for d in digits(&s[..10]) {
        counts[d as usize] += 1;
    }
    let repeated: Vec<u8> = counts.iter().copied().filter(|c| *c > 1).collect();
    if repeated.len() != 1 || !matches!(repeated[0], 2 | 3) {
        return false;
    }
    let mut product = 10;
    for d in digits(&s[..10]) {
        let mut sum = (d + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (2 * sum) % 11;
    }
    let check = (11 - product) % 10;
    digits(&s[10..]).next() == Some(check)
}

/// French NIR (social security number): sex 1/2, year, month 01–12 (or 20–42, 50–99 for
/// unknown months), and a key of 97 minus the first 13 digits mod 97.
pub(super) fn fr_nir(s: &str) -> bool {
    if !all_digits(s, 15) || !matches!(s.as_bytes()[0], b'1' | b'2') {
        return false;
    }
    let month: u32 = s[3..5].parse().unwrap_or(0);
    if !((1..=12).contains(&month) || (20..=42).contains(&month) || month >= 50) {
        return false;
    }
    let (Ok(body), Ok(key)) = (s[..13].parse::<u64>(), s[13..].parse::<u64>()) else {
        return false;
    };
    97 - body % 97 == key
}

/// Italian codice fiscale: 16 characters, the last a check letter over odd and even positions.
/// Letters may stand for digits (omocodia: `LMNPQRSTUV`).
pub(super) fn it_fiscal_code(s: &str) -> bool {
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let b = s.as_bytes();
    if b.len() != 16
        || !b
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return false;
    }
    // Shape: six letters, then digits-or-omocodia at 6,7,9,10,12,13,14, letters at 8,11,15.
    let num = |c: u8| c.is_ascii_digit() || b"LMNPQRSTUV".contains(&c);
    let shaped = b[..6].iter().all(u8::is_ascii_uppercase)
        && [6, 7, 9, 10, 12, 13, 14].iter().all(|&i| num(b[i]))
        && [8, 11, 15].iter().all(|&i| b[i].is_ascii_uppercase())
        && b"ABCDEHLMPRST".contains(&b[8]);
    if !shaped {
        return false;
    }
    let value = |c: u8| -> usize {
        if c.is_ascii_digit() {
            usize::from(c - b'0')
        } else {
            usize::from(c - b'A')
        }
    };
    let sum: u32 = b[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i % 2 == 0 {
                ODD[value(c)]
            } else {
                value(c) as u32
            }
        })
        .sum();
    u32::from(b[15] - b'A') == sum % 26
}

/// Spanish DNI (8 digits and a letter) or NIE (`X`/`Y`/`Z`, 7 digits, a letter): the letter is
/// the number mod 23 in `TRWAGMYFPDXBNJZSQVHLCKE`.
pub(super) fn es_nif(s: &str) -> bool {
    const LETTERS: &[u8] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let b = s.as_bytes();
    if b.len() != 9 || !b[8].is_ascii_uppercase() {
        return false;
    }
    let lead = match b[0] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        c if c.is_ascii_digit() => u64::from(c - b'0'),
        _ => return false,
    };
    if !b[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = b[1..8]
        .iter()
        .fold(lead, |a, c| a * 10 + u64::from(c - b'0'));
    LETTERS.get((n % 23) as usize) == Some(&b[8])
}

/// Dutch BSN: 9 digits passing the "11-proof" (weights 9…2, and −1 for the last).
pub(super) fn nl_bsn(s: &str) -> bool {
    if !all_digits(s, 9) || uniform(s) {
        return false;
    }
    let sum = weighted(&s[..8], &[9, 8, 7, 6, 5, 4, 3, 2]);
    let last = digits(&s[8..]).next().unwrap_or(0);
    sum >= last && (sum - last).is_multiple_of(11)
}

/// Brazilian CPF: 11 digits with two mod-11 check digits.
pub(super) fn br_cpf(s: &str) -> bool {
    if !all_digits(s, 11) || uniform(s) {
        return false;
    }
    let check = |n: usize| {
        let w: Vec<u32> = (2..=(n as u32 + 1)).rev().collect();
        (weighted(&s[..n], &w) * 10 % 11) % 10
    };
    let d: Vec<u32> = digits(s).collect();
    check(9) == d[9] && check(10) == d[10]
}

/// Brazilian CNPJ: 14 digits with two mod-11 check digits.
pub(super) fn br_cnpj(s: &str) -> bool {
    if !all_digits(s, 14) || uniform(s) {
        return false;
    }
    let check = |w: &[u32], n: usize| {
        let r = weighted(&s[..n], w) % 11;
        if r < 2 { 0 } else { 11 - r }
    };
    let d: Vec<u32> = digits(s).collect();
    check(&[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], 12) == d[12]
        && check(&[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], 13) == d[13]
}

/// The Verhoeff checksum (dihedral group D5), used by Aadhaar.
pub(super) fn verhoeff(s: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, d) in s.bytes().rev().enumerate() {
        c = D[usize::from(c)][usize::from(P[i % 8][usize::from(d - b'0')])];
    }
    c == 0
}

/// Indian Aadhaar: 12 digits, not starting with 0 or 1, not a palindrome, Verhoeff checksum.
pub(super) fn in_aadhaar(s: &str) -> bool {
    all_digits(s, 12)
        && !matches!(s.as_bytes()[0], b'0' | b'1')
        && !s.bytes().eq(s.bytes().rev())
        && verhoeff(s)
}

/// Indian PAN: five letters (the fourth the holder type), four digits, a letter.
pub(super) fn in_pan(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[..5].iter().all(u8::is_ascii_uppercase)
        && b"ABCFGHLJPTK".contains(&b[3])
        && b[5..9].iter().all(u8::is_ascii_digit)
        && b[9].is_ascii_uppercase()
        && &b[5..9] != b"0000"
}

/// Whether `yyyymmdd` (or `yymmdd` with a century) is a calendar-plausible date.
fn plausible_date(year: u32, month: u32, day: u32) -> bool {
    (1800..=2100).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

fn num(s: &str) -> u32 {
    digits(s).fold(0, |a, d| a * 10 + d)
}

/// Chinese resident identity card: 6-digit region, birth date, 3-digit sequence, and an
/// ISO 7064 mod 11-2 check character (`0`–`9` or `X`).
pub(super) fn cn_resident_id(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    if !plausible_date(num(&s[6..10]), num(&s[10..12]), num(&s[12..14])) || b[0] == b'0' {
        return false;
    }
    let sum: u32 = digits(&s[..17])
        .enumerate()
        .map(|(i, d)| d * ((1u32 << (17 - i)) % 11))
        .sum();
    let check = (12 - sum % 11) % 11;
    match b[17] {
        b'X' | b'x' => check == 10,
        c if c.is_ascii_digit() => check == u32::from(c - b'0'),
        _ => false,
    }
}

/// Japanese My Number (individual number): 12 digits, the last a mod-11 check digit.
pub(super) fn jp_my_number(s: &str) -> bool {
    if !all_digits(s, 12) || uniform(s) {
        return false;
    }
    let sum = weighted(&s[..11], &[6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]);
    digits(&s[11..]).next() == Some((11 - sum % 11) % 11 % 10)
}

/// South Korean resident registration number: `yymmdd` birth date, a sex/century digit, and a
/// mod-11 check digit.
pub(super) fn kr_rrn(s: &str) -> bool {
    if !all_digits(s, 13) {
        return false;
    }
    let century = match s.as_bytes()[6] {
        b'1' | b'2' | b'5' | b'6' => 1900,
        b'3' | b'4' | b'7' | b'8' => 2000,
        b'9' | b'0' => 1800,
        _ => return false,
    };
    if !plausible_date(century + num(&s[..2]), num(&s[2..4]), num(&s[4..6])) {
        return false;
    }
    let sum = weighted(&s[..12], &[2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]);
    digits(&s[12..]).next() == Some((11 - sum % 11) % 10)
}

/// Canadian SIN: 9 digits, Luhn checksum, not starting with 0 or 8.
pub(super) fn ca_sin(s: &str) -> bool {
    all_digits(s, 9)
        && !matches!(s.as_bytes()[0], b'0' | b'8')
        && super::financial::luhn_valid(&s.bytes().map(|b| b - b'0').collect::<Vec<u8>>())
}

/// Australian tax file number: 8 or 9 digits with a weighted mod-11 checksum.
pub(super) fn au_tfn(s: &str) -> bool {
    let weights: &[u32] = match s.len() {
        9 => &[1, 4, 3, 7, 5, 8, 6, 9, 10],
        8 => &[10, 7, 8, 4, 6, 3, 5, 1],
        _ => return false,
    };
    s.bytes().all(|b| b.is_ascii_digit()) && !uniform(s) && weighted(s, weights).is_multiple_of(11)
}

/// Mexican CURP: four letters, a birth date, sex (`H`/`M`), state and consonants, a
/// homonym character and a check digit over the 17 before it.
pub(super) fn mx_curp(s: &str) -> bool {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ";
    let b = s.as_bytes();
    if b.len() != 18 {
        return false;
    }
    let shaped = b[..4].iter().all(u8::is_ascii_uppercase)
        && b[4..10].iter().all(u8::is_ascii_digit)
        && matches!(b[10], b'H' | b'M' | b'X')
        && b[11..16].iter().all(u8::is_ascii_uppercase)
        && b[16].is_ascii_alphanumeric()
        && b[17].is_ascii_digit()
        && (1..=12).contains(&num(&s[6..8]))
        && (1..=31).contains(&num(&s[8..10]));
    if !shaped {
        return false;
    }
    let mut sum = 0u32;
    for (i, c) in b[..17].iter().enumerate() {
        let Some(v) = ALPHABET.iter().position(|a| a == c) else {
            return false;
        };
        sum += v as u32 * (18 - i as u32);
    }
    u32::from(b[17] - b'0') == (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each validator accepts values python-stdnum's validator accepts, and rejects the same
    /// values with one digit or letter changed.
    #[test]
    fn valid_and_invalid_checksums() {
        type Case = (
            fn(&str) -> bool,
            &'static [&'static str],
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (
                us_itin,
                &["902850550", "905805401"],
                &["902890550", "123456789"],
            ),
            (
                de_tax_id,
                &["10468526764", "11687432598", "14354062473"],
                &["10468526765", "11111111111"],
            ),
            (
                fr_nir,
                &["100011969140150", "100064756013083", "104078411387526"],
                &["100011969140151", "300011969140150"],
            ),
            (
                it_fiscal_code,
                &["RCCMNL83S18D969H", "MRSMSR81D60Z611H", "CNTCHR83T41D969D"],
                &["RCCMNL83S18D969A", "RCCMNL83Z18D969H"],
            ),
            (
                es_nif,
                &["00379362T", "00574409F", "02323153S"],
                &["00379362A", "X0379362"],
            ),
            (
                nl_bsn,
                &["001446617", "007275237", "033837880"],
                &["001446618", "111111111"],
            ),
            (
                br_cpf,
                &["01278502874", "01571842268", "04026699404"],
                &["01278502875", "11111111111"],
            ),
            (
                br_cnpj,
                &["07195358000166", "08807432000110", "11017153000168"],
                &["07195358000167", "00000000000000"],
            ),
            (
                in_aadhaar,
                &["200466434035", "216638591143", "227755442465"],
                &["200466434036", "100466434035"],
            ),
            (
                in_pan,
                &["AAKFD7113K", "ACUPA7085R", "AFZPK7190K"],
                &["AAKDD7113K", "AAKFD711K3"],
            ),
            (
                cn_resident_id,
                &[
                    "110101195103070125",
                    "110101195104165062",
                    "110101195312208274",
                ],
                &["110101195103070126", "110101195113070125"],
            ),
            (
                jp_my_number,
                &["006568413170", "009902520012", "014287301813"],
                &["006568413171", "000000000000"],
            ),
            (
                kr_rrn,
                &["8804112238459", "7604061679592", "8611211967921"],
                &["8804112238458", "8813112238459"],
            ),
            (
                ca_sin,
                &["121260335", "126749498", "142826452"],
                &["121260336", "821260335"],
            ),
            (
                au_tfn,
                &["112474082", "565051603", "812239321"],
                &["112474083", "11247408"],
            ),
            (
                mx_curp,
                &["AAMG890608HDFLJL00", "HEGG560427MVZRRL04"],
                &["AAMG890608HDFLJL01", "AAMG891308HDFLJL00"],
            ),
        ];
        for (i, (f, good, bad)) in cases.iter().enumerate() {
            for g in *good {
                assert!(f(g), "case {i}: {g} should be valid");
            }
            for b in *bad {
                assert!(!f(b), "case {i}: {b} should be invalid");
            }
        }
    }

    #[test]
    fn verhoeff_known_values() {
        // The textbook example: 236 has check digit 3.
        assert!(verhoeff("2363"));
        assert!(!verhoeff("2364"));
    }
}
