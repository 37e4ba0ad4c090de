use super::contact::*;
use super::financial::*;
use super::govid::*;
use super::phone::*;
use super::plan::*;
use super::*;
use crate::detect::windows::{runs_around, scan_bytes};

fn found(text: &str, mode: Mode) -> Vec<(String, String)> {
    let tv = TextViews::new(text);
    scan(&PiiConfig::default_set(), &tv, mode)
        .into_iter()
        .map(|f| {
            (
                f.entity.into_owned(),
                text.get(f.start..f.end).unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn positives() {
    let cases = [
        (
            "mail me at jane.doe@example.com please",
            "email",
            "jane.doe@example.com",
        ),
        (
            "my card is 4111 1111 1111 1111",
            "credit_card",
            "4111 1111 1111 1111",
        ),
        (
            "visa 4242-4242-4242-4242 exp 12/29",
            "credit_card",
            "4242-4242-4242-4242",
        ),
        ("SSN: 536-22-1234", "ssn", "536-22-1234"),
        ("my ssn is 536221234", "ssn", "536221234"),
        (
            "IBAN DE89 3704 0044 0532 0130 00",
            "iban",
            "DE89 3704 0044 0532 0130 00",
        ),
        (
            "GB82WEST12345698765432 is my account",
            "iban",
            "GB82WEST12345698765432",
        ),
        (
            "server at 192.168.10.24 is down",
            "ip_address",
            "192.168.10.24",
        ),
        (
            "v6 2001:db8:85a3::8a2e:370:7334 here",
            "ip_address",
            "2001:db8:85a3::8a2e:370:7334",
        ),
        (
            "device 00:1A:2B:3C:4D:5E",
            "mac_address",
            "00:1A:2B:3C:4D:5E",
        ),
        ("call me on (415) 555-2671", "phone", "(415) 555-2671"),
        ("ring +44 20 7946 0958", "phone", "+44 20 7946 0958"),
        (
            "send to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "crypto_wallet",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        ),
        (
            "eth 0x52908400098527886E0F7030069857D2E4169EE7",
            "crypto_wallet",
            "0x52908400098527886E0F7030069857D2E4169EE7",
        ),
        ("I was born on 12/03/1985", "date_of_birth", "12/03/1985"),
        ("DOB: March 4, 1990", "date_of_birth", "March 4, 1990"),
        ("passport number 123456789", "passport", "123456789"),
        ("passport: C03005988", "passport", "C03005988"),
        ("NI number AB 12 34 56 C", "uk_nino", "AB 12 34 56 C"),
        (
            "+44 20 7946 0958 4111 1111 1111 1111",
            "credit_card",
            "4111 1111 1111 1111",
        ),
        (
            "+44 20 7946 0958 4111 1111 1111 1111",
            "phone",
            "+44 20 7946 0958",
        ),
    ];
    for (text, entity, value) in cases {
        let got = found(text, Mode::Balanced);
        assert!(
            got.iter().any(|(e, v)| e == entity && v == value),
            "{text}: {got:?}"
        );
    }
}

#[test]
fn urls_addresses_and_long_digit_runs() {
    let has = |text: &str, entity: &str, value: &str| {
        found(text, Mode::Balanced)
            .iter()
            .any(|(e, v)| e == entity && v == value)
    };
    // User info in a URL is not an e-mail address; an address in a query string or next to
    // a URL still is.
    assert!(!has(
        "postgres://user:pass@db.example.com/x",
        "email",
        "pass@db.example.com"
    ));
    assert!(!has(
        "https://token@github.com/o/r",
        "email",
        "token@github.com"
    ));
    assert!(has(
        "https://shop.example/contact?email=jane.doe@example.com",
        "email",
        "jane.doe@example.com"
    ));
    assert!(has(
        "see https://example.com or mail jane.doe@example.com",
        "email",
        "jane.doe@example.com"
    ));
    // An IPv4 address is not a phone number, whatever its digits.
    for ip in ["212.55.100.24", "203.112.113.25"] {
        let text = format!("server {ip} is down");
        let got = found(&text, Mode::Balanced);
        assert!(!got.iter().any(|(e, _)| e == "phone"), "{text}: {got:?}");
        assert!(
            got.iter().any(|(e, v)| e == "ip_address" && v == ip),
            "{text}: {got:?}"
        );
    }
    // Amex-formatted card: one card, no phone inside it.
    let amex = "amex card 3455 503491 06540";
    let got = found(amex, Mode::Balanced);
    assert!(!got.iter().any(|(e, _)| e == "phone"), "{got:?}");
    assert!(has(amex, "credit_card", "3455 503491 06540"), "{got:?}");
    let got = found("ref 3455 503491 06541", Mode::Balanced);
    assert!(!got.iter().any(|(e, _)| e == "phone"), "{got:?}");
    // A phone number on its own, or one that starts with `+` before other digits, still is.
    assert!(has("call 212-555-0142 today", "phone", "212-555-0142"));
    assert!(has("tel 212.551.0024", "phone", "212.551.0024"));
}

#[test]
fn identifier_labels_and_codes_are_not_names() {
    // The tagger reads these labels, and the codes after them, as names (`IBAN` and `NINO` as
    // persons, `NINO YZ042014D` as one); the identifiers themselves are still reported.
    let names = |text: &str| -> Vec<(String, String)> {
        found(text, Mode::Balanced)
            .into_iter()
            .filter(|(e, _)| matches!(e.as_str(), "person" | "location" | "organization"))
            .collect()
    };
    assert_eq!(
        names("IBAN DE89 3704 0044 0532 0130 01 has a bad checksum"),
        []
    );
    assert_eq!(names("NINO YZ042014D is on the form"), []);
    assert!(
        found("NINO YZ042014D is on the form", Mode::Balanced)
            .contains(&("uk_nino".to_owned(), "YZ042014D".to_owned()))
    );
    let got = names("Please update NINO: CE464095D for Jane Doe");
    assert!(got.iter().all(|(_, t)| !t.contains("NINO")), "{got:?}");
    assert!(
        got.iter()
            .any(|(e, t)| e == "person" && t.starts_with("Jane")),
        "{got:?}"
    );
    assert_eq!(names("M, the manager, signed it"), []);

    assert!(!names_entity_plausible("IBAN"));
    assert!(!names_entity_plausible("NINO YZ042014D"));
    assert!(!names_entity_plausible("BH67BMAG00001299123456"));
    assert!(!names_entity_plausible("1936 00"));
    assert!(!names_entity_plausible("M"));
    assert!(!names_entity_plausible("D."));
    assert!(!names_entity_plausible(","));
    for name in [
        "Jane Doe",
        "O'Neill",
        "221B Baker Street",
        "Iban Ortiz",
        "Visa",
        "VISA",
        "MAC",
        "NASA",
        "Zoë",
        "北京",
        "Ed",
    ] {
        assert!(names_entity_plausible(name), "{name}");
    }
}

#[test]
fn negatives() {
    for text in [
        "the meeting is at 10:30 on floor 4",
        "card 4111 1111 1111 1112 fails Luhn",
        "order 000-12-3456 has a bad area",
        "order 666-12-3456 has a bad area",
        "IBAN DE89 3704 0044 0532 0130 01 has a bad checksum",
        "version 1.2.3.4 released",
        "the date 12/03/1985 in a table",
        "reference 123456789",
        "call 123-456-7890",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx",
        "just some ordinary prose without numbers",
        "order 7 arrived, ages ago",
        "it took 3.5 years old-school style",
        "ITIN 912-89-1234 has a group that is never issued",
        "CPF 012.785.028-75 fails its check digits",
        "Upgrade to version 10.0.19041 today",
    ] {
        let got = found(text, Mode::Balanced);
        assert!(got.is_empty(), "{text}: {got:?}");
    }
    // User info in a URL is not an e-mail address (the URL itself is reported).
    for text in [
        "DATABASE_URL=postgres://user:pass@db.example.com/x",
        "clone https://token@github.com/acme/repo.git",
        "git remote add origin https://x-access-token@github.com/acme/repo",
        "mysql://admin:hunter2@db-1.internal.example.org:3306/app",
    ] {
        let got = found(text, Mode::Balanced);
        assert!(got.iter().all(|(e, _)| e != "email"), "{text}: {got:?}");
    }
}

/// The national identifiers, ages, licences and passports: each found with its exact span, in
/// the layouts people write.
#[test]
fn national_ids_and_cued_numbers() {
    let cases = [
        ("My ITIN is 902-85-0550.", "us_itin", "902-85-0550"),
        (
            "Meine Steuer-ID ist 10 468 526 764.",
            "de_tax_id",
            "10 468 526 764",
        ),
        (
            "NIR 1 00 06 47 560 130 83",
            "fr_nir",
            "1 00 06 47 560 130 83",
        ),
        (
            "Il mio codice fiscale è RCCMNL83S18D969H.",
            "it_fiscal_code",
            "RCCMNL83S18D969H",
        ),
        ("Mi DNI es 00379362T.", "es_nif", "00379362T"),
        ("Mijn BSN is 001446617.", "nl_bsn", "001446617"),
        ("Meu CPF é 040.266.994-04 ok", "br_cpf", "040.266.994-04"),
        (
            "CNPJ da empresa: 07.195.358/0001-66",
            "br_cnpj",
            "07.195.358/0001-66",
        ),
        (
            "My Aadhaar number is 2004 6643 4035.",
            "in_aadhaar",
            "2004 6643 4035",
        ),
        ("PAN card AAKFD7113K", "in_pan", "AAKFD7113K"),
        (
            "我的身份证号码是110101195103070125。",
            "cn_resident_id",
            "110101195103070125",
        ),
        (
            "マイナンバーは0065 6841 3170です。",
            "jp_my_number",
            "0065 6841 3170",
        ),
        ("주민등록번호 880411-2238459", "kr_rrn", "880411-2238459"),
        ("My SIN is 121 260 335.", "ca_sin", "121 260 335"),
        ("tax file number 565051603", "au_tfn", "565051603"),
        (
            "Mi CURP es HEGG560427MVZRRL04.",
            "mx_curp",
            "HEGG560427MVZRRL04",
        ),
        ("I am 42 years old.", "age", "42"),
        ("a 7-year-old patient", "age", "7"),
        ("age: 63", "age", "63"),
        ("The patient, aged 71.", "age", "71"),
        (
            "My driver's license number is A2009808.",
            "driver_license",
            "A2009808",
        ),
        ("DL# A200-980-894-329", "driver_license", "A200-980-894-329"),
        ("passport no. 12AB34567", "passport", "12AB34567"),
        ("Passport: TK1234567", "passport", "TK1234567"),
        (
            "see https://www.example.org/a/b.html.",
            "url",
            "https://www.example.org/a/b.html",
        ),
        ("Call +49 30 901820 now", "phone", "+49 30 901820"),
        ("mobile +971 2 234 5678", "phone", "+971 2 234 5678"),
        (
            "- ES58 1465 0100 9719 0014 4593 What won",
            "iban",
            "ES58 1465 0100 9719 0014 4593",
        ),
        (
            "SE45 5000 0000 0583 9825 7466 is the one",
            "iban",
            "SE45 5000 0000 0583 9825 7466",
        ),
        ("Tel: 020 7946 0958", "phone", "020 7946 0958"),
        ("ring 0049 30 901820", "phone", "0049 30 901820"),
        (
            "reach me at +47 21.23.45.67 after six",
            "phone",
            "+47 21.23.45.67",
        ),
        ("Tel: +55 800 12 3456 ok", "phone", "+55 800 12 3456"),
        ("Llámame al 912 34 56 78.", "phone", "912 34 56 78"),
    ];
    for (text, entity, span) in cases {
        let got = found(text, Mode::Balanced);
        assert!(
            got.contains(&(entity.to_owned(), span.to_owned())),
            "{text}: {got:?}"
        );
    }
    // Without their context words, weak checksums are not enough.
    for text in [
        "the code 001446617 again",
        "ref 565051603",
        "value 0099 0252 0012",
    ] {
        let got = found(text, Mode::Balanced);
        assert!(got.is_empty(), "{text}: {got:?}");
    }
}

#[test]
fn context_raises_score_in_balanced_only() {
    let plain = "536221234";
    assert!(
        found(&format!("ssn {plain}"), Mode::Balanced)
            .iter()
            .any(|(e, _)| e == "ssn")
    );
    assert!(
        !found(&format!("ssn {plain}"), Mode::Fast)
            .iter()
            .any(|(e, _)| e == "ssn")
    );
}

#[test]
fn url_marker_is_found_in_every_case_and_run_of_ws() {
    let naive = |t: &str| {
        t.contains("://")
            || t.as_bytes()
                .windows(4)
                .any(|w| w[..3].eq_ignore_ascii_case(b"www") && w[3] == b'.')
    };
    for t in [
        "www.x",
        "wwww.x",
        "wwwww.x",
        "wWww.x",
        "WwWw.x",
        "xWWW.x",
        "ww.x",
        "w.w.w.x",
        "wwwwwwx",
        "a://b",
        "wwW",
        "wW wWw.",
        "wwwwwwwwww.",
    ] {
        assert_eq!(has_url_marker(t), naive(t), "{t}");
    }
}

fn email_regex_spans(text: &str) -> Vec<(usize, usize)> {
    EMAIL
        .get()
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect()
}

#[test]
fn email_matcher_equals_the_regex() {
    let long = |c: char, n: usize| c.to_string().repeat(n);
    let mut texts: Vec<String> = [
        "a@b.co jane.doe@example.com x@@y.org .a@b.cd a..b@c.de mail@example.c0m",
        "a@b.co.x@c.de a@b.co@x.de a@b.co.uk. a@b.com-x a@b.com_x a@b.c a@-b.co a@b-.co",
        "_a@b.co a_b@c.de %a@b.co +a@b.co a.@b.co a@b..co a@.b.co @b.co a@ a@b. a@b.co9",
        "A@B.CO x.y+z%w@MAIL.Example.ORG.  q@w.e.r.t.yy.z 1@2.34 1@2.ab 1@2.3.ab",
        "postgres://user:pass@db.example.com/x https://token@github.com/o/r",
        "ab@cd.ef@gh.ij @@ a@@b.co a@b@c.de a-@b.co a@b.co- é",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // Length limits: 64-byte local parts, 63-byte labels, 24-letter top-level domains.
    for n in [62, 63, 64, 65, 66] {
        texts.push(format!("{}@b.co", long('a', n)));
        texts.push(format!("x.{}@b.co", long('a', n)));
        texts.push(format!("a@{}.co", long('b', n)));
    }
    for n in [1, 2, 23, 24, 25, 26] {
        texts.push(format!("a@b.{}", long('c', n)));
        texts.push(format!("a@b.{}.de", long('c', n)));
        texts.push(format!("a@b.de.{} x", long('c', n)));
    }
    for text in &texts {
        assert_eq!(
            email_spans(text.as_bytes()),
            email_regex_spans(text),
            "{text:?}"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]
    #[test]
    fn email_matcher_equals_the_regex_on_noise(
        parts in proptest::collection::vec(proptest::sample::select(&[
            "a", "b", "Z", "q", "x", "co", "de", "com", "org", "1", "9", "0", "@", "@", ".",
            ".", "-", "_", "%", "+", " ", "\n", "/", ":", "//", "..", "jane.doe", "example",
            "mail", "abcdefghijklmnopqrstuvwxy", "0123456789abcdefghijklmnopqrstuvwxyz0123",
        ][..]), 0..30)
    ) {
        let text = parts.concat();
        proptest::prop_assert_eq!(email_spans(text.as_bytes()), email_regex_spans(&text));
    }
}

/// `phone_spans` over the maximal phone-byte runs against the regex over the whole text.
fn assert_phone_matcher_equals_the_regex(text: &str) {
    let b = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !phone_byte(b[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && phone_byte(b[i]) {
            i += 1;
        }
        runs.push((s, i));
    }
    let regex: Vec<(usize, usize)> = PHONE
        .get()
        .find_iter(text)
        .map(|m| (m.start(), m.end()))
        .collect();
    assert_eq!(phone_spans(b, &runs), regex, "{text:?}");
}

#[test]
fn phone_matcher_equals_the_regex() {
    for text in [
        "",
        "12",
        "123",
        "1234",
        "12345",
        "123456789",
        "12345 67",
        "1234 5 67",
        "(415) 555-2671",
        "+44 20 7946 0958",
        "+1 (415) 555 2671",
        "+12345 (12345) 12",
        "+(12) 34 56",
        "++1 22 33",
        "(1)(2) 33 44",
        "( 12) 34 56",
        "1-2-3-4-5-6",
        "12--34..56  78\t\n90",
        "INV-2024-0412) 3455 503491 06540 212.551.0024",
        "+1234 56 78 (0) 4155552671 .12.34 -12 +-12 34",
    ] {
        assert_phone_matcher_equals_the_regex(text);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]
    #[test]
    fn phone_matcher_equals_the_regex_on_noise(
        parts in proptest::collection::vec(proptest::sample::select(&[
            "1", "2", "9", "0", "12", "345", "4567", "+", "+1", "+44", "(", ")", "(415)",
            " ", " ", "-", ".", "\t", "\n", "x", "ab", "+(", ")-",
        ][..]), 0..30)
    ) {
        assert_phone_matcher_equals_the_regex(&parts.concat());
    }
}

#[test]
fn phone_runs_are_the_runs_around_digits() {
    for text in [
        "",
        "x",
        "1",
        " (415) 555-2671 if +44 20 7946 0958, 1 2 3 4.5 x9y 10:30 (((( 7 ))))",
        "12 34\n\t56 a 78-90 b 1.2.3.4 c +1 (555) 010-0000.",
        "a1b2c3 -- 4 -- 5",
    ] {
        let b = text.as_bytes();
        let scanned = scan_bytes(b);
        let digits = scanned.digits;
        let plain: Vec<(usize, usize, usize)> =
            runs_around(b, digits.iter().map(|d| d.0), phone_byte)
                .into_iter()
                .map(|(s, e)| (s, e, b[s..e].iter().filter(|c| c.is_ascii_digit()).count()))
                .collect();
        assert_eq!(phone_runs(b, &digits), plain, "{text:?}");
    }
}

#[test]
fn validators() {
    assert!(luhn_valid(&[
        4, 5, 3, 9, 1, 4, 8, 8, 0, 3, 4, 3, 6, 4, 6, 7
    ]));
    assert!(iban_valid("GB82 WEST 1234 5698 7654 32"));
    assert!(!iban_valid("GB82 WEST 1234 5698 7654 33"));
    assert!(bech32_valid("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"));
    assert!(!bech32_valid("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"));
    assert!(ssn_valid("536", "22", "1234"));
    assert!(!ssn_valid("900", "22", "1234"));
}

/// Every entity, url included.
fn every_entity() -> PiiConfig {
    PiiConfig {
        entities: ALL.iter().fold(0, |m, e| m | e.bit()),
        min_score: 0.0,
    }
}

/// The windowed scan finds exactly what scanning every regex over the whole text finds.
fn assert_same_as_whole(text: &str) {
    for &mode in Mode::ALL {
        let tv = TextViews::new(text);
        for cfg in [every_entity(), PiiConfig::default_set()] {
            let windowed = scan_views(&cfg, &tv, mode, false);
            let whole = scan_views(&cfg, &tv, mode, true);
            assert_eq!(windowed, whole, "{mode} {text:?}");
        }
    }
}

#[test]
fn windows_find_what_the_whole_text_finds() {
    for text in [
        "",
        "4111 1111 1111 1111",
        "x4111 1111 1111 1111y",
        "card 4111-1111-1111-1111, ssn 536-22-1234 and 536 22 1234 or 536221234",
        "+44 20 7946 0958 4111 1111 1111 1111 (415) 555-2671 +1 (415) 555 2671",
        "a@b.co jane.doe@example.com x@@y.org .a@b.cd a..b@c.de mail@example.c0m",
        "https://token@github.com/o/r www.example.com/x?y=1 ftp://a.b",
        "00:1A:2B:3C:4D:5E 00-1a-2b-3c-4d-5e dead.beef.cafe 001a.2b3c.4d5e",
        "2001:db8:85a3::8a2e:370:7334 ::1 fe80::1%eth0 10:30 a:b:c",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq 0x52908400098527886E0F7030069857D2E4169EE7",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        "NI number AB 12 34 56 C, ab123456c, QQ123456A, AB1234 56 C",
        "IBAN DE89 3704 0044 0532 0130 00 GB82WEST12345698765432 gb82 west 1234 5698 7654 32",
        "born 12/03/1985, 1985-03-12, 4th March 1990, March 4, 1990, Mar. 4th, 2001, 12th  of  May 2020",
        "DOB:\n 4  March,  1990 and 2020/1/2 and 19/12/2019 and 2019",
        "passport 123456789 C03005988 x123456789 1234567890 12345678",
        "server 192.168.10.24 v1.2.3.4 1.2.3.4.5 256.1.1.1 0.0.0.0 212.55.100.24",
        "call 212-555-0142 or 212.551.0024 or 020 7946 0958 or 07911 123456",
        "amex card 3455 503491 06540, ref 3455 503491 06541",
        "INV-2024-0412 $1,250.00 on 14 March at 10:30",
        "9999999999999999999999 1 2 3 4 5 6 7 8 9 0 1 2 3 4",
        "-1-2-3-4-5-6-7-8-9-0-1-2-3-4- --4111111111111111-- 4111111111111111x",
        "date of birth 1-2-1990 01.02.1990 x1/2/1990 1990-1-2x 1990-12-3 1990-123-4 1990.1.2",
        "birthday:1990-01-02 born\t4 Mar 1990 dob 1990/01/02/03 age 3 May,1990 May 3 1990",
        "+1 555 0100 +44 7911 123 +4479 1112 3456 +12 345 678 90 12345678 (0) 4155552671",
        "aa:bb:cc:dd:ee:ff A1-B2-C3-D4-E5-F6 aabb.ccdd.eeff ab.cdef.0123 abcd.ef01.23456",
        "passport no: C03005988; ppt 123456789 next to passport",
    ] {
        assert_same_as_whole(text);
    }
}

#[test]
fn windows_find_what_the_whole_text_finds_in_the_corpus() {
    crate::tests_support::check_corpus_texts(assert_same_as_whole);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 512, ..Default::default() })]
    #[test]
    fn windows_find_what_the_whole_text_finds_on_noise(
        parts in proptest::collection::vec(proptest::sample::select(&[
            "4111", "1111", "0412", "1985", "2020", "19", "20", "536", "22", "1234", " ",
            "-", ".", ":", "/", "(", ")", "+", "+44", "@", "a", "b", "c", "x", "AB", "de",
            "89", "GB82", "WEST", "bc1q", "0x", "ff", "March", "4th", ",", "\n", "\t",
            "call", "ssn", "card", "born", "passport", "jane.doe", "example.com", "www.",
            "://", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "00:1A:2B", "::", "é", "７",
        ][..]), 0..40)
    ) {
        assert_same_as_whole(&parts.concat());
    }
}

#[test]
fn fullwidth_digits_found_in_balanced_mapped_to_original() {
    let text = "card ４１１１ １１１１ １１１１ １１１１";
    let got = found(text, Mode::Balanced);
    assert!(
        got.iter()
            .any(|(e, v)| e == "credit_card" && v == "４１１１ １１１１ １１１１ １１１１"),
        "{got:?}"
    );
    assert!(found(text, Mode::Fast).is_empty());
}

/// Every registered entity name and every alias is accepted as a `sentinelai.pii` argument.
#[test]
fn every_entity_name_and_alias_compiles() {
    for name in ENTITY_NAMES {
        let def = format!("any.text has sentinelai.pii({name})");
        assert!(crate::compile::compile(&def).is_ok(), "{def}");
    }
    for name in [
        "itin",
        "steuer_id",
        "codice_fiscale",
        "dni",
        "cpf",
        "aadhaar",
        "curp",
        "tfn",
    ] {
        assert!(alias(name).is_some(), "{name}");
        let def = format!("any.text has sentinelai.pii({name})");
        assert!(crate::compile::compile(&def).is_ok(), "{def}");
    }
    assert!(crate::compile::compile("any.text has sentinelai.pii(not_an_entity)").is_err());
}

/// A tagger finding's explanation is its entity's name and ` (tagger)`.
#[test]
fn tagger_explanations_name_the_entity() {
    for kind in [
        ner::Kind::Person,
        ner::Kind::Location,
        ner::Kind::Organization,
    ] {
        let (e, why) = tagged(kind);
        assert_eq!(why, format!("{} (tagger)", e.name()));
    }
    assert_eq!(tagged(ner::Kind::Person).0, Entity::Person);
    assert_eq!(tagged(ner::Kind::Location).0, Entity::Location);
    assert_eq!(tagged(ner::Kind::Organization).0, Entity::Organization);
}
