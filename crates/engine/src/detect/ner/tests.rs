//! The tagger against the training script's golden cases, its tokenizers against each other,
//! and what `scan` finds.

use super::candidates::{candidate_at, candidates, flags, is_connector};
use super::fnv::Fnv;
use super::gazetteer::{CITY, PHRASE_BEGIN, PHRASE_INSIDE};
use super::score::{decode, ends_sentence, feed_hex, hex, legal};
use super::tokens::{Shape, Tokens, tokenize_ascii, tokenize_ascii_bytewise, tokenize_chars};
use super::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct ModeCase {
    tags: Vec<usize>,
    scores: Vec<Vec<i32>>,
    flags: Vec<u16>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    tokens: Vec<(usize, usize)>,
    balanced: ModeCase,
    robust: ModeCase,
}

#[derive(Deserialize)]
struct Golden {
    cases: Vec<Case>,
}

/// The training script's golden cases (`data/golden.json`).
fn golden() -> Golden {
    serde_json::from_str(include_str!("data/golden.json"))
        .unwrap_or_else(|e| panic!("golden.json: {e}"))
}

#[test]
fn agrees_with_the_training_script() {
    let g = golden();
    assert!(g.cases.len() >= 8);
    for case in &g.cases {
        let t = tokenize(&case.text, false);
        let spans: Vec<(usize, usize)> = t.list.iter().map(|x| (x.start, x.end)).collect();
        assert_eq!(spans, case.tokens, "tokens of {:?}", case.text);
        for (robust, want) in [(false, &case.balanced), (true, &case.robust)] {
            let (cand, list) = candidates(&t, robust);
            let fl = flags(&t, &cand, &list, robust, &GAZETTEER);
            assert_eq!(fl, want.flags, "flags of {:?}", case.text);
            let got = decode(&t, robust, &MODEL, &GAZETTEER);
            let tags: Vec<usize> = got.iter().map(|x| x.0).collect();
            assert_eq!(tags, want.tags, "robust={robust} {:?}", case.text);
            for (i, (x, w)) in got.iter().zip(&want.scores).enumerate() {
                if !w.is_empty() {
                    assert_eq!(&x.1[..], &w[..], "scores of token {i} of {:?}", case.text);
                }
            }
        }
    }
}

#[test]
fn the_ascii_tokenizer_agrees_with_the_general_one() {
    let g = golden();
    let extra = [
        "O'Neill's co-founder met Dr. Smith-Jones at 10 Downing St., London SW1A 2AA!",
        "tabs\tand\u{b}vertical\u{c}feeds\r\nrock'n'roll -- 'quoted' x-  -y  it's IT'S",
        "",
        "   ",
        "a'b'c-d-e's's 9'' 3-",
    ];
    let texts = g.cases.iter().map(|c| c.text.as_str()).chain(extra);
    for text in texts.filter(|t| t.is_ascii()) {
        let (a, b) = (tokenize_ascii::<false>(text), tokenize_chars(text));
        let eager = tokenize_ascii::<true>(text);
        for i in 0..a.list.len() {
            assert_eq!(eager.shape(i), a.shape(i), "{text:?}");
        }
        let key = |t: &Tokens<'_>| -> Vec<_> {
            t.list
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    (
                        x.start,
                        x.end,
                        t.lw(i).to_owned(),
                        t.shape(i),
                        x.upper_start,
                        x.digit_start,
                    )
                })
                .collect()
        };
        assert_eq!(key(&a), key(&b), "{text:?}");
        assert_eq!(a.seeds, b.seeds, "{text:?}");
    }
}

/// A token in every field: span, lower-case form, stored shape, first character.
type TokenFields = (usize, usize, String, Shape, bool, bool);

/// The tokens of an ASCII tokenizer in every field, and its seeds.
fn ascii_tokens(tokenize: fn(&str) -> Tokens<'_>, text: &str) -> (Vec<TokenFields>, Vec<usize>) {
    let t = tokenize(text);
    assert!(t.ascii);
    let list = (0..t.list.len())
        .map(|i| {
            let x = &t.list[i];
            let shape = Shape(x.shape, x.shape_len);
            (
                x.start,
                x.end,
                t.lw(i).to_owned(),
                shape,
                x.upper_start,
                x.digit_start,
            )
        })
        .collect();
    (list, t.seeds)
}

/// The word-mask tokenizer against the byte-by-byte one, in both modes (the shapes are
/// compared as stored: eager in robust mode, deferred in balanced mode).
fn assert_ascii_tokenizers_agree(text: &str) {
    assert_eq!(
        ascii_tokens(tokenize_ascii::<false>, text),
        ascii_tokens(tokenize_ascii_bytewise::<false>, text),
        "{text:?}"
    );
    assert_eq!(
        ascii_tokens(tokenize_ascii::<true>, text),
        ascii_tokens(tokenize_ascii_bytewise::<true>, text),
        "{text:?}"
    );
}

#[test]
fn the_ascii_tokenizer_agrees_with_its_bytewise_reference() {
    let long = "a".repeat(200);
    let texts = [
        "",
        " ",
        "a",
        "'",
        "-a",
        "a-",
        "a'",
        "a's",
        "a'sb",
        "A'S.",
        "o'neill's co-founder",
        "rock'n'roll x-  -y it's IT'S a''b a--b 'a' -1- 9'' 3-",
        long.as_str(),
        &format!("{long} {long}'s x-{long}"),
        &format!("{}Ab-cd", "x".repeat(62)),
        &format!("{}'s", "x".repeat(63)),
        &format!("{}'s", "x".repeat(62)),
        &format!("{}-b", "x".repeat(63)),
        &format!("{} Zed", " ".repeat(63)),
        &format!("{}.", "y".repeat(64)),
        &"z".repeat(128),
        "tabs\tand\u{b}vertical\u{c}feeds\r\nend\u{0}\u{1f}\u{7f}!",
    ];
    for text in texts {
        assert_ascii_tokenizers_agree(text);
    }
    for case in golden().cases.iter().filter(|c| c.text.is_ascii()) {
        assert_ascii_tokenizers_agree(&case.text);
    }
    // More tokens than the tokenizer keeps.
    assert_ascii_tokenizers_agree(&"a b ".repeat(MAX_TOKENS));
    assert_ascii_tokenizers_agree(&"ab.".repeat(MAX_TOKENS));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]
    #[test]
    fn the_ascii_tokenizer_agrees_with_its_bytewise_reference_on_noise(
        parts in proptest::collection::vec(proptest::sample::select(&[
            "a", "B", "s", "S", "9", "'", "'", "-", "-", " ", "  ", "\n", "\t", ".", ",",
            "(", "\u{0}", "of", "Jane", "O'Neill", "it's", "x-y", "'s", "-3", "12",
            "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghij",
        ][..]), 0..40)
    ) {
        let text = parts.concat();
        assert_ascii_tokenizers_agree(&text);
    }
}

/// Balanced mode's candidates from the seeds are those of visiting every token.
#[test]
fn candidates_from_the_seeds_are_those_of_every_token() {
    let g = golden();
    let extra = [
        "Mr. Smith of Acme Inc. met 10 Downing St. and 221 of Baker St. de la Cruz, 5 o 6",
        "12 34 Main St. at 7 the of de Paris . Rome. 3 de",
        "",
        "lower case only, 42",
    ];
    for text in g.cases.iter().map(|c| c.text.as_str()).chain(extra) {
        let t = tokenize(text, false);
        let n = t.list.len();
        let mut cand = vec![false; n];
        let mut list = Vec::new();
        for i in 0..n {
            candidate_at(&t, &mut cand, &mut list, i);
        }
        assert_eq!(candidates(&t, false), (cand, list), "{text:?}");
    }
}

fn found(text: &str, mode: Mode) -> Vec<(Kind, &str)> {
    scan(text, mode)
        .into_iter()
        .map(|e| (e.kind, &text[e.start..e.end]))
        .collect()
}

#[test]
fn tokens_keep_names_whole() {
    let t = tokenize("O'Neill's Winston-Salem office, Zoë's café — 12B", false);
    let words: Vec<&str> = (0..t.list.len()).map(|i| t.word(i)).collect();
    assert_eq!(
        words,
        [
            "O'Neill",
            "'",
            "s",
            "Winston-Salem",
            "office",
            ",",
            "Zoë",
            "'",
            "s",
            "café",
            "—",
            "12B"
        ]
    );
    assert_eq!(t.lw(0), "o'neill");
    assert_eq!(t.shape(0).as_bytes(), b"X'Xx");
    assert_eq!(t.shape(11).as_bytes(), b"dX");
}

#[test]
fn finds_people_places_and_organisations() {
    let text = "My name is Maria Gonzalez and I live in Buenos Aires.";
    let got = found(text, Mode::Balanced);
    assert!(got.contains(&(Kind::Person, "Maria Gonzalez")), "{got:?}");
    assert!(got.contains(&(Kind::Location, "Buenos Aires")), "{got:?}");
    let text = "Dr. Heinrich Albers works at Siemens AG in Munich.";
    let got = found(text, Mode::Balanced);
    assert!(got.contains(&(Kind::Person, "Heinrich Albers")), "{got:?}");
    assert!(got.contains(&(Kind::Location, "Munich")), "{got:?}");
    assert!(
        got.iter()
            .any(|(k, s)| *k == Kind::Organization && s.contains("Siemens")),
        "{got:?}"
    );
}

#[test]
fn spans_are_byte_offsets_of_the_text() {
    let text = "Zoë Brontë flew from São Paulo yesterday.";
    for e in scan(text, Mode::Balanced) {
        assert!(text.is_char_boundary(e.start) && text.is_char_boundary(e.end));
        assert!(e.start < e.end && (0.5..=0.99).contains(&e.score));
    }
    assert!(found(text, Mode::Balanced).contains(&(Kind::Location, "São Paulo")));
}

#[test]
fn entities_do_not_take_in_the_periods_around_them() {
    let t = tokenize(
        "Ask J. Smith at Acme Corp. in Bank of Lisbon. Then the U.S. and Kim.",
        false,
    );
    // The index of the `n`th token (from 0) that reads `w`.
    let at = |w: &str, n: usize| {
        (0..t.list.len())
            .filter(|&i| t.word(i) == w)
            .nth(n)
            .unwrap_or_else(|| panic!("no token {w:?}"))
    };
    let words = |r: Option<(usize, usize)>| r.map(|(a, b)| &t.text[t.list[a].start..t.list[b].end]);
    // Tagged from the period after an initial: the period goes ([`initial_before`] then
    // brings the initial in).
    let smith = (at(".", 0), at("Smith", 0));
    assert_eq!(words(trim_periods(&t, smith.0, smith.1)), Some("Smith"));
    // An abbreviation keeps its period; a sentence's period is dropped.
    let acme = (at("Acme", 0), at(".", 1));
    assert_eq!(words(trim_periods(&t, acme.0, acme.1)), Some("Acme Corp."));
    let bank = (at("Bank", 0), at(".", 2));
    assert_eq!(
        words(trim_periods(&t, bank.0, bank.1)),
        Some("Bank of Lisbon")
    );
    let kim = (at("Kim", 0), at(".", 5));
    assert_eq!(words(trim_periods(&t, kim.0, kim.1)), Some("Kim"));
    // After an initial the period stays.
    let us = (at("U", 0), at(".", 4));
    assert_eq!(words(trim_periods(&t, us.0, us.1)), Some("U.S."));
    // A period alone is no entity.
    let alone = at(".", 2);
    assert_eq!(trim_periods(&t, alone, alone), None);
}

#[test]
fn a_name_takes_in_the_initials_before_it() {
    let t = tokenize("Ask J. R. Smith, the U.S. Weber and Lee, x. Kim.", false);
    let at = |w: &str| {
        (0..t.list.len())
            .find(|&i| t.word(i) == w)
            .unwrap_or_else(|| panic!("no token {w:?}"))
    };
    assert_eq!(initial_before(&t, at("Smith")), Some(at("R")));
    assert_eq!(initial_before(&t, at("R")), Some(at("J")));
    assert_eq!(initial_before(&t, at("J")), None);
    // Not the S of `U.S.`, nor a lower-case letter.
    assert_eq!(initial_before(&t, at("Weber")), None);
    assert_eq!(initial_before(&t, at("Kim")), None);
}

#[test]
fn text_without_capitals_is_told_apart() {
    for text in [
        "i met jenny in london",
        "héllo wörld, 42",
        "met zoë in łódź, ok ы",
    ] {
        assert!(written_without_capitals(text), "{text:?}");
    }
    // Mostly Chinese or Cyrillic with a few Latin letters: not for the English tagger.
    for text in [
        "ok. привет",
        "原告邱xxx诉被告李xxx离婚后财产纠纷一案",
        "请帮我写b和d的方案",
    ] {
        assert!(!written_without_capitals(text), "{text:?}");
    }
    for text in [
        "",
        "42 - 7",
        "I met jenny",
        "hello Ünï",
        "привет",
        "你好 world Ё",
    ] {
        assert!(!written_without_capitals(text), "{text:?}");
    }
}

/// In a text written without capitals lower-case letters have the shape class `c`, in
/// every mode and with either tokenizer; one capital brings back `x`.
#[test]
fn a_text_without_capitals_has_its_own_shapes() {
    let shapes = |text: &str, all: bool| {
        let t = tokenize(text, all);
        (0..t.list.len())
            .map(|i| String::from_utf8_lossy(t.shape(i).as_bytes()).into_owned())
            .collect::<Vec<_>>()
    };
    for all in [false, true] {
        assert_eq!(shapes("met jo-ann at 10am", all), ["c", "c-c", "c", "dc"]);
        assert_eq!(shapes("met zoë", all), ["c", "c"]);
        assert_eq!(shapes("met Zoë", all), ["x", "Xx"]);
        assert_eq!(shapes("I met jo", all), ["X", "x", "x"]);
    }
}

/// Balanced mode scores every token of a text written without capitals, as robust mode
/// does; one capital (the pronoun `I`) brings back its candidates.
#[test]
fn balanced_mode_reads_a_text_without_capitals_whole() {
    let lower = "i met jenny from london at starbucks";
    let found = scan(lower, Mode::Balanced);
    assert!(!found.is_empty());
    let spans = |v: &[Entity]| {
        v.iter()
            .map(|e| (e.kind, e.start, e.end))
            .collect::<Vec<_>>()
    };
    assert_eq!(spans(&found), spans(&scan(lower, Mode::Robust)));
    assert!(scan("I met jenny from london at starbucks", Mode::Balanced).is_empty());
}

/// Through [`scan`]: whatever the tagger makes of these, no entity starts or ends with a
/// sentence's period, and a person found beside an initial holds it.
#[test]
fn scanned_entities_have_clean_edges() {
    for text in [
        "Please forward this to A. Dejesus at Goetzke and Sons.",
        "(ref. D. Weddleton, Hazebrouck) The plan was approved.",
        "I met J. R. Smith at the Bank of Lisbon. He works for Acme Corp.",
    ] {
        for e in scan(text, Mode::Balanced) {
            let span = &text[e.start..e.end];
            assert!(!span.starts_with('.'), "{span:?} in {text:?}");
            assert!(
                !span.ends_with('.') || span.ends_with("Corp."),
                "{span:?} in {text:?}"
            );
            if e.kind == Kind::Person {
                let before = &text[..e.start];
                assert!(
                    !before.ends_with(". ")
                        || !before[..before.len() - 2].ends_with(|c: char| c.is_ascii_uppercase()),
                    "{span:?} leaves its initial out in {text:?}"
                );
            }
        }
    }
}

#[test]
fn lower_case_names_are_found_where_case_tells_nothing() {
    for mode in [Mode::Balanced, Mode::Robust] {
        assert!(scan("the python script crashed again, check the logs", mode).is_empty());
        assert!(scan("", mode).is_empty());
        assert!(scan("12345 ... ???", mode).is_empty());
        let got = found("yesterday i met jenny smith in london", mode);
        assert!(got.contains(&(Kind::Location, "london")), "{got:?}");
    }
    // In cased text balanced mode reads the capitalised words only.
    let cased = "Yesterday I met jenny smith in london";
    let got = found(cased, Mode::Robust);
    assert!(got.contains(&(Kind::Location, "london")), "{got:?}");
    assert!(found(cased, Mode::Balanced).is_empty());
}

/// The entities through the product path: `sentinelai.pii` by default and by name, in
/// balanced and robust modes, never in fast mode.
#[test]
fn pii_reports_them_in_balanced_and_robust_only() {
    use crate::{Action, Input, PolicySet, PolicySpec, Scope, Severity};
    let text = "Please forward this to Maria Gonzalez at Siemens AG in Munich.";
    let entities = |definition: &str, mode: Mode| -> Vec<(String, String)> {
        let set = PolicySet::new(vec![PolicySpec {
            id: 1,
            name: "p".into(),
            definition: definition.into(),
            severity: Severity::Medium,
            mode,
            action: Action::Notification,
            intervention_config: None,
            enforcement: crate::Enforcement::Enforce,
        }]);
        assert!(set.errors().is_empty(), "{:?}", set.errors());
        let scope = Scope::default();
        let input = Input {
            prompt: Some(text),
            completion: None,
            scope: &scope,
        };
        set.evaluate(&input)
            .findings
            .into_iter()
            .map(|f| (f.entity.into_owned(), text[f.start..f.end].to_owned()))
            .collect()
    };
    for mode in [Mode::Balanced, Mode::Robust] {
        let got = entities("any.text has sentinelai.pii", mode);
        assert!(
            got.contains(&("person".into(), "Maria Gonzalez".into())),
            "{got:?}"
        );
        assert!(
            got.contains(&("location".into(), "Munich".into())),
            "{got:?}"
        );
        assert!(got.iter().any(|(e, _)| e == "organization"), "{got:?}");
    }
    let only = entities("any.text has sentinelai.pii(person)", Mode::Balanced);
    assert!(
        !only.is_empty() && only.iter().all(|(e, _)| e == "person"),
        "{only:?}"
    );
    let alias = entities("any.text has sentinelai.pii(company)", Mode::Balanced);
    assert!(
        !alias.is_empty() && alias.iter().all(|(e, _)| e == "organization"),
        "{alias:?}"
    );
    assert!(entities("any.text has sentinelai.pii", Mode::Fast).is_empty());
}

/// A place of two tokens is flagged in both modes; a lone candidate begins no phrase.
#[test]
fn phrase_flags() {
    let text = "Ana lives in Buenos Aires near Lisbon";
    let t = tokenize(text, false);
    for robust in [false, true] {
        let (cand, list) = candidates(&t, robust);
        let fl = flags(&t, &cand, &list, robust, &GAZETTEER);
        assert_eq!(
            fl[3] & (PHRASE_BEGIN | CITY),
            PHRASE_BEGIN | CITY,
            "{robust}"
        );
        assert_eq!(
            fl[4] & (PHRASE_INSIDE | CITY),
            PHRASE_INSIDE | CITY,
            "{robust}"
        );
        for k in [0, 1, 2, 5, 6] {
            assert_eq!(fl[k] & (PHRASE_BEGIN | PHRASE_INSIDE), 0, "{k} {robust}");
        }
    }
}

/// Every listed connector is one by its bytes, and nothing else is.
#[test]
fn connectors_by_bytes() {
    for l in include_str!("data/connectors.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        assert!(is_connector(l.as_bytes()), "{l}");
    }
    for w in ["", "x", "ofx", "london", "of the", "connectors"] {
        assert!(!is_connector(w.as_bytes()), "{w}");
    }
}

/// Only the ASCII tokenizer marks its tokens ASCII (the prefix and suffix features then
/// take bytes without testing each word).
#[test]
fn ascii_texts_are_marked() {
    assert!(tokenize("Zoe met Ana", false).ascii);
    assert!(tokenize("Zoe met Ana", true).ascii);
    assert!(!tokenize("Zoë met Ana", false).ascii);
    assert!(!tokenize_chars("Zoe met Ana").ascii);
}

#[test]
fn sentence_ends() {
    for b in 0..=255u8 {
        assert_eq!(ends_sentence(&[b]), b".!?:\"(".contains(&b), "{b}");
    }
    assert!(!ends_sentence(b""));
    assert!(!ends_sentence(b".."));
    assert!(!ends_sentence("。".as_bytes()));
}

#[test]
fn hex_and_legal_tags() {
    let mut b = [0u8; 4];
    for v in 0..=u16::MAX {
        let want = Fnv::new().bytes(hex(v, &mut b)).0;
        assert_eq!(feed_hex(Fnv::new(), v).0, want, "{v:x}");
    }
    assert_eq!(hex(0, &mut b), b"0");
    assert_eq!(hex(0x40c, &mut b), b"40c");
    assert_eq!(legal(0, 2), 1);
    assert_eq!(legal(1, 2), 2);
    assert_eq!(legal(3, 6), 5);
    assert_eq!(legal(0, 3), 3);
}
