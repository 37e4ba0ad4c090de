//! The sentence classifier behind `toxicity`: the `alt-profanity-check` 1.9.1 model (MIT licence;
//! Victor Zhou, Menelaos Kotoglou, Dimitrios Mistriotis), a tf-idf + calibrated linear SVM its
//! authors trained on about 200k human-labelled tweets (Davidson et al.) and Wikipedia comments
//! (Jigsaw). `scripts/train/export_profanity_check.py` exports its vocabulary, idf values and
//! coefficients to `profanity_check.tsv`; this file re-implements scikit-learn's scoring exactly,
//! and `golden.json` (the Python model's own probabilities) pins the two together in the tests.
//!
//! Scoring, as scikit-learn does it:
//! 1. Lowercase; tokens are maximal runs of word characters (letters, digits, `_`) at least two
//!    characters long (`(?u)\b\w\w+\b`). Tokens outside the 15,442-word vocabulary (which has no
//!    English stop words) are ignored. (Python's `\w` leaves out combining marks that Rust calls
//!    alphabetic; no vocabulary word has one, so only the split of such rare words can differ.)
//! 2. `x = tf · idf`, l2-normalised (tf is the raw count).
//! 3. For each of the five classifiers `d = w · x + c`, `p = 1 / (1 + exp(a·d + b))`; the
//!    probability is their mean.
//!
//! A text is scored whole and sentence by sentence (split at `.`, `!`, `?` and newlines) in one
//! pass over its tokens: a toxic sentence inside a long, otherwise clean prompt is not diluted
//! away by the normalisation. An ASCII text is read eight bytes at a time: a token of up to eight
//! bytes is found, lowered and hashed as one machine word, and the vocabulary table (open
//! addressing) compares it with a word in one comparison.

use std::sync::LazyLock;

use crate::lanes::{H, L};
use crate::normalize::WORD_BYTE;

const DATA: &str = include_str!("profanity_check.tsv");

/// Number of calibrated classifiers in the ensemble.
const K: usize = 5;

/// No vocabulary word is longer than this many bytes; longer tokens are skipped unread.
const MAX_WORD: usize = 64;

/// The vocabulary's words are numbered below this: a text's word set is a bit set this size.
const MAX_VOCAB: usize = 1 << 14;

struct Classifier {
    intercept: f64,
    a: f64,
    b: f64,
}

pub(crate) struct Model {
    classifiers: Vec<Classifier>,
    idf: Vec<f32>,
    /// `K` weights per word, premultiplied by the word's idf.
    weights: Vec<[f32; K]>,
    /// Open addressing over [`key`] hashes, holding each word's head and length, so that a
    /// token of up to eight bytes is compared with a word in one comparison. Its size is a
    /// constant, so that a slot masked into it needs no bounds test and its shift and mask are
    /// immediates.
    table: Box<[Slot; TABLE_SIZE]>,
    /// The bytes of the words longer than eight after their head, read as [`key`] reads them:
    /// word `i`'s are `tails[tail_at[i]..tail_at[i + 1]]`.
    tails: Vec<u64>,
    tail_at: Vec<u32>,
}

/// The vocabulary table's size: twice the largest vocabulary, so it is at most half full.
const TABLE_SIZE: usize = 2 * MAX_VOCAB;

/// `64 - log2(TABLE_SIZE)`: a hash's top bits pick its slot.
const TABLE_SHIFT: u32 = 64 - TABLE_SIZE.trailing_zeros();

/// A slot of the vocabulary table.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// The word's head (see [`key`]); 0 when the slot is empty.
    head: u64,
    /// The word's index.
    word: u32,
    /// The word's length in bytes; 0 when the slot is empty.
    len: u32,
}

const EMPTY: Slot = Slot {
    head: 0,
    word: u32::MAX,
    len: 0,
};

/// The multiplier of the vocabulary hash (2^64 over the golden ratio).
const HASH_MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// Up to eight bytes as a little-endian word, zero-padded.
fn chunk(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = bytes.len().min(8);
    w[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(w)
}

/// The eight bytes of `b` from `i` as a little-endian word, zero-padded past the end.
#[inline(always)]
fn eight_at(b: &[u8], i: usize) -> u64 {
    let rest = b.get(i..).unwrap_or(&[]);
    match rest.first_chunk::<8>() {
        Some(c) => u64::from_le_bytes(*c),
        None => chunk(rest),
    }
}

/// Up to eight bytes of a lower-case token as the vocabulary table keys them: [`chunk`] with
/// each `_` read as 0x7f (DEL, which no token holds), the form [`ascii_word_bytes`] lowers
/// eight bytes to in one `or`.
fn key_chunk(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    for (o, &b) in w.iter_mut().zip(bytes) {
        *o = if b == b'_' { 0x7f } else { b };
    }
    u64::from_le_bytes(w)
}

/// The low `n` bytes of `x`, for `n` in 1..=8.
#[inline(always)]
fn low_bytes(x: u64, n: usize) -> u64 {
    x & (u64::MAX >> (64 - 8 * n))
}

/// A lower-case token's head, its first eight bytes as [`key_chunk`] reads them (no word byte
/// is zero, so with the length it is the whole of a token of up to eight bytes), and its hash:
/// the head and each further eight bytes mixed in by a multiply, whose top bits pick the slot.
fn key(lower: &[u8]) -> (u64, u64) {
    let mut chunks = lower.chunks(8).map(key_chunk);
    let head = chunks.next().unwrap_or(0);
    let h = chunks.fold(head.wrapping_mul(HASH_MUL), |h, c| {
        (h ^ c).wrapping_mul(HASH_MUL)
    });
    (head, h)
}

/// For eight ASCII bytes: the high bit of each word byte (letter, digit, `_`), and the bytes
/// with bit 5 set, which are the word bytes as [`key_chunk`] reads them once lowered: a capital
/// letter lowered, a small one and a digit kept, `_` made 0x7f.
#[inline(always)]
fn ascii_word_bytes(x: u64) -> (u64, u64) {
    // `v + (0x80 - lo)` sets the high bit of exactly the bytes of `v` that are at least `lo`:
    // every byte is below 0x80, so no carry crosses into the next byte.
    let at_least = |v: u64, lo: u8| v.wrapping_add(L * u64::from(0x80 - lo));
    // Setting bit 5 lowers a capital letter, keeps a small one, and makes no other byte a letter.
    let folded = x | (L * 0x20);
    let letter = at_least(folded, b'a') & !at_least(folded, b'z' + 1);
    let digit = at_least(x, b'0') & !at_least(x, b'9' + 1);
    // `t + 0x7f` sets the high bit of every nonzero byte of `t`.
    let underscore = !(x ^ (L * u64::from(b'_'))).wrapping_add(L * 0x7f);
    ((letter | digit | underscore) & H, folded)
}

#[expect(
    clippy::expect_used,
    reason = "the data file is generated by scripts/train/export_profanity_check.py and compiled in; the unit tests load it"
)]
fn load() -> Model {
    let mut classifiers = Vec::new();
    let mut idf = Vec::new();
    let mut weights = Vec::new();
    let mut words = Vec::new();
    for line in DATA.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        let head = cols.next().unwrap_or("");
        let nums: Vec<f64> = cols
            .map(|c| c.parse().expect("model number parses"))
            .collect();
        if head == "classifiers" {
            assert_eq!(nums.len(), 1 + 3 * K, "classifier line");
            for c in nums[1..].chunks_exact(3) {
                classifiers.push(Classifier {
                    intercept: c[0],
                    a: c[1],
                    b: c[2],
                });
            }
            continue;
        }
        assert_eq!(nums.len(), 1 + K, "word line");
        let f = nums[0] as f32;
        let mut w = [0f32; K];
        for (o, v) in w.iter_mut().zip(&nums[1..]) {
            *o = (*v * nums[0]) as f32;
        }
        idf.push(f);
        weights.push(w);
        words.push(head);
    }
    assert_eq!(classifiers.len(), K, "classifier count");
    assert!(words.len() <= MAX_VOCAB, "vocabulary size");
    let mut table: Box<[Slot; TABLE_SIZE]> = vec![EMPTY; TABLE_SIZE]
        .into_boxed_slice()
        .try_into()
        .expect("the table has TABLE_SIZE slots");
    let mut tails = Vec::new();
    let mut tail_at = Vec::with_capacity(words.len() + 1);
    for (i, w) in words.iter().enumerate() {
        assert!((1..=MAX_WORD).contains(&w.len()), "vocabulary word length");
        tail_at.push(u32::try_from(tails.len()).expect("tails fit u32"));
        tails.extend(w.as_bytes().chunks(8).skip(1).map(key_chunk));
        let (head, h) = key(w.as_bytes());
        let mut slot = (h >> TABLE_SHIFT) as usize;
        while table[slot].len != 0 {
            slot = (slot + 1) % TABLE_SIZE;
        }
        table[slot] = Slot {
            head,
            word: u32::try_from(i).expect("vocabulary fits u32"),
            len: u32::try_from(w.len()).expect("word length fits u32"),
        };
    }
    tail_at.push(u32::try_from(tails.len()).expect("tails fit u32"));
    Model {
        classifiers,
        idf,
        weights,
        table,
        tails,
        tail_at,
    }
}

pub(crate) static MODEL: LazyLock<Model> = LazyLock::new(load);

impl Model {
    /// The l2 norm of the tf-idf vector of `words` (sorted in place).
    fn norm(&self, words: &mut [u32]) -> f64 {
        words.sort_unstable();
        let mut sq = 0.0;
        let mut i = 0;
        while let Some(&w) = words.get(i) {
            let run = words[i..].iter().take_while(|&&x| x == w).count();
            // Through i64, one instruction (a slice is shorter than `i64::MAX`): the same value.
            let v = run as i64 as f64 * f64::from(self.idf.get(w as usize).copied().unwrap_or(0.0));
            sq += v * v;
            i += run;
        }
        sq.sqrt()
    }

    /// [`Model::norm`] without the sort, for a whole text's many words: they are marked in a
    /// bit set and read back in increasing order (the order of [`Model::norm`]'s sum), each
    /// counted by its repeats, which are moved to the front of `words` and sorted.
    fn norm_by_bits(&self, words: &mut [u32]) -> f64 {
        let mut bits = [0u64; MAX_VOCAB / 64];
        // A bit per word of `bits` that is not 0.
        let mut blocks = [0u64; MAX_VOCAB / 64 / 64];
        let mut repeats = 0;
        for i in 0..words.len() {
            let w = words[i] as usize;
            let bit = 1 << (w % 64);
            if bits[w / 64] & bit != 0 {
                words[repeats] = words[i];
                repeats += 1;
            } else {
                bits[w / 64] |= bit;
                blocks[w / 4096] |= 1 << (w / 64 % 64);
            }
        }
        let repeats = &mut words[..repeats];
        repeats.sort_unstable();
        let mut r = 0;
        let mut sq = 0.0;
        for (b, &block) in blocks.iter().enumerate() {
            let mut block = block;
            while block != 0 {
                let k = b * 64 + block.trailing_zeros() as usize;
                block &= block - 1;
                let mut set = bits[k];
                while set != 0 {
                    let w = (k * 64 + set.trailing_zeros() as usize) as u32;
                    set &= set - 1;
                    let mut run = 1u32;
                    while repeats.get(r) == Some(&w) {
                        run += 1;
                        r += 1;
                    }
                    // The value of `norm`'s `run as f64`.
                    let v = f64::from(run)
                        * f64::from(self.idf.get(w as usize).copied().unwrap_or(0.0));
                    sq += v * v;
                }
            }
        }
        sq.sqrt()
    }

    /// The sums of the weights of `words`, each added in the order of `words` (the order the
    /// text gives them in, which the floating-point sums depend on).
    fn dot(&self, words: &[u32]) -> [f64; K] {
        let mut dot = [0.0; K];
        for &w in words {
            if let Some(x) = self.weights.get(w as usize) {
                for (d, x) in dot.iter_mut().zip(x) {
                    *d += f64::from(*x);
                }
            }
        }
        dot
    }

    fn probability_of(&self, dot: &[f64; K], norm: f64) -> f64 {
        let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        let total: f64 = self
            .classifiers
            .iter()
            .zip(dot)
            .map(|(c, d)| 1.0 / (1.0 + (c.a * (d * inv + c.intercept) + c.b).exp()))
            .sum();
        total / K as f64
    }
}

/// One sentence's probability, with its byte span in the text scored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sentence {
    pub start: usize,
    pub end: usize,
    pub p: f64,
}

/// The model's probability for a text as a whole, and for each of its sentences that holds at
/// least one vocabulary word.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scored {
    pub whole: f64,
    pub sentences: Vec<Sentence>,
    /// The tokens of [`UNKNOWN_MIN`] bytes or more that are not vocabulary words, as byte
    /// spans, where the text is ASCII (`None` otherwise: not tracked). Profane words run
    /// together with others ("dumbshit") are among them (`compound`).
    pub unknown: Option<Vec<(usize, usize)>>,
}

/// The shortest token [`Scored::unknown`] lists: a stem of four letters and one more.
pub(crate) const UNKNOWN_MIN: usize = 5;

/// What a byte is to the ASCII reader ([`BYTE_CLASS`]): the start of a token (a word byte)…
const TOKEN: u8 = 1;
/// … the end of a sentence, or neither (0).
const SENTENCE_END: u8 = 2;

/// [`TOKEN`], [`SENTENCE_END`] or 0 per byte: one load and one comparison per byte between
/// tokens tell the three apart.
const BYTE_CLASS: [u8; 256] = {
    let mut t = [0; 256];
    let mut i = 0;
    while i < 256 {
        if WORD_BYTE[i] {
            t[i] = TOKEN;
        } else if is_sentence_end(i as u8 as char) {
            t[i] = SENTENCE_END;
        }
        i += 1;
    }
    t
};

const fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '\n' | '\r' | '。' | '！' | '？')
}

/// Python's `\w` for a lowercased character (see the module notes).
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Model {
    /// Whether a lower-case word is in the vocabulary.
    pub(crate) fn knows(&self, lower: &str) -> bool {
        self.lookup(lower.as_bytes()).is_some()
    }

    /// The index of a lower-case token (of any length) in the vocabulary.
    fn lookup(&self, lower: &[u8]) -> Option<u32> {
        let (head, h) = key(lower);
        self.probe(h, head, lower.len(), |tail| {
            tail.iter()
                .copied()
                .eq(lower.get(8..).unwrap_or(&[]).chunks(8).map(key_chunk))
        })
    }

    /// The index of the word of hash `h`, head `head` and length `len` whose tail (the bytes
    /// after its head, read as [`key`] reads them) passes `same_tail` (asked only when `len`
    /// is over eight), probing the table from the hash's slot.
    #[inline(always)]
    fn probe(
        &self,
        h: u64,
        head: u64,
        len: usize,
        same_tail: impl Fn(&[u64]) -> bool,
    ) -> Option<u32> {
        let mut slot = (h >> TABLE_SHIFT) as usize;
        loop {
            let s = self.table[slot % TABLE_SIZE];
            if s.head == head && s.len as usize == len && (len <= 8 || same_tail(self.tail(s.word)))
            {
                return Some(s.word);
            }
            if s.len == 0 {
                return None;
            }
            slot += 1;
        }
    }

    /// [`Model::probe`] for a token of two to seven bytes, `head` the token zero-padded: one
    /// comparison per slot decides, since such a head holds the token's length too (no word
    /// byte is zero, a word of eight bytes or more has none in its head) and an empty slot's
    /// head is 0, which no token's is.
    #[inline(always)]
    fn probe_short(&self, head: u64) -> Option<u32> {
        let mut slot = (head.wrapping_mul(HASH_MUL) >> TABLE_SHIFT) as usize;
        loop {
            let s = &self.table[slot % TABLE_SIZE];
            if s.head == head {
                return Some(s.word);
            }
            if s.head == 0 {
                return None;
            }
            slot += 1;
        }
    }

    /// The tail of word `w` (see [`Model::probe`]).
    fn tail(&self, w: u32) -> &[u64] {
        let w = w as usize;
        match (self.tail_at.get(w), self.tail_at.get(w + 1)) {
            (Some(&s), Some(&e)) => self.tails.get(s as usize..e as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The ASCII token at the start of `b`, `x` the first eight bytes of `b` (whose first is a
    /// word byte): its length, and its vocabulary word if it is one.
    #[inline(always)]
    fn ascii_token(&self, b: &[u8], x: u64) -> (usize, Option<u32>) {
        let (word, lower) = ascii_word_bytes(x);
        let ends = !word & H;
        if ends != 0 {
            // A token of up to seven bytes: the head is the token.
            let n = (ends.trailing_zeros() / 8) as usize;
            let w = if n >= 2 {
                self.probe_short(low_bytes(lower, n))
            } else {
                None
            };
            return (n, w);
        }
        self.long_ascii_token(b, lower)
    }

    /// [`Model::ascii_token`] for a token of eight bytes or more, `head` its first eight in
    /// lower case: the rest is read, lowered and hashed eight bytes at a time, as [`key`] does.
    #[inline(never)]
    fn long_ascii_token(&self, b: &[u8], head: u64) -> (usize, Option<u32>) {
        // Most long tokens end within the next eight bytes: their tail is at most one word,
        // hashed and compared without the loop below (which reads them the same way).
        let (word, lower) = ascii_word_bytes(eight_at(b, 8));
        let ends = !word & H;
        if ends != 0 {
            let m = (ends.trailing_zeros() / 8) as usize;
            let h = head.wrapping_mul(HASH_MUL);
            let w = if m == 0 {
                self.probe(h, head, 8, |_| false)
            } else {
                let c = low_bytes(lower, m);
                self.probe((h ^ c).wrapping_mul(HASH_MUL), head, 8 + m, |t| t == [c])
            };
            return (8 + m, w);
        }
        let mut tail = [0u64; (MAX_WORD - 1) / 8];
        let mut k = 0;
        let mut h = head.wrapping_mul(HASH_MUL);
        let mut n = 8;
        loop {
            let (word, lower) = ascii_word_bytes(eight_at(b, n));
            let ends = !word & H;
            let m = if ends == 0 {
                8
            } else {
                (ends.trailing_zeros() / 8) as usize
            };
            if m > 0 && n + m <= MAX_WORD {
                let c = low_bytes(lower, m);
                h = (h ^ c).wrapping_mul(HASH_MUL);
                if let Some(t) = tail.get_mut(k) {
                    *t = c;
                }
                k += 1;
            }
            n += m;
            if m < 8 {
                break;
            }
        }
        let w = if n <= MAX_WORD {
            self.probe(h, head, n, |t| tail.get(..k) == Some(t))
        } else {
            None
        };
        (n, w)
    }

    /// Push every vocabulary token of `piece` (no sentence end inside) to `words`.
    fn tokens(&self, piece: &str, words: &mut Vec<u32>, buf: &mut Vec<u8>) {
        if piece.is_ascii() {
            let emit = |buf: &mut Vec<u8>, words: &mut Vec<u32>| {
                if buf.len() >= 2
                    && buf.len() <= MAX_WORD
                    && let Some(w) = self.lookup(buf)
                {
                    words.push(w);
                }
                buf.clear();
            };
            buf.clear();
            for &b in piece.as_bytes() {
                if b.is_ascii_alphanumeric() || b == b'_' {
                    if buf.len() <= MAX_WORD {
                        buf.push(b.to_ascii_lowercase());
                    }
                } else if !buf.is_empty() {
                    emit(buf, words);
                }
            }
            if !buf.is_empty() {
                emit(buf, words);
            }
            return;
        }
        // Lowercase first, as scikit-learn does, then split on the lowered text.
        let lower = piece.to_lowercase();
        let mut token = String::new();
        let mut chars = 0usize;
        let flush = |token: &mut String, chars: &mut usize, words: &mut Vec<u32>| {
            if *chars >= 2
                && token.len() <= MAX_WORD
                && let Some(w) = self.lookup(token.as_bytes())
            {
                words.push(w);
            }
            token.clear();
            *chars = 0;
        };
        for c in lower.chars() {
            if is_word(c) {
                token.push(c);
                chars += 1;
            } else if chars > 0 {
                flush(&mut token, &mut chars, words);
            }
        }
        if chars > 0 {
            flush(&mut token, &mut chars, words);
        }
    }

    /// Probability of the whole text only (what `predict_proba` returns).
    #[cfg(test)]
    pub(crate) fn probability(&self, text: &str) -> f64 {
        let mut words = Vec::new();
        let mut buf = Vec::new();
        self.tokens(text, &mut words, &mut buf);
        let dot = self.dot(&words);
        let norm = self.norm(&mut words);
        self.probability_of(&dot, norm)
    }

    /// The text whole and by sentence.
    pub(crate) fn score(&self, text: &str) -> Scored {
        if text.is_ascii() {
            self.score_ascii(text)
        } else {
            self.score_chars(text)
        }
    }

    /// [`Model::score`] of an ASCII text: the same tokens and sentences as
    /// [`Model::score_chars`] in one pass over the bytes, a token at a time.
    fn score_ascii(&self, text: &str) -> Scored {
        let mut s = Scorer::new(self, text);
        let b = text.as_bytes();
        // Sized once for prose (a vocabulary word every six bytes or so).
        let mut words = Vec::with_capacity(b.len() / 4);
        // The bytes not read yet: a token's eight bytes are then one length test away, where
        // an index into `b` would be tested against the end twice.
        let mut rest = b;
        let mut unknown = Vec::new();
        while let Some((&c, after)) = rest.split_first() {
            let class = BYTE_CLASS[usize::from(c)];
            if class == TOKEN {
                let x = match rest.first_chunk::<8>() {
                    Some(c) => u64::from_le_bytes(*c),
                    None => chunk(rest),
                };
                let (n, w) = self.ascii_token(rest, x);
                if let Some(w) = w {
                    words.push(w);
                } else if n >= UNKNOWN_MIN {
                    let at = b.len() - rest.len();
                    unknown.push((at, at + n));
                }
                // A token ends within the bytes (`n` is at most their length).
                let Some(after) = rest.get(n..) else { break };
                rest = after;
                continue;
            }
            rest = after;
            if class == SENTENCE_END {
                // The byte just read ends the sentence.
                s.finish(&mut words, b.len() - rest.len());
            }
        }
        let mut scored = s.done(&mut words);
        scored.unknown = Some(unknown);
        scored
    }

    /// [`Model::score`] of any text, sentence by sentence.
    fn score_chars(&self, text: &str) -> Scored {
        let mut s = Scorer::new(self, text);
        let mut words = Vec::with_capacity(text.len() / 4);
        let mut buf = Vec::new();
        for (i, c) in text.char_indices() {
            if is_sentence_end(c) {
                if let Some(piece) = text.get(s.start..i) {
                    self.tokens(piece, &mut words, &mut buf);
                }
                s.finish(&mut words, i + c.len_utf8());
            }
        }
        if let Some(piece) = text.get(s.start..) {
            self.tokens(piece, &mut words, &mut buf);
        }
        s.done(&mut words)
    }
}

/// A text being scored: the sentences finished. The vocabulary words read so far, in order
/// (then each finished sentence's sorted), are the caller's, passed to each call.
struct Scorer<'a> {
    model: &'a Model,
    len: usize,
    whole_dot: [f64; K],
    sentences: Vec<Sentence>,
    /// Where the sentence being read starts, in the text and in `words`.
    start: usize,
    first_word: usize,
}

impl<'a> Scorer<'a> {
    fn new(model: &'a Model, text: &str) -> Self {
        Scorer {
            model,
            len: text.len(),
            whole_dot: [0.0; K],
            // And a sentence every 64 bytes or so.
            sentences: Vec::with_capacity(text.len() / 64),
            start: 0,
            first_word: 0,
        }
    }

    /// End the sentence being read at `end`, `all` the words read so far.
    fn finish(&mut self, all: &mut [u32], end: usize) {
        let first = std::mem::replace(&mut self.first_word, all.len());
        let words = all.get_mut(first..).unwrap_or_default();
        if !words.is_empty() {
            // The sums first, in reading order; the norm then sorts the words in place.
            let dot = self.model.dot(words);
            let norm = self.model.norm(words);
            self.sentences.push(Sentence {
                start: self.start,
                end,
                p: self.model.probability_of(&dot, norm),
            });
            for (w, d) in self.whole_dot.iter_mut().zip(&dot) {
                *w += d;
            }
        }
        self.start = end;
    }

    /// End the last sentence and score the whole text, `all` its words.
    fn done(mut self, all: &mut [u32]) -> Scored {
        self.finish(all, self.len);
        let whole = match self.sentences.as_slice() {
            // One sentence holds every word: the text's sums are its sums (plus zeros) and the
            // text's norm is its norm (`norm_by_bits` equals `norm`), so its probability is the
            // text's.
            [one] => one.p,
            _ => {
                let norm = self.model.norm_by_bits(all);
                self.model.probability_of(&self.whole_dot, norm)
            }
        };
        Scored {
            whole,
            sentences: self.sentences,
            unknown: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The vocabulary in the data file's order.
    fn vocabulary() -> Vec<&'static str> {
        DATA.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| l.split('\t').next())
            .filter(|w| *w != "classifiers")
            .collect()
    }

    /// The vocabulary word [`Model::ascii_token`] reads at the start of `text`, and how far.
    fn read_ascii(text: &str) -> (usize, Vec<u32>) {
        let b = text.as_bytes();
        let (n, w) = MODEL.ascii_token(b, eight_at(b, 0));
        (n, w.into_iter().collect())
    }

    /// Every word is in the table, and the ASCII reader finds it in any case, at the end of the
    /// text or before another byte; with a byte more or less it is found only if that is a word.
    #[test]
    fn the_table_finds_every_word() {
        let words = vocabulary();
        assert_eq!(words.len(), MODEL.idf.len());
        let index: HashMap<&str, u32> = (0u32..)
            .zip(words.iter().copied())
            .map(|(i, w)| (w, i))
            .collect();
        let expect = |w: &str| index.get(w).copied().into_iter().collect::<Vec<u32>>();
        for (i, w) in (0u32..).zip(words.iter().copied()) {
            assert_eq!(MODEL.lookup(w.as_bytes()), Some(i), "{w}");
            if !w.is_ascii() {
                continue;
            }
            let upper = w.to_ascii_uppercase();
            let mixed: String = w
                .chars()
                .enumerate()
                .map(|(k, c)| {
                    if k % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            for v in [w, upper.as_str(), mixed.as_str()] {
                for text in [
                    v.to_owned(),
                    format!("{v} it"),
                    format!("{v}.x"),
                    format!("{v}-"),
                ] {
                    assert_eq!(read_ascii(&text), (w.len(), vec![i]), "{text:?}");
                }
            }
            for other in [
                format!("{w}q"),
                format!("{w}s"),
                format!("{w}0"),
                w[1..].to_owned(),
            ] {
                let found = if other.len() >= 2 {
                    expect(&other)
                } else {
                    Vec::new()
                };
                assert_eq!(
                    read_ascii(&other),
                    (other.len(), found.clone()),
                    "{other:?}"
                );
                assert_eq!(
                    MODEL.lookup(other.as_bytes()),
                    found.first().copied(),
                    "{other:?}"
                );
            }
        }
    }

    /// The eight-byte word test agrees with the byte table on every ASCII byte, whatever its
    /// neighbours, and gives each word byte lowered as the vocabulary table keys it.
    #[test]
    fn word_bytes_eight_at_a_time() {
        let check = |x: u64| {
            let (word, lower) = ascii_word_bytes(x);
            for ((c, w), l) in x
                .to_le_bytes()
                .into_iter()
                .zip(word.to_le_bytes())
                .zip(lower.to_le_bytes())
            {
                assert_eq!(
                    w,
                    if WORD_BYTE[usize::from(c)] { 0x80 } else { 0 },
                    "{c:#x} in {x:#x}"
                );
                if w != 0 {
                    let keyed = key_chunk(&[c.to_ascii_lowercase()]).to_le_bytes()[0];
                    assert_eq!(l, keyed, "{c:#x} in {x:#x}");
                }
            }
        };
        for c in 0..0x80u64 {
            for fill in [
                0, 0x20, 0x2f, 0x30, 0x39, 0x3a, 0x40, 0x41, 0x5a, 0x5b, 0x5f, 0x60, 0x61, 0x7a,
                0x7b, 0x7f,
            ] {
                for k in 0..8 {
                    check(((L * fill) & !(0xff << (8 * k))) | (c << (8 * k)));
                }
            }
        }
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(x & 0x7f7f_7f7f_7f7f_7f7f);
        }
    }

    /// The scoring as first written: each sentence's sums added word by word as it is read,
    /// every norm by sorting, the whole text's sums the sentences' in order. The faster paths
    /// must give its bits.
    fn reference_score(text: &str) -> Scored {
        let m = &*MODEL;
        let mut ends: Vec<usize> = text
            .char_indices()
            .filter(|(_, c)| is_sentence_end(*c))
            .map(|(i, c)| i + c.len_utf8())
            .collect();
        ends.push(text.len());
        let (mut start, mut buf, mut all) = (0, Vec::new(), Vec::new());
        let mut whole_dot = [0f64; K];
        let mut sentences = Vec::new();
        for end in ends {
            let mut words = Vec::new();
            m.tokens(&text[start..end], &mut words, &mut buf);
            if !words.is_empty() {
                let mut dot = [0f64; K];
                for &w in &words {
                    for (d, x) in dot.iter_mut().zip(&m.weights[w as usize]) {
                        *d += f64::from(*x);
                    }
                }
                all.extend_from_slice(&words);
                let norm = m.norm(&mut words);
                sentences.push(Sentence {
                    start,
                    end,
                    p: m.probability_of(&dot, norm),
                });
                for (w, d) in whole_dot.iter_mut().zip(&dot) {
                    *w += d;
                }
            }
            start = end;
        }
        let norm = m.norm(&mut all);
        Scored {
            whole: m.probability_of(&whole_dot, norm),
            sentences,
            unknown: None,
        }
    }

    /// Every golden text scores as [`reference_score`] scores it, bit for bit.
    #[test]
    fn scores_equal_the_reference() {
        let golden: Golden =
            serde_json::from_str(include_str!("golden.json")).unwrap_or_else(|e| panic!("{e}"));
        let texts: Vec<&str> = golden.cases.iter().map(|c| c.text.as_str()).collect();
        // One long text of many sentences, and one sentence of thousands of words.
        let long = texts.join("\n");
        let one = texts.join(" ").replace(['.', '!', '?', '\n', '\r'], " ");
        for text in texts
            .iter()
            .copied()
            .chain([long.as_str(), one.as_str(), "", "."])
        {
            assert_eq!(
                bits(&MODEL.score(text)),
                bits(&reference_score(text)),
                "{text:?}"
            );
        }
    }

    /// An ASCII text's unknown tokens are its tokens of five bytes or more the vocabulary does
    /// not hold, in order; other texts do not track them.
    #[test]
    fn unknown_tokens_are_the_long_words_out_of_the_vocabulary() {
        let golden: Golden =
            serde_json::from_str(include_str!("golden.json")).unwrap_or_else(|e| panic!("{e}"));
        let extra = "The dumbshit_x2 said: whoreface, HELLO there, Scunthorpe.";
        let mut listed = 0;
        for text in golden.cases.iter().map(|c| c.text.as_str()).chain([extra]) {
            let got = MODEL.score(text).unknown;
            if !text.is_ascii() {
                assert_eq!(got, None, "{text:?}");
                continue;
            }
            let mut want = Vec::new();
            let b = text.as_bytes();
            let mut i = 0;
            while i < b.len() {
                let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
                if !b.get(i).is_some_and(word) {
                    i += 1;
                    continue;
                }
                let n = b
                    .get(i..)
                    .unwrap_or(&[])
                    .iter()
                    .take_while(|c| word(c))
                    .count();
                let lower = text.get(i..i + n).unwrap_or("").to_ascii_lowercase();
                if n >= UNKNOWN_MIN && !MODEL.knows(&lower) {
                    want.push((i, i + n));
                }
                i += n;
            }
            listed += want.len();
            assert_eq!(got, Some(want), "{text:?}");
        }
        assert!(listed > 3, "the texts hold unknown tokens");
        let spans = MODEL.score(extra).unknown.unwrap_or_default();
        let words: Vec<&str> = spans.iter().filter_map(|&(s, e)| extra.get(s..e)).collect();
        assert!(
            words.contains(&"dumbshit_x2") && words.contains(&"whoreface"),
            "{words:?}"
        );
    }

    /// A score compared bit for bit.
    fn bits(s: &Scored) -> (u64, Vec<(usize, usize, u64)>) {
        (
            s.whole.to_bits(),
            s.sentences
                .iter()
                .map(|x| (x.start, x.end, x.p.to_bits()))
                .collect(),
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4096, ..Default::default() })]
        /// The bit-set norm equals the sorting one bit for bit, on words spread over the whole
        /// vocabulary or crowded into a few (many repeats).
        #[test]
        fn norm_by_bits_equals_norm(
            spread in proptest::collection::vec(0..MAX_VOCAB as u32, 0..400),
            crowded in proptest::collection::vec(4000u32..4100, 0..200),
        ) {
            for words in [spread.clone(), crowded.clone(), [spread, crowded].concat()] {
                let mut sorted = words.clone();
                let mut marked = words;
                proptest::prop_assert_eq!(
                    MODEL.norm(&mut sorted).to_bits(),
                    MODEL.norm_by_bits(&mut marked).to_bits()
                );
            }
        }

        /// The ASCII reader finds the tokens and sentences of the general one.
        #[test]
        fn ascii_reader_equals_the_general_one(
            parts in proptest::collection::vec(proptest::sample::select(&[
                "fuck", "FUCKING", "Idiot", "stupid", "crap", "sucks", "ass", "Thanks", "the",
                "account", "customer", "reviewed", "motherfucker", "abandoned",
                "misunderstandings", "articles_for_deletion", "pacificwarrior101",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "_",
                "x", "I", "1", "00", "2024", "0412", " ", " ", " ", ".", "!", "?", "\n", "\r",
                ",", "-", "'", "@", "[", "`", "{", "\u{0}", "\u{10}", "\u{19}", "\u{7f}",
            ][..]), 0..40)
        ) {
            let text = parts.concat();
            let fast = bits(&MODEL.score_ascii(&text));
            proptest::prop_assert_eq!(&fast, &bits(&MODEL.score_chars(&text)), "{:?}", text);
            proptest::prop_assert_eq!(&fast, &bits(&reference_score(&text)), "{:?}", text);
        }
    }

    #[derive(serde::Deserialize)]
    struct Golden {
        cases: Vec<Case>,
    }
    #[derive(serde::Deserialize)]
    struct Case {
        text: String,
        p: f64,
    }

    /// The Rust scoring agrees with the Python model's `predict_proba` on every golden text.
    #[test]
    fn agrees_with_python() {
        let golden: Golden =
            serde_json::from_str(include_str!("golden.json")).unwrap_or_else(|e| panic!("{e}"));
        assert!(golden.cases.len() >= 400);
        let mut worst = 0.0f64;
        for c in &golden.cases {
            let got = MODEL.probability(&c.text);
            let diff = (got - c.p).abs();
            worst = worst.max(diff);
            assert!(diff < 1e-4, "{:?}: rust {got} python {}", c.text, c.p);
            // Scoring by sentence merges back to the same whole-text probability.
            let whole = MODEL.score(&c.text).whole;
            assert!((whole - got).abs() < 1e-9, "{:?}", c.text);
        }
        assert!(worst < 1e-4);
    }

    #[test]
    fn sentences_are_scored_apart() {
        let text =
            "Thanks for the report on the quarterly numbers. You are a fucking idiot.\nSee you.";
        let s = MODEL.score(text);
        let worst = s
            .sentences
            .iter()
            .max_by(|a, b| a.p.total_cmp(&b.p))
            .copied()
            .unwrap_or_else(|| panic!("no sentence"));
        assert_eq!(
            &text[worst.start..worst.end],
            " You are a fucking idiot.",
            "{s:?}"
        );
        assert!(worst.p > 0.9 && worst.p > s.whole, "{s:?}");
        assert!(MODEL.score("").sentences.is_empty());
    }
}
