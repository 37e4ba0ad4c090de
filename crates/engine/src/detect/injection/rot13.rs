//! Whether a text reads like rot13-encoded English ([`looks_rot13`]): frequent English words in
//! their rot13 form, or failing that letter frequencies, on the first words and bytes only.

use std::sync::LazyLock;

use crate::normalize::LOWER_LETTER;

/// Rot13 forms of frequent English words ("the", "you", "and", "ignore" ...), one per line,
/// lower-case, each as the number its bytes spell ([`word_key`]), in a small hash set that also
/// knows their rot13 (the frequent words as written). A lookup compares integers: this check runs
/// on every text an attack detector reads, and comparing the words as byte strings (a `memcmp`
/// call each) cost more than the rest of it; one lookup per word of the text tells both whether
/// it is listed and whether its rot13 is.
pub(super) static ROT13_WORDS: LazyLock<WordSet> = LazyLock::new(|| {
    let words: Vec<u128> = include_str!("data/rot13_words.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && l.len() <= 16)
        .map(|l| word_key(l.as_bytes()))
        .collect();
    WordSet::new(&words)
});

/// [`WordSet::flags`] of a listed word.
pub(super) const LISTED: u8 = 1;
/// [`WordSet::flags`] of a word whose rot13 is listed.
pub(super) const ROT13_LISTED: u8 = 2;

/// A set of nonzero word keys and their rot13 forms: open addressing, at most a quarter full, 0
/// marking a free slot; each slot's flags say which of the two it holds.
pub(super) struct WordSet {
    slots: Vec<u128>,
    flags: Vec<u8>,
    mask: usize,
}

impl WordSet {
    pub(super) fn new(words: &[u128]) -> Self {
        let size = (words.len() * 8).next_power_of_two().max(16);
        let mut set = WordSet {
            slots: vec![0; size],
            flags: vec![0; size],
            mask: size - 1,
        };
        for &w in words {
            set.insert(w, LISTED);
            set.insert(rot13_key(w), ROT13_LISTED);
        }
        set
    }

    fn insert(&mut self, key: u128, flag: u8) {
        if key == 0 {
            return;
        }
        let mut i = self.slot(key);
        while self.slots.get(i).is_some_and(|&k| k != 0 && k != key) {
            i = (i + 1) & self.mask;
        }
        if let (Some(k), Some(f)) = (self.slots.get_mut(i), self.flags.get_mut(i)) {
            *k = key;
            *f |= flag;
        }
    }

    fn slot(&self, key: u128) -> usize {
        let folded = (key >> 64) as u64 ^ key as u64;
        (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize & self.mask
    }

    /// [`LISTED`] if `key` is listed, [`ROT13_LISTED`] if its rot13 is, both or neither.
    #[inline(always)]
    pub(super) fn flags(&self, key: u128) -> u8 {
        let mut i = self.slot(key);
        loop {
            match self.slots.get(i) {
                Some(&k) if k == key => return self.flags.get(i).copied().unwrap_or(0),
                Some(&k) if k != 0 => i = (i + 1) & self.mask,
                _ => return 0,
            }
        }
    }

    #[cfg(test)]
    pub(super) fn contains(&self, key: u128) -> bool {
        self.flags(key) & LISTED != 0
    }
}

/// [`rot13_ascii`] of every byte of a [`word_key`].
pub(super) fn rot13_key(key: u128) -> u128 {
    u128::from_be_bytes(key.to_be_bytes().map(rot13_ascii))
}

/// A word of at most 16 bytes as the number its bytes spell, big-endian: two such words are
/// equal exactly when their numbers are (a letter is never a zero byte, so the highest nonzero
/// byte is the first letter and the length follows).
pub(super) fn word_key(word: &[u8]) -> u128 {
    word.iter().fold(0, |k, &b| (k << 8) | u128::from(b))
}

/// Whether `text` reads like rot13-encoded English: among its first 64 words, at least two
/// distinct frequent English words in their rot13 form, and more of those than of the frequent
/// words as written ("the gur file" is English with a stray word, not rot13); or, failing that,
/// its letters are far likelier as rot13 of English than as written ([`rot13_letters`]).
pub(crate) fn looks_rot13(text: &str) -> bool {
    let (rot13, english) = rot13_words(text);
    // Two frequent English words as written: English, so the letter check is skipped (it then
    // runs only on the few texts without them, which keeps its cost off ordinary prompts).
    rot13 || !english && rot13_letters(text)
}

/// Frequencies of the letters a-z in English text, per ten thousand letters (the usual table,
/// rounded).
const ENGLISH_LETTERS: [f64; 26] = [
    820.0, 150.0, 280.0, 430.0, 1270.0, 220.0, 200.0, 610.0, 700.0, 15.0, 80.0, 400.0, 240.0,
    670.0, 750.0, 190.0, 10.0, 600.0, 630.0, 910.0, 280.0, 100.0, 240.0, 15.0, 200.0, 7.0,
];

/// Per letter, how much likelier its rot13 is than itself in English: `ln f(rot13(c)) - ln f(c)`.
static ROT13_GAIN: LazyLock<[f64; 26]> = LazyLock::new(|| {
    let mut gain = [0.0; 26];
    for (i, g) in gain.iter_mut().enumerate() {
        let rotated = ENGLISH_LETTERS.get((i + 13) % 26).copied().unwrap_or(1.0);
        let plain = ENGLISH_LETTERS.get(i).copied().unwrap_or(1.0);
        *g = (rotated / plain).ln();
    }
    gain
});

/// Bytes of a text the letter check reads.
const ROT13_LETTERS_READ: usize = 512;

/// The letter check of [`looks_rot13`], for rot13 text without the frequent words its word check
/// knows ("Trarengr n ersrerapr"): over the first [`ROT13_LETTERS_READ`] bytes, at least 20
/// ASCII letters making up at least half of the characters that are not spaces, in at least three
/// words, with an average log-likelihood gain of reading them as rot13 of English above 0.5
/// (on val, plain English averages -0.7 and rot13 texts +0.7). Beyond the word check, it picks out 5 of the train split's
/// 16,995 texts (attacks written as shell commands or base64), and on val 47 of the 66 rot13
/// texts the word check misses and one other text (an attack in rot13 and homoglyphs).
pub(super) fn rot13_letters(text: &str) -> bool {
    let gain = &*ROT13_GAIN;
    let head = text
        .as_bytes()
        .get(..ROT13_LETTERS_READ)
        .unwrap_or(text.as_bytes());
    let (mut letters, mut others, mut sum) = (0usize, 0usize, 0.0);
    for &b in head {
        let l = b.to_ascii_lowercase();
        if l.is_ascii_lowercase() {
            letters += 1;
            sum += gain.get(usize::from(l - b'a')).copied().unwrap_or(0.0);
        } else if !b.is_ascii_whitespace() && !(0x80..0xC0).contains(&b) {
            // ASCII punctuation or digits, or the first byte of a non-ASCII character.
            others += 1;
        }
    }
    letters >= 20
        && letters >= others
        && sum > 0.5 * letters as f64
        && text.split_whitespace().nth(2).is_some()
}

/// The word check of [`looks_rot13`], and whether it read at least two frequent English words
/// as written.
///
/// The words are the maximal runs of ASCII letters (every byte of a character that is not
/// ASCII is a separator), read in one pass over the bytes by index: each word's key
/// ([`word_key`] of its lower case) is built as its bytes are read, in a `u64` (most words have
/// at most eight letters; a longer one's key is built again from its bytes), its length is the
/// distance between its ends, and one lookup tells whether it or its rot13 is listed. The
/// reading stops once the words left cannot change the answer.
pub(super) fn rot13_words(text: &str) -> (bool, bool) {
    let words = &*ROT13_WORDS;
    let mut tally = Rot13Tally::default();
    let mut read = 0;
    let bytes = text.as_bytes();
    let letter = |c: u8| LOWER_LETTER[usize::from(c)];
    let mut i = 0;
    while read < 64 {
        let Some(&c) = bytes.get(i) else {
            break;
        };
        i += 1;
        let first = letter(c);
        if first == 0 {
            continue;
        }
        let start = i - 1;
        // The key of the word's last eight letters (all of them in a short word).
        let mut low = u64::from(first);
        while let Some(&c) = bytes.get(i) {
            let l = letter(c);
            if l == 0 {
                break;
            }
            low = (low << 8) | u64::from(l);
            i += 1;
        }
        let len = i - start;
        // Past the byte that ended the word, which is no letter (or the end of the text).
        i += 1;
        if len > 16 {
            continue;
        }
        let lower = if len <= 8 {
            u128::from(low)
        } else {
            bytes
                .get(start..start + len)
                .unwrap_or_default()
                .iter()
                .fold(0, |k, &c| (k << 8) | u128::from(letter(c)))
        };
        tally.add(words.flags(lower), lower);
        read += 1;
        if tally.settled(64 - read) {
            break;
        }
    }
    tally.verdict()
}

/// What the word check has counted: the words that are frequent English words in rot13 (and
/// whether two of them differ), and the words that are frequent English words as written.
#[derive(Default)]
struct Rot13Tally {
    first: Option<u128>,
    distinct: u8,
    rotated: usize,
    plain: usize,
}

impl Rot13Tally {
    /// Count one word, given the [`word_key`] of its lower case and its [`WordSet::flags`].
    #[inline(always)]
    fn add(&mut self, flags: u8, lower: u128) {
        if flags & LISTED != 0 {
            self.rotated += 1;
            match self.first {
                None => {
                    self.first = Some(lower);
                    self.distinct = 1;
                }
                Some(f) if f != lower => self.distinct = 2,
                Some(_) => {}
            }
        } else if flags & ROT13_LISTED != 0 {
            self.plain += 1;
        }
    }

    /// Whether the text reads as rot13, and whether two words were read as written.
    fn verdict(&self) -> (bool, bool) {
        (
            self.distinct >= 2 && self.rotated > self.plain,
            self.plain >= 2,
        )
    }

    /// Whether `left` more words cannot change [`Rot13Tally::verdict`]: two words as written
    /// are read, and even `left` more rot13 words would not outnumber them.
    fn settled(&self, left: usize) -> bool {
        self.plain >= 2 && self.rotated + left <= self.plain
    }
}

/// The straightforward form of [`rot13_words`], kept to test it against.
#[cfg(test)]
pub(super) fn rot13_words_reference(text: &str) -> (bool, bool) {
    let words = &*ROT13_WORDS;
    let mut tally = Rot13Tally::default();
    for word in text
        .as_bytes()
        .split(|c| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty() && w.len() <= 16)
        .take(64)
    {
        let lower: Vec<u8> = word.iter().map(u8::to_ascii_lowercase).collect();
        let back: Vec<u8> = lower.iter().copied().map(rot13_ascii).collect();
        let (lower, back) = (word_key(&lower), word_key(&back));
        let listed = |key: u128, flag: u8| if words.contains(key) { flag } else { 0 };
        let flags = listed(lower, LISTED) | listed(back, ROT13_LISTED);
        tally.add(flags, lower);
    }
    tally.verdict()
}

/// Rot13 of one ASCII byte (letters only).
pub(super) const fn rot13_ascii(b: u8) -> u8 {
    match b {
        b'a'..=b'z' => (b - b'a' + 13) % 26 + b'a',
        b'A'..=b'Z' => (b - b'A' + 13) % 26 + b'A',
        _ => b,
    }
}
