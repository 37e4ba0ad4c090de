//! The name, place and cue-word lists behind the tagger's gazetteer features.
//!
//! The lists are data files written by `scripts/train/ner.py` (each names its source in its
//! header): first names, last names, common words that are not names, and places plus cue words
//! (`<kind> <tokens>`). They are compiled in and decoded once, on first use, into one table from
//! the FNV-1a hash of an entry (its lowercased tokens joined by one space) to the OR of its
//! flags, so a lookup is one hash of the token and one probe, with no string building.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use super::fnv::Fnv;

pub(crate) const FIRST: u16 = 1;
pub(crate) const LAST: u16 = 1 << 1;
pub(crate) const COMMON: u16 = 1 << 2;
pub(crate) const CITY: u16 = 1 << 3;
pub(crate) const REGION: u16 = 1 << 4;
pub(crate) const TITLE: u16 = 1 << 5;
pub(crate) const SUFFIX: u16 = 1 << 6;
pub(crate) const HEAD: u16 = 1 << 7;
pub(crate) const STREET: u16 = 1 << 8;
/// First token of a multi-token place (set by the phrase pass, never stored).
pub(crate) const PHRASE_BEGIN: u16 = 1 << 9;
/// Later token of a multi-token place.
pub(crate) const PHRASE_INSIDE: u16 = 1 << 10;
/// The names of the flag bits in feature strings, bit 0 first.
pub(crate) const FLAG_NAMES: [&str; 11] = ["F", "L", "N", "C", "R", "T", "S", "H", "A", "PB", "PI"];

const FIRST_TXT: &str = include_str!("data/first.txt");
const LAST_TXT: &str = include_str!("data/last.txt");
const COMMON_TXT: &str = include_str!("data/common.txt");
const PLACES_TXT: &str = include_str!("data/places.txt");

/// The keys are FNV-1a hashes already: hashing them again would only cost time.
#[derive(Default)]
pub(crate) struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) struct Gazetteer {
    table: HashMap<u64, u16, BuildHasherDefault<Identity>>,
}

fn entries(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn place_flag(kind: &str) -> Option<u16> {
    Some(match kind {
        "c" => CITY,
        "r" => REGION,
        "t" => TITLE,
        "s" => SUFFIX,
        "h" => HEAD,
        "a" => STREET,
        _ => return None,
    })
}

impl Gazetteer {
    fn load() -> Gazetteer {
        let mut table: HashMap<u64, u16, BuildHasherDefault<Identity>> = HashMap::default();
        table.reserve(500_000);
        for (text, flag) in [(FIRST_TXT, FIRST), (LAST_TXT, LAST), (COMMON_TXT, COMMON)] {
            for line in entries(text) {
                *table.entry(Fnv::of(line.as_bytes())).or_insert(0) |= flag;
            }
        }
        for line in entries(PLACES_TXT) {
            let Some((kind, phrase)) = line.split_once(' ') else {
                continue;
            };
            if let Some(flag) = place_flag(kind) {
                *table.entry(Fnv::of(phrase.as_bytes())).or_insert(0) |= flag;
            }
        }
        Gazetteer { table }
    }

    /// The flags of an entry, by the FNV-1a hash of its lowercased tokens joined by one space.
    #[inline]
    pub(crate) fn get(&self, hash: u64) -> u16 {
        self.table.get(&hash).copied().unwrap_or(0)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

pub(crate) static GAZETTEER: LazyLock<Gazetteer> = LazyLock::new(Gazetteer::load);

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(entry: &str) -> u16 {
        GAZETTEER.get(Fnv::of(entry.as_bytes()))
    }

    #[test]
    fn lists_load_with_their_flags() {
        // Every list contributes: well over a hundred thousand names, and the places.
        assert!(GAZETTEER.len() > 300_000, "{}", GAZETTEER.len());
        assert_ne!(flags("maria") & FIRST, 0);
        assert_ne!(flags("gonzalez") & LAST, 0);
        assert_ne!(flags("munich") & CITY, 0);
        assert_ne!(flags("buenos aires") & CITY, 0);
        assert_ne!(flags("germany") & REGION, 0);
        assert_ne!(flags("texas") & REGION, 0);
        assert_ne!(flags("gmbh") & SUFFIX, 0);
        assert_ne!(flags("dr") & TITLE, 0);
        assert_ne!(flags("avenue") & STREET, 0);
        assert_ne!(flags("university") & HEAD, 0);
        assert_eq!(flags("Maria"), 0, "entries are lowercased");
        assert_eq!(flags("xqzvbw"), 0);
    }

    #[test]
    fn every_data_file_names_its_source() {
        for text in [FIRST_TXT, LAST_TXT, COMMON_TXT, PLACES_TXT] {
            let head = text.lines().next().unwrap_or_default();
            assert!(head.starts_with("# ") && head.contains("0."), "{head}");
        }
        assert!(
            PLACES_TXT
                .lines()
                .next()
                .unwrap_or_default()
                .contains("GeoNames")
        );
    }
}
