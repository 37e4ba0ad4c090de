//! Context words: words near a candidate that make it personal data (`call` before a phone
//! number, `passport` before nine digits), read from `data/context_words.txt`.

use std::sync::OnceLock;

use super::Entity;
use super::plan::Where;
use crate::detect::context::{
    CONTEXT_AFTER, CONTEXT_BEFORE, ContextWords, ceil_boundary, floor_boundary,
};

/// The context group of the words that mark a dotted number as a version, not an IPv4 address.
pub(super) const VERSION: u32 = 999;

/// How much context adds to a base score.
pub(super) const CONTEXT_BOOST: f64 = 0.3;

const WORDS: &str = include_str!("data/context_words.txt");

/// The groups of `data/context_words.txt`: each entity's index, or [`VERSION`].
fn lists() -> Vec<(u32, Vec<&'static str>)> {
    WORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (name, words) = l.split_once(':')?;
            let group = match name.trim() {
                "version" => VERSION,
                n => Entity::from_name(n)? as u32,
            };
            Some((group, words.split(',').map(str::trim).collect()))
        })
        .collect()
}

/// One automaton per group (each entity, then [`VERSION`]): a candidate is checked against its
/// own entity's few words only, so short words of other entities (`dl`, `pan`, `sin`) never
/// cost it a match.
fn groups() -> &'static [ContextWords] {
    static CW: OnceLock<Vec<ContextWords>> = OnceLock::new();
    CW.get_or_init(|| {
        let lists = lists();
        (0..=super::ALL.len())
            .map(|i| {
                let g = if i == super::ALL.len() {
                    VERSION
                } else {
                    i as u32
                };
                let refs: Vec<(u32, &[&str])> = lists
                    .iter()
                    .filter(|(lg, _)| *lg == g)
                    .map(|(lg, w)| (*lg, w.as_slice()))
                    .collect();
                ContextWords::new(&refs)
            })
            .collect()
    })
}

/// The automaton of a group.
fn group(g: u32) -> &'static ContextWords {
    let all = groups();
    let i = if g == VERSION {
        all.len() - 1
    } else {
        g as usize
    };
    &all[i.min(all.len() - 1)]
}

/// Whether a version word (`version`, `release`, `build`) is near `[s, e)`.
pub(super) fn version_near(text: &str, s: usize, end: usize) -> bool {
    group(VERSION).near(text, s, end, VERSION)
}

/// Whether a context word of `e` is near `[s, e)`.
pub(super) fn near(text: &str, s: usize, end: usize, e: Entity) -> bool {
    group(e as u32).near(text, s, end, e as u32) || unspaced_near(text, s, end, e)
}

/// Whether `word` is an identifier's label written as an acronym (`IBAN`, `NINO`, `SSN`,
/// `CPF`): a single word of ASCII letters among the context words of the identifiers and
/// dates of birth, in capitals. The names tagger takes such a label for a name (`IBAN DE89 …`,
/// `NINO AB123456C`); `names_entity_plausible` in `mod.rs` drops what rests on one. The words of
/// e-mail, phone, card, network and wallet values are left out: they hold brands and common
/// words (`VISA`, `AMEX`, `MAC`) that can be organisations.
pub(super) fn is_label_acronym(word: &str) -> bool {
    static LABELS: OnceLock<Vec<String>> = OnceLock::new();
    let labels = LABELS.get_or_init(|| {
        let mut words: Vec<String> = lists()
            .into_iter()
            .filter(|&(g, _)| {
                const NOT_IDENTIFIERS: [Entity; 6] = [
                    Entity::Email,
                    Entity::Phone,
                    Entity::CreditCard,
                    Entity::IpAddress,
                    Entity::MacAddress,
                    Entity::CryptoWallet,
                ];
                g != VERSION && !NOT_IDENTIFIERS.iter().any(|&e| e as u32 == g)
            })
            .flat_map(|(_, w)| w)
            .filter(|w| w.len() >= 2 && w.bytes().all(|b| b.is_ascii_lowercase()))
            .map(str::to_ascii_uppercase)
            .collect();
        words.sort_unstable();
        words.dedup();
        words
    });
    word.len() >= 2
        && word.bytes().all(|b| b.is_ascii_uppercase())
        && labels.binary_search_by(|l| l.as_str().cmp(word)).is_ok()
}

/// Chinese and Japanese are written without spaces, so their context words have no word
/// boundaries to check (`我的身份证号码是…`): they count anywhere in the context window.
fn unspaced_near(text: &str, s: usize, end: usize, e: Entity) -> bool {
    static UNSPACED: OnceLock<Vec<(u32, &'static str)>> = OnceLock::new();
    let words = UNSPACED.get_or_init(|| {
        let unspaced = |c: char| {
            ('\u{3040}'..='\u{30ff}').contains(&c) || ('\u{3400}'..='\u{9fff}').contains(&c)
        };
        lists()
            .into_iter()
            .flat_map(|(g, w)| w.into_iter().map(move |w| (g, w)))
            .filter(|(_, w)| w.chars().next().is_some_and(unspaced))
            .collect()
    });
    let from = floor_boundary(text, s.saturating_sub(CONTEXT_BEFORE));
    let to = ceil_boundary(text, end.saturating_add(CONTEXT_AFTER));
    // Only the window is looked at: this runs once per candidate.
    let window = &text[from..to];
    if window.is_ascii() {
        return false;
    }
    words
        .iter()
        .any(|&(g, w)| g == e as u32 && window.contains(w))
}

/// The windows of `w` around which a context word of `e` may be (see
/// `ContextWords::may_be_near`): the others cannot hold a match that
/// `consider_with_required_context` keeps.
pub(super) fn with_context(text: &str, w: Where, e: Entity) -> Where {
    match w {
        Where::Everywhere => Where::Everywhere,
        Where::Windows(mut w) => {
            w.retain(|&(s, end)| group(e as u32).may_be_near(text, s, end, e as u32));
            Where::Windows(w)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_data_file_names_an_entity() {
        let lines = WORDS
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(lists().len(), lines, "a line names an unknown entity");
        assert!(near("call me at 555", 11, 14, Entity::Phone));
        assert!(!near("the value 555", 10, 13, Entity::Phone));
        let cn = "我的身份证号码是110101195103070125。";
        let s = cn.find('1').unwrap_or(0);
        assert!(near(cn, s, s + 18, Entity::CnResidentId));
        assert!(!near(cn, s, s + 18, Entity::JpMyNumber));
        // A word cut by a window's edge is no context word.
        // `mydl`: the window of the number starts at its `d` (CONTEXT_BEFORE bytes before).
        let t = format!("mydl{}1234567", " ".repeat(CONTEXT_BEFORE - 2));
        let n = t.find('1').unwrap_or(0);
        assert_eq!(n - CONTEXT_BEFORE, 2);
        assert!(!near(&t, n, n + 7, Entity::DriverLicense));
        assert!(near("my DL 1234567", 6, 13, Entity::DriverLicense));
    }
}
