//! Names, places and organisations (`person`, `location`, `organization` in `sentinelai.pii`):
//! a small learned sequence tagger over gazetteer and context features.
//!
//! An averaged perceptron with BIO tags, trained by `scripts/train/ner.py` on the train split
//! of the `names` quality task only (real annotated tweets and real sentences with placed
//! gazetteer values), tags tokens greedily left to right. Its features are the word, its shape,
//! prefix and suffix, the two words either side, the gazetteer flags of the token and its
//! neighbours (first and last names, common words, cities, countries and states, titles such
//! as `Dr`, organisation suffixes such as `GmbH`, street types) and the previous tag. The lists
//! and the weights are data files; `data/golden.json`, written by the training script, pins
//! this file to the script's scoring in the tests.
//!
//! Cost: in balanced mode only candidates are scored: capitalised tokens, digits next to them
//! (house numbers, postcodes) and connectors between them (`of`, `de`, `,`); everything else is
//! `O` without a lookup, so ordinary prose costs little more than its tokenisation. Robust
//! mode scores every token and so also finds lower-case names (`I met jenny in london`);
//! balanced mode does so too in a text written without any capital (`i met jenny in london`),
//! where case tells nothing.
//!
//! The scheme (keep in lock-step with `scripts/train/ner.py`):
//! 1. Tokens are maximal runs of alphanumeric characters, where an apostrophe or hyphen between
//!    two alphanumerics stays inside (`O'Neill`, `Winston-Salem`) except a final `'s`; every
//!    other non-space character is a token of its own.
//! 2. A feature is a string hashed with FNV-1a 64; its bucket is the top `bits` bits of the hash
//!    times [`MUL`]; a bucket holds one `i16` per tag, and a tag's score is the sum over the
//!    token's features.

mod fnv;
pub(crate) mod gazetteer;

use std::sync::LazyLock;

use crate::policy::Mode;
use fnv::{Fnv, OFFSET, extend};
use gazetteer::{CITY, FLAG_NAMES, GAZETTEER, Gazetteer, PHRASE_BEGIN, PHRASE_INSIDE, REGION};

const MUL: u64 = 0x9E37_79B9_7F4A_7C15;
const MAX_TOKENS: usize = 4096;
const MAX_PHRASE: usize = 4;
const NTAGS: usize = 7;
const TAGS: [&str; NTAGS] = [
    "O",
    "B-person",
    "I-person",
    "B-location",
    "I-location",
    "B-organization",
    "I-organization",
];

/// What the tagger reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Person,
    Location,
    Organization,
}

/// One entity: byte offsets into the scanned text and a confidence in [0.5, 0.99].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entity {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub score: f64,
}

/// A bucket's weights, one per tag and a zero to make eight lanes, so that adding a row to the
/// scores is two vector additions rather than seven scalar ones.
const LANES: usize = NTAGS + 1;

/// Widened from the file's `i16` once at load: an addition per feature then needs no sign
/// extension (the table is twice the file's size, 2 MiB for 16 bits).
#[repr(C, align(32))]
struct Row([i32; LANES]);

/// The model file, compiled in.
const MODEL_DATA: &[u8] = include_bytes!("data/model.bin");
/// The bits of a bucket number, read from the model's header at compile time: a bucket is then
/// the top `BITS` bits of a product, below [`NROWS`] by construction, so indexing the rows
/// needs no bounds check.
const BITS: u32 = u32::from_le_bytes([MODEL_DATA[4], MODEL_DATA[5], MODEL_DATA[6], MODEL_DATA[7]]);
const NROWS: usize = 1 << BITS;

struct Model {
    rows: Box<[Row; NROWS]>,
    /// Integer score units per unit of the trained (float) weights.
    scale: f64,
}

#[expect(
    clippy::expect_used,
    reason = "the weights are written by scripts/train/ner.py and compiled in; the unit tests load them"
)]
fn load_model(data: &[u8]) -> Model {
    assert_eq!(data.get(..4), Some(&b"SNER"[..]), "ner model magic");
    let word = |at: usize| {
        u32::from_le_bytes(
            data[at..at + 4]
                .try_into()
                .expect("a four-byte header field"),
        )
    };
    let bits = word(4);
    assert!((8..=24).contains(&bits) && bits == BITS, "ner model bits");
    assert_eq!(word(8) as usize, NTAGS, "ner model tags");
    let scale = f64::from(f32::from_bits(word(12)));
    let body = &data[16..];
    assert_eq!(body.len(), (1usize << bits) * NTAGS * 2, "ner model size");
    let rows: Box<[Row]> = body
        .chunks_exact(NTAGS * 2)
        .map(|c| {
            let mut row = [0i32; LANES];
            for (t, v) in row.iter_mut().take(NTAGS).enumerate() {
                *v = i32::from(i16::from_le_bytes([c[2 * t], c[2 * t + 1]]));
            }
            Row(row)
        })
        .collect();
    Model {
        rows: rows
            .try_into()
            .ok()
            .expect("as many rows as the header says"),
        scale,
    }
}

static MODEL: LazyLock<Model> = LazyLock::new(|| load_model(MODEL_DATA));

/// One token: byte span in the text, its lowercased form in `Tokens::lower`, its shape.
#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    /// Its span in `Tokens::lower` (the token's own span for ASCII text).
    lower: (usize, usize),
    /// Its shape; `shape_len` 0 (no token is empty) for an ASCII token whose shape is read from
    /// the text when asked for: in balanced mode most tokens are never scored nor next to one
    /// that is.
    shape: [u8; 4],
    shape_len: u8,
    upper_start: bool,
    digit_start: bool,
}

struct Tokens<'t> {
    text: &'t str,
    lower: String,
    list: Vec<Token>,
    /// The indices of the tokens that start with an upper-case letter or a digit, in order:
    /// where balanced mode's runs of candidates begin (the ASCII tokenizer leaves it empty for
    /// robust mode, which scores every token).
    seeds: Vec<usize>,
    /// The text is ASCII (so is every token's lowercased form).
    ascii: bool,
    /// The text is written without capitals ([`written_without_capitals`]): its lower-case
    /// letters have the shape class `c`, not `x`, and balanced mode scores every token.
    caseless: bool,
}

impl Tokens<'_> {
    fn lw(&self, i: usize) -> &str {
        let (s, e) = self.list[i].lower;
        &self.lower[s..e]
    }

    /// [`Tokens::lw`] as bytes, without the character-boundary checks of a `str` slice.
    fn lwb(&self, i: usize) -> &[u8] {
        let (s, e) = self.list[i].lower;
        &self.lower.as_bytes()[s..e]
    }

    fn word(&self, i: usize) -> &str {
        let t = &self.list[i];
        &self.text[t.start..t.end]
    }

    /// [`Tokens::word`] as bytes, without the character-boundary checks of a `str` slice.
    fn word_bytes(&self, i: usize) -> &[u8] {
        let t = &self.list[i];
        &self.text.as_bytes()[t.start..t.end]
    }

    fn shape(&self, i: usize) -> Shape {
        let t = &self.list[i];
        if t.shape_len == 0 {
            collapse_ascii(&self.text.as_bytes()[t.start..t.end])
        } else {
            Shape(t.shape, t.shape_len)
        }
    }
}

/// A token's shape ([`collapse_shape`]) and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape([u8; 4], u8);

impl Shape {
    /// A shape written out (`<s>`, `</s>`: at most four bytes).
    const fn of(b: &[u8]) -> Self {
        let mut out = [0u8; 4];
        let mut k = 0;
        while k < b.len() {
            out[k] = b[k];
            k += 1;
        }
        Shape(out, b.len() as u8)
    }

    fn as_bytes(&self) -> &[u8] {
        &self.0[..usize::from(self.1)]
    }
}

/// Per byte: its shape class (for ASCII bytes).
const ASCII_SHAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ascii_shape(i as u8);
        i += 1;
    }
    t
};

/// The shape class of an ASCII byte: `X`, `x`, `d`, or the byte itself.
const fn ascii_shape(c: u8) -> u8 {
    if c.is_ascii_uppercase() {
        b'X'
    } else if c.is_ascii_lowercase() {
        b'x'
    } else if c.is_ascii_digit() {
        b'd'
    } else {
        c
    }
}

/// A word's shape: its classes with runs collapsed, at most four (`Xxxx` → `Xx`, `d-d`).
fn collapse_shape(classes: impl Iterator<Item = u8>) -> ([u8; 4], u8) {
    let mut out = [0u8; 4];
    let mut n = 0usize;
    for s in classes {
        if n == 0 || out[n - 1] != s {
            out[n] = s;
            n += 1;
            if n == 4 {
                break;
            }
        }
    }
    (out, n as u8)
}

/// [`collapse_shape`] of an ASCII word's classes, comparing each class with the last one kept.
#[inline]
fn collapse_ascii(word: &[u8]) -> Shape {
    let mut out = [0u8; 4];
    let mut n = 0usize;
    // No class is above 0xff.
    let mut last = u16::MAX;
    for &x in word {
        let c = ASCII_SHAPES[usize::from(x)];
        if u16::from(c) != last {
            last = u16::from(c);
            out[n & 3] = c;
            n += 1;
            if n == 4 {
                break;
            }
        }
    }
    Shape(out, n as u8)
}

fn shape_of(word: &str) -> ([u8; 4], u8) {
    collapse_shape(word.chars().map(|c| {
        if c.is_ascii() {
            ascii_shape(c as u8)
        } else if c.is_uppercase() {
            b'X'
        } else if c.is_lowercase() {
            b'x'
        } else {
            b'o'
        }
    }))
}

/// With `all_shapes` (robust mode, which scores every token) an ASCII token's shape is
/// collapsed once here rather than for each feature that reads it.
///
/// In a text written without capitals every token's shape is set here, with `c` for the `x`
/// of lower-case letters: case tells nothing there, and the tagger learns such texts apart.
fn tokenize(text: &str, all_shapes: bool) -> Tokens<'_> {
    let mut t = if text.is_ascii() {
        if all_shapes {
            tokenize_ascii::<true>(text)
        } else {
            tokenize_ascii::<false>(text)
        }
    } else {
        tokenize_chars(text)
    };
    if written_without_capitals(text) {
        t.caseless = true;
        for i in 0..t.list.len() {
            let mut shape = t.shape(i);
            for c in &mut shape.0[..usize::from(shape.1)] {
                if *c == b'x' {
                    *c = b'c';
                }
            }
            (t.list[i].shape, t.list[i].shape_len) = (shape.0, shape.1);
        }
    }
    t
}

/// [`tokenize_chars`] for ASCII text (most prompts): the same tokens, lower-case forms and
/// shapes, without decoding characters. The lower-case forms are read from the whole text
/// lowercased at once, at the tokens' own offsets; the shapes from the text when asked for.
///
/// The tokens are read from bit masks of 64 bytes at a time ([`block_masks`]): a word is a run
/// of set bits, any other byte that is not a space a token of its own, so a token costs a few
/// bit operations rather than a loop and a branch per byte (`tokenize_ascii_bytewise` is the
/// same tokenizer byte by byte, kept for the tests).
///
/// One copy per mode (`ALL_SHAPES`), each out of line: the loop then tests no mode per token
/// and keeps its tables and bounds in registers.
#[inline(never)]
fn tokenize_ascii<const ALL_SHAPES: bool>(text: &str) -> Tokens<'_> {
    // Adds the token `s..e`; false once the list is full. Inlined at each call, so that the
    // loops keep their constants in registers.
    #[inline(always)]
    fn push<const ALL_SHAPES: bool>(
        b: &[u8],
        list: &mut Vec<Token>,
        seeds: &mut Vec<usize>,
        s: usize,
        e: usize,
    ) -> bool {
        let all_shapes = ALL_SHAPES;
        if list.len() >= MAX_TOKENS {
            return false;
        }
        let c = b[s];
        let (shape, shape_len) = if all_shapes {
            collapse_shape(b[s..e].iter().map(|&x| ASCII_SHAPES[usize::from(x)]))
        } else {
            ([0; 4], 0)
        };
        let (upper_start, digit_start) = (c.is_ascii_uppercase(), c.is_ascii_digit());
        if (upper_start || digit_start) && !all_shapes {
            seeds.push(list.len());
        }
        list.push(Token {
            start: s,
            end: e,
            lower: (s, e),
            shape,
            shape_len,
            upper_start,
            digit_start,
        });
        true
    }
    let b = text.as_bytes();
    let n = b.len();
    let mut list: Vec<Token> = Vec::with_capacity(n / 4);
    // Robust mode (`ALL_SHAPES`) visits every token: no seeds.
    let mut seeds = Vec::with_capacity(if ALL_SHAPES { 0 } else { n / 16 });
    let lower = text.to_ascii_lowercase();
    let mut push =
        |list: &mut Vec<Token>, s: usize, e: usize| push::<ALL_SHAPES>(b, list, &mut seeds, s, e);
    // The start of a word that runs on past the last block read.
    let mut open: Option<usize> = None;
    'blocks: for (k, chunk) in b.chunks(64).enumerate() {
        let base = 64 * k;
        let (word, other) = block_masks(b, base, chunk);
        // Bit j of `after`: byte `base + j - 1` is inside a word.
        let after = (word << 1) | u64::from(open.is_some());
        let mut ends = !word & after;
        let mut starts = (word & !after) | other;
        if let Some(s) = open {
            if ends == 0 {
                continue;
            }
            open = None;
            if !push(&mut list, s, base + ends.trailing_zeros() as usize) {
                break 'blocks;
            }
            ends &= ends - 1;
        }
        while starts != 0 {
            let j = starts.trailing_zeros() as usize;
            starts &= starts - 1;
            let e = if other >> j & 1 == 1 {
                j + 1
            } else if ends == 0 {
                // A word's start with no end in this block: the block's last token.
                open = Some(base + j);
                break;
            } else {
                let e = ends.trailing_zeros() as usize;
                ends &= ends - 1;
                e
            };
            if !push(&mut list, base + j, base + e) {
                break 'blocks;
            }
        }
    }
    if let Some(s) = open {
        push(&mut list, s, n);
    }
    Tokens {
        text,
        lower,
        list,
        seeds,
        ascii: true,
        caseless: false,
    }
}

/// For the bytes `chunk` of an ASCII text `b`, from `base` (64 bytes, or the last ones): bit `j`
/// of `word` is set when byte `base + j` is inside a word (a letter or digit, or an apostrophe
/// or hyphen kept between two of them, as `tokenize_ascii_bytewise` keeps it), bit `j` of `other`
/// when it is a token of its own (neither a space nor inside a word).
#[inline(always)]
fn block_masks(b: &[u8], base: usize, chunk: &[u8]) -> (u64, u64) {
    const L: u64 = 0x0101_0101_0101_0101;
    // Gathers bit 0 of each byte of a word into the low eight bits; no two products of the
    // bits land on the same bit, so nothing carries.
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let gather = |x: u64| (x & L).wrapping_mul(GATHER) >> 56;
    // Per byte, independently of the others (the compiler does sixteen at once): bit 7 for a
    // letter or digit, bit 6 for a space, bit 5 for an apostrophe or hyphen.
    let mut t = [0u8; 64];
    for (x, &c) in t.iter_mut().zip(chunk) {
        *x = (u8::from(c.is_ascii_alphanumeric()) << 7)
            | (u8::from(matches!(c, b'\t'..=b'\r' | b' ')) << 6)
            | (u8::from(matches!(c, b'\'' | b'-')) << 5);
    }
    let (mut alnum, mut space, mut quote) = (0u64, 0u64, 0u64);
    for (w, bytes) in t.chunks_exact(8).enumerate() {
        let mut x = [0u8; 8];
        x.copy_from_slice(bytes);
        let x = u64::from_le_bytes(x);
        alnum |= gather(x >> 7) << (8 * w);
        space |= gather(x >> 6) << (8 * w);
        if x & (L << 5) != 0 {
            quote |= gather(x >> 5) << (8 * w);
        }
    }
    let mut word = alnum;
    while quote != 0 {
        let j = quote.trailing_zeros() as usize;
        quote &= quote - 1;
        let p = base + j;
        if p >= 1
            && p + 1 < b.len()
            && b[p - 1].is_ascii_alphanumeric()
            && b[p + 1].is_ascii_alphanumeric()
            && !(b[p] == b'\''
                && matches!(b[p + 1], b's' | b'S')
                && !(p + 2 < b.len() && b[p + 2].is_ascii_alphanumeric()))
        {
            word |= 1 << j;
        }
    }
    let valid = if chunk.len() == 64 {
        u64::MAX
    } else {
        (1u64 << chunk.len()) - 1
    };
    (word, valid & !space & !word)
}

/// [`tokenize_ascii`] byte by byte, as it was written first: the reference its tests compare it
/// with. [`tokenize_chars`] for ASCII text, byte by byte: the same tokens, lower-case
/// forms and shapes, without decoding characters. The lower-case forms are read from the whole
/// text lowercased at once, at the tokens' own offsets; the shapes from the text when asked for.
///
/// One copy per mode (`ALL_SHAPES`), each out of line: the loop then tests no mode per token
/// and keeps its tables and bounds in registers.
#[cfg(test)]
fn tokenize_ascii_bytewise<const ALL_SHAPES: bool>(text: &str) -> Tokens<'_> {
    let all_shapes = ALL_SHAPES;
    // Per byte: its class, [`SPACE`] (`char::is_whitespace` on ASCII: tab, line feed, vertical
    // tab, form feed, carriage return and space), [`ALNUM`] (an ASCII letter or digit) or
    // other.
    const SPACE: u8 = 1;
    const ALNUM: u8 = 2;
    const CLASS: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut i = 0;
        while i < 256 {
            let c = i as u8;
            t[i] = if matches!(c, b'\t'..=b'\r' | b' ') {
                SPACE
            } else if c.is_ascii_alphanumeric() {
                ALNUM
            } else {
                0
            };
            i += 1;
        }
        t
    };
    let class = |x: u8| CLASS[usize::from(x)];
    let b = text.as_bytes();
    let n = b.len();
    let mut list = Vec::with_capacity(n / 4);
    // Robust mode (`all_shapes`) visits every token: no seeds.
    let mut seeds = Vec::with_capacity(if all_shapes { 0 } else { n / 16 });
    let lower = text.to_ascii_lowercase();
    let mut i = 0;
    loop {
        while i < n && class(b[i]) == SPACE {
            i += 1;
        }
        if i >= n || list.len() >= MAX_TOKENS {
            break;
        }
        let c = b[i];
        let mut end = i + 1;
        if class(c) == ALNUM {
            loop {
                end += b[end..].iter().take_while(|&&x| class(x) == ALNUM).count();
                // An apostrophe or hyphen between two letters or digits stays inside, except
                // a final `'s`.
                if end + 1 < n && matches!(b[end], b'\'' | b'-') && class(b[end + 1]) == ALNUM {
                    let possessive = b[end] == b'\''
                        && matches!(b[end + 1], b's' | b'S')
                        && !(end + 2 < n && class(b[end + 2]) == ALNUM);
                    if possessive {
                        break;
                    }
                    end += 2;
                } else {
                    break;
                }
            }
        }
        let (shape, shape_len) = if all_shapes {
            collapse_shape(b[i..end].iter().map(|&x| ASCII_SHAPES[usize::from(x)]))
        } else {
            ([0; 4], 0)
        };
        let (upper_start, digit_start) = (c.is_ascii_uppercase(), c.is_ascii_digit());
        if (upper_start || digit_start) && !all_shapes {
            seeds.push(list.len());
        }
        list.push(Token {
            start: i,
            end,
            lower: (i, end),
            shape,
            shape_len,
            upper_start,
            digit_start,
        });
        i = end;
    }
    Tokens {
        text,
        lower,
        list,
        seeds,
        ascii: true,
        caseless: false,
    }
}

fn tokenize_chars(text: &str) -> Tokens<'_> {
    let mut list = Vec::new();
    let mut lower = String::with_capacity(text.len());
    let mut it = text.char_indices().peekable();
    let mut seeds = Vec::new();
    let mut push = |list: &mut Vec<Token>, lower: &mut String, s: usize, e: usize| {
        let word = &text[s..e];
        let ls = lower.len();
        if word.is_ascii() {
            lower.extend(word.bytes().map(|c| char::from(c.to_ascii_lowercase())));
        } else {
            lower.push_str(&word.to_lowercase());
        }
        let (shape, shape_len) = shape_of(word);
        let first = word.chars().next().unwrap_or(' ');
        if first.is_uppercase() || first.is_ascii_digit() {
            seeds.push(list.len());
        }
        list.push(Token {
            start: s,
            end: e,
            lower: (ls, lower.len()),
            shape,
            shape_len,
            upper_start: first.is_uppercase(),
            digit_start: first.is_ascii_digit(),
        });
    };
    while let Some((i, c)) = it.next() {
        if list.len() >= MAX_TOKENS {
            break;
        }
        if c.is_whitespace() {
            continue;
        }
        if !c.is_alphanumeric() {
            push(&mut list, &mut lower, i, i + c.len_utf8());
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = it.peek() {
            if d.is_alphanumeric() {
                it.next();
                end = j + d.len_utf8();
                continue;
            }
            if matches!(d, '\'' | '’' | '-') {
                let after = j + d.len_utf8();
                let next = text[after..].chars().next();
                if next.is_some_and(char::is_alphanumeric) {
                    let n = next.unwrap_or(' ');
                    let possessive = d != '-'
                        && matches!(n, 's' | 'S')
                        && !text[after + 1..]
                            .chars()
                            .next()
                            .is_some_and(char::is_alphanumeric);
                    if possessive {
                        break;
                    }
                    it.next();
                    it.next();
                    end = after + n.len_utf8();
                    continue;
                }
            }
            break;
        }
        push(&mut list, &mut lower, i, end);
    }
    Tokens {
        text,
        lower,
        list,
        seeds,
        ascii: false,
        caseless: false,
    }
}

/// Tokens that may join two parts of one entity, one per line in `data/connectors.txt`: those of
/// at most seven bytes packed into sorted words ([`pack`]), any longer ones as they are.
struct Connectors {
    short: Vec<u64>,
    long: Vec<&'static str>,
}

static CONNECTORS: LazyLock<Connectors> = LazyLock::new(|| {
    let mut c = Connectors {
        short: Vec::new(),
        long: Vec::new(),
    };
    for l in include_str!("data/connectors.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        match pack(l.as_bytes()) {
            Some(k) => c.short.push(k),
            None => c.long.push(l),
        }
    }
    c.short.sort_unstable();
    c
});

/// A string of at most seven bytes as one word (its bytes, then its length in the top byte):
/// two such strings are equal exactly when their words are.
fn pack(b: &[u8]) -> Option<u64> {
    if b.len() > 7 {
        return None;
    }
    let mut k = (b.len() as u64) << 56;
    for (j, &x) in b.iter().enumerate() {
        k |= u64::from(x) << (8 * j);
    }
    Some(k)
}

/// Whether a token's lowercased form (its bytes) is a connector.
fn is_connector(lower: &[u8]) -> bool {
    match pack(lower) {
        Some(k) => CONNECTORS.short.binary_search(&k).is_ok(),
        None => CONNECTORS.long.iter().any(|l| l.as_bytes() == lower),
    }
}

/// Which tokens are scored, and their indices in order (the passes after this one visit those
/// only).
// Out of line: inlined into the decoder it cost robust mode (which returns at once) some 2 K
// instructions per evaluation in the scorer's code.
#[inline(never)]
fn candidates(t: &Tokens<'_>, robust: bool) -> (Vec<bool>, Vec<usize>) {
    let n = t.list.len();
    if robust {
        return (vec![true; n], (0..n).collect());
    }
    let mut cand = vec![false; n];
    // Room for the seeds and as many tokens between or after them (abbreviation dots,
    // connectors): growing from empty would reallocate several times for a few dozen.
    let mut list = Vec::with_capacity(2 * t.seeds.len());
    // A token that is not a seed and follows a non-candidate is none (most of prose): only the
    // runs from each seed on are visited, each while the token before is a candidate.
    let mut i = 0;
    for &seed in &t.seeds {
        if seed < i {
            continue;
        }
        i = seed;
        while i < n && candidate_at(t, &mut cand, &mut list, i) {
            i += 1;
        }
    }
    (cand, list)
}

/// Settles token `i` of [`candidates`] (`cand` holds the tokens before it); false when its
/// run ends before it: it neither follows a candidate nor starts with an upper-case letter or
/// a digit.
fn candidate_at(t: &Tokens<'_>, cand: &mut [bool], list: &mut Vec<usize>, i: usize) -> bool {
    let tok = &t.list[i];
    let prev = i > 0 && cand[i - 1];
    if !(prev || tok.upper_start || tok.digit_start) {
        return false;
    }
    let nxt_up = t.list.get(i + 1).is_some_and(|x| x.upper_start);
    let nxt_dig = t.list.get(i + 1).is_some_and(|x| x.digit_start);
    // Only asked for digits: a lookup in CONNECTORS per token would cost more than the rest.
    let nxt_conn = || {
        t.list.get(i + 1).is_some_and(|_| {
            let w = t.word(i + 1);
            w.chars().all(char::is_alphabetic) && is_connector(t.lwb(i + 1))
        })
    };
    cand[i] = if tok.upper_start {
        true
    } else if tok.digit_start {
        prev || nxt_up || nxt_conn()
    } else if t.word_bytes(i) == b"."
        && prev
        && t.list[i - 1].upper_start
        && t.word(i - 1).chars().count() <= 5
    {
        // The dot of an abbreviation that may end an entity: `Inc.`, `Co.`, `Ave.`.
        true
    } else if prev && (nxt_up || nxt_dig) {
        is_connector(t.lwb(i))
    } else {
        false
    };
    if cand[i] {
        list.push(i);
    }
    true
}

/// `cand` and `list` as [`candidates`] returns them.
fn flags(t: &Tokens<'_>, cand: &[bool], list: &[usize], robust: bool, gaz: &Gazetteer) -> Vec<u16> {
    let n = t.list.len();
    let mut fl = vec![0u16; n];
    for &i in list {
        // Balanced mode looks up candidates only (a neighbour that is not one reads as 0):
        // every lookup is a likely cache miss in a table of half a million entries.
        fl[i] = gaz.get(Fnv::of(t.lwb(i))) & !(PHRASE_BEGIN | PHRASE_INSIDE);
    }
    // The first token a phrase may begin at: a phrase found skips the tokens it covers.
    let mut free = 0;
    for &i in list {
        if i < free {
            continue;
        }
        let mut max = MAX_PHRASE.min(n - i);
        if !robust {
            // Balanced: a phrase lies within one run of candidates, so a capitalised word
            // followed by prose costs no phrase lookup.
            max = max.min(
                cand[i..]
                    .iter()
                    .take(MAX_PHRASE)
                    .take_while(|&&c| c)
                    .count(),
            );
        }
        // A phrase has two tokens or more: a candidate alone (most of them) hashes nothing.
        if max < 2 {
            free = i + 1;
            continue;
        }
        let mut hashes = [0u64; MAX_PHRASE + 1];
        let mut h = Fnv::new().bytes(t.lwb(i));
        for (k, slot) in hashes.iter_mut().enumerate().take(max + 1).skip(2) {
            h = h.bytes(b" ").bytes(t.lwb(i + k - 1));
            *slot = h.0;
        }
        let mut hit = 0;
        for k in (2..=max).rev() {
            let f = gaz.get(hashes[k]) & (CITY | REGION);
            if f != 0 {
                hit = k;
                fl[i] |= PHRASE_BEGIN | f;
                for x in &mut fl[i + 1..i + k] {
                    *x |= PHRASE_INSIDE | f;
                }
                break;
            }
        }
        free = i + if hit > 0 { hit } else { 1 };
    }
    fl
}

/// Adds each feature's row to the tag scores (eight lanes, the last always zero).
struct Scorer<'m> {
    model: &'m Model,
    scores: [i32; LANES],
}

impl Scorer<'_> {
    /// Adds the row of the feature whose FNV-1a hash is `h`.
    #[inline]
    fn add(&mut self, h: u64) {
        let row = &self.model.rows[(h.wrapping_mul(MUL) >> (64 - BITS)) as usize];
        for (s, &w) in self.scores.iter_mut().zip(&row.0) {
            *s += w;
        }
    }
}

/// The FNV-1a state after a fixed prefix (or the hash of a whole fixed feature).
const fn pre(prefix: &[u8]) -> u64 {
    extend(OFFSET, prefix)
}

const H_BIAS: u64 = pre(b"b");
const H_START: u64 = pre(b"st");
const P_WORD: u64 = pre(b"w:");
const P_SHAPE: u64 = pre(b"s:");
const P_PREFIX: u64 = pre(b"p:");
const P_SUFFIX: u64 = pre(b"x:");
const P_WORD_M1: u64 = pre(b"w-1:");
const P_WORD_P1: u64 = pre(b"w+1:");
const P_WORD_M2: u64 = pre(b"w-2:");
const P_WORD_P2: u64 = pre(b"w+2:");
const P_SHAPE_M1: u64 = pre(b"s-1:");
const P_SHAPE_P1: u64 = pre(b"s+1:");
const P_GAZ_SHAPE: u64 = pre(b"gs:");

/// `t:TAG` per previous tag.
const H_TAG: [u64; NTAGS] = {
    let mut out = [0; NTAGS];
    let mut k = 0;
    while k < NTAGS {
        out[k] = extend(pre(b"t:"), TAGS[k].as_bytes());
        k += 1;
    }
    out
};

/// The state after `tw:TAG:` per previous tag (the shape follows).
const P_TAG_SHAPE: [u64; NTAGS] = {
    let mut out = [0; NTAGS];
    let mut k = 0;
    while k < NTAGS {
        out[k] = extend(extend(pre(b"tw:"), TAGS[k].as_bytes()), b":");
        k += 1;
    }
    out
};

const NFLAGS: usize = FLAG_NAMES.len();
/// The bits that name a flag feature.
const FLAG_BITS: u16 = (1 << NFLAGS) - 1;

/// `g:NAME`, `g-1:NAME` and `g+1:NAME` per flag bit.
const H_FLAG: [[u64; NFLAGS]; 3] = {
    let prefixes: [&[u8]; 3] = [b"g:", b"g-1:", b"g+1:"];
    let mut out = [[0; NFLAGS]; 3];
    let mut p = 0;
    while p < 3 {
        let mut k = 0;
        while k < NFLAGS {
            out[p][k] = extend(pre(prefixes[p]), FLAG_NAMES[k].as_bytes());
            k += 1;
        }
        p += 1;
    }
    out
};

/// Whether `word` is one of the one-character tokens after which a token starts a sentence:
/// `.!?:"(`.
fn ends_sentence(word: &[u8]) -> bool {
    matches!(word, [b'.' | b'!' | b'?' | b':' | b'"' | b'('])
}

/// `h` fed with `v` in lower-case hex, most significant digit first, without leading zeros
/// (`0` for zero): the bytes [`hex`] writes, without writing them.
#[inline]
fn feed_hex(mut h: Fnv, v: u16) -> Fnv {
    const D: &[u8; 16] = b"0123456789abcdef";
    let digits = (u16::BITS - (v | 1).leading_zeros()).div_ceil(4);
    for k in (0..digits).rev() {
        h = h.byte(D[usize::from((v >> (4 * k)) & 15)]);
    }
    h
}

#[cfg(test)]
fn hex(mut v: u16, out: &mut [u8; 4]) -> &[u8] {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut n = 0;
    let mut tmp = [0u8; 4];
    loop {
        tmp[n] = D[usize::from(v & 15)];
        n += 1;
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    for k in 0..n {
        out[k] = tmp[n - 1 - k];
    }
    &out[..n]
}

/// The shape of token `j` ([`Tokens::shape`]), or of the sentence start or end beyond the tokens.
fn shape_at(t: &Tokens<'_>, j: isize) -> Shape {
    if j < 0 {
        Shape::of(b"<s>")
    } else if j as usize >= t.list.len() {
        Shape::of(b"</s>")
    } else {
        t.shape(j as usize)
    }
}

/// `shapes` are the shapes of tokens `i - 1`, `i` and `i + 1` ([`shape_at`]).
fn score_token(
    m: &Model,
    t: &Tokens<'_>,
    fl: &[u16],
    i: usize,
    prev: usize,
    shapes: &[Shape; 3],
) -> [i32; NTAGS] {
    let n = t.list.len();
    let mut sc = Scorer {
        model: m,
        scores: [0; LANES],
    };
    let w = |j: isize| -> &[u8] {
        if j < 0 {
            b"<s>"
        } else if j as usize >= n {
            b"</s>"
        } else {
            t.lwb(j as usize)
        }
    };
    let g = |j: isize| -> u16 {
        if j < 0 || j as usize >= n {
            0
        } else {
            fl[j as usize]
        }
    };
    let ii = i as isize;
    let lwb = t.lwb(i);
    let h = |state: u64, bytes: &[u8]| Fnv(state).bytes(bytes).0;
    sc.add(H_BIAS);
    sc.add(h(P_WORD, lwb));
    let shape = shapes[1];
    sc.add(h(P_SHAPE, shape.as_bytes()));
    // The first and last three characters (bytes, for an ASCII word).
    let (head_end, tail_start) = if t.ascii || lwb.is_ascii() {
        (lwb.len().min(3), lwb.len().saturating_sub(3))
    } else {
        let lw = t.lw(i);
        let chars = lw.chars().count();
        (
            lw.char_indices().nth(3).map_or(lw.len(), |(k, _)| k),
            lw.char_indices()
                .nth(chars.saturating_sub(3))
                .map_or(0, |(k, _)| k),
        )
    };
    sc.add(h(P_PREFIX, &lwb[..head_end]));
    sc.add(h(P_SUFFIX, &lwb[tail_start..]));
    sc.add(h(P_WORD_M1, w(ii - 1)));
    sc.add(h(P_WORD_P1, w(ii + 1)));
    sc.add(h(P_WORD_M2, w(ii - 2)));
    sc.add(h(P_WORD_P2, w(ii + 2)));
    sc.add(h(P_SHAPE_M1, shapes[0].as_bytes()));
    sc.add(h(P_SHAPE_P1, shapes[2].as_bytes()));
    sc.add(feed_hex(Fnv(P_GAZ_SHAPE).bytes(shape.as_bytes()).byte(b':'), g(ii)).0);
    sc.add(H_TAG[prev]);
    sc.add(h(P_TAG_SHAPE[prev], shape.as_bytes()));
    // The flag features, set bits only (the sums do not depend on the order of the rows).
    for (flags, hashes) in [g(ii), g(ii - 1), g(ii + 1)].into_iter().zip(&H_FLAG) {
        let mut bits = flags & FLAG_BITS;
        while bits != 0 {
            sc.add(hashes[bits.trailing_zeros() as usize]);
            bits &= bits - 1;
        }
    }
    if i == 0 || ends_sentence(t.word_bytes(i - 1)) {
        sc.add(H_START);
    }
    let mut out = [0; NTAGS];
    out.copy_from_slice(&sc.scores[..NTAGS]);
    out
}

/// An I- tag that does not continue its type is read as B-.
fn legal(prev: usize, tag: usize) -> usize {
    if tag != 0 && tag.is_multiple_of(2) && prev != tag - 1 && prev != tag {
        tag - 1
    } else {
        tag
    }
}

/// Tags and per-token scores (all zero for tokens that were not scored).
#[cfg(test)]
fn decode(t: &Tokens<'_>, robust: bool, m: &Model, gaz: &Gazetteer) -> Vec<(usize, [i32; NTAGS])> {
    let mut out = vec![(0, [0; NTAGS]); t.list.len()];
    decode_each(t, robust, m, gaz, |i, tag, sc| out[i] = (tag, *sc));
    out
}

/// Tags the tokens left to right, handing `each` the index, tag and scores of every scored
/// token, in order, without collecting them; a token that is not scored is `O`.
fn decode_each(
    t: &Tokens<'_>,
    robust: bool,
    m: &Model,
    gaz: &Gazetteer,
    mut each: impl FnMut(usize, usize, &[i32; NTAGS]),
) {
    let (cand, list) = candidates(t, robust);
    let fl = flags(t, &cand, &list, robust, gaz);
    let mut prev = 0;
    // The token after the last scored one: a token that was not scored is `O`.
    let mut next = 0;
    // The shapes of the tokens around the last scored one: a run of scored tokens reads each
    // token's shape once rather than three times.
    let mut shapes = [Shape::of(b""); 3];
    for &i in &list {
        let ii = i as isize;
        if i == next && i > 0 {
            shapes = [shapes[1], shapes[2], shape_at(t, ii + 1)];
        } else {
            shapes = [shape_at(t, ii - 1), shape_at(t, ii), shape_at(t, ii + 1)];
        }
        if i != next {
            prev = 0;
        }
        next = i + 1;
        let sc = score_token(m, t, &fl, i, prev, &shapes);
        let mut best = 0;
        for k in 1..NTAGS {
            if sc[k] > sc[best] {
                best = k;
            }
        }
        let best = legal(prev, best);
        each(i, best, &sc);
        prev = best;
    }
}

/// Abbreviations that keep the period after them at the end of an entity (`Acme Corp.`,
/// `Main St.`, `Sr.`): the organisation suffixes, street types and titles of `data/cues.txt`
/// that are written with one, and `Jr.`, `Bros.`, `Mt.` and `Ft.`, which it lacks. After any
/// other word a final period ends the sentence.
const ABBREVIATIONS: [&[u8]; 45] = [
    b"inc", b"ltd", b"corp", b"co", b"llc", b"llp", b"plc", b"bros", b"pty", b"pvt", b"st", b"ave",
    b"rd", b"ln", b"dr", b"blvd", b"ct", b"pl", b"pkwy", b"hwy", b"sq", b"cir", b"str", b"apt",
    b"ste", b"jr", b"sr", b"mr", b"mrs", b"ms", b"mx", b"prof", b"capt", b"col", b"gen", b"lt",
    b"sgt", b"sen", b"rep", b"gov", b"pres", b"rev", b"fr", b"mt", b"ft",
];

/// The tokens `first..=last` of an entity tagged over `s..=e`, without the periods the tagger
/// takes in at its edges (`None` if nothing else is left):
/// - a leading period is dropped (the tagger may begin a name at the period after its initial:
///   [`initial_before`] then brings the initial in);
/// - a final period is dropped unless it follows an initial (`U.S.`) or an abbreviation
///   ([`ABBREVIATIONS`]): after any other word it ends the sentence.
fn trim_periods(t: &Tokens<'_>, s: usize, e: usize) -> Option<(usize, usize)> {
    let period = |i: usize| t.word_bytes(i) == b".";
    let first = if period(s) { s + 1 } else { s };
    let mut last = e;
    if last > first && period(last) {
        let before = t.word_bytes(last - 1);
        let initial = matches!(before, [c] if c.is_ascii_alphabetic());
        if !(initial || ABBREVIATIONS.contains(&t.lwb(last - 1))) {
            last -= 1;
        }
    }
    (first <= last).then_some((first, last))
}

/// The initial right before a person's name that starts at token `first` (`J.` of `J. Smith`):
/// the token of an upper-case ASCII letter with a period right after it, the letter not itself
/// after a period (`U.S.`).
fn initial_before(t: &Tokens<'_>, first: usize) -> Option<usize> {
    let letter = first.checked_sub(2)?;
    let (l, p) = (&t.list[letter], &t.list[letter + 1]);
    (matches!(t.word_bytes(letter), [c] if c.is_ascii_uppercase())
        && t.word_bytes(letter + 1) == b"."
        && l.end == p.start
        && t.text.as_bytes().get(l.start.wrapping_sub(1)) != Some(&b'.'))
    .then_some(letter)
}

fn kind_of(tag: usize) -> Kind {
    match (tag - 1) / 2 {
        0 => Kind::Person,
        1 => Kind::Location,
        _ => Kind::Organization,
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The least confidence of an entity in a text written without capitals. Below it the tagger
/// all but ties with `O`: on the val split's texts without capitals, 40 of the 41 entities under
/// 0.55 were wrong (`floor` in `the meeting is at 10:30 on floor 4`), and dropping them raised
/// their strict F1 from 0.639 to 0.701; 0.6 to 0.9 scored the same or less.
const CASELESS_MIN_CONFIDENCE: f64 = 0.55;

/// Whether `text` is written without capitals: no upper-case letter in any script, ASCII
/// lower-case letters, and at most one letter in ten outside the Latin alphabet (`a`–`z`,
/// U+00C0–U+024F). Text mostly in scripts without case (Chinese) or in other scripts stays
/// with balanced mode's candidates: the tagger learnt English lower-case names only.
fn written_without_capitals(text: &str) -> bool {
    // Prose has a capital within its first few bytes, where this stops.
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return false;
    }
    if text.is_ascii() {
        return text.bytes().any(|b| b.is_ascii_lowercase());
    }
    let (mut ascii, mut latin, mut other) = (false, 0usize, 0usize);
    for c in text.chars() {
        if c.is_uppercase() {
            return false;
        }
        if c.is_ascii_lowercase() {
            ascii = true;
            latin += 1;
        } else if ('\u{c0}'..='\u{24f}').contains(&c) {
            latin += 1;
        } else if c.is_alphabetic() {
            other += 1;
        }
    }
    ascii && other * 10 <= latin
}

/// The names, places and organisations in `text`. Fast mode has no tagger: callers skip it.
pub(crate) fn scan(text: &str, mode: Mode) -> Vec<Entity> {
    if !text.chars().any(char::is_alphabetic) {
        return Vec::new();
    }
    let t = tokenize(text, mode == Mode::Robust);
    // A text written without capitals (chat style: `i met jenny in london`) leaves balanced
    // mode's candidates nothing to start from, and its casing tells nothing: every token is
    // scored, as in robust mode.
    let robust = mode == Mode::Robust || t.caseless;
    if !robust && !t.list.iter().any(|x| x.upper_start) {
        return Vec::new();
    }
    let m = &*MODEL;
    let mut out: Vec<Entity> = Vec::new();
    // Running (kind, start token, sum of token confidences).
    let mut cur: Option<(usize, usize, f64)> = None;
    // The last scored token: a token that was not scored is `O`, which ends the running entity.
    let mut last = 0;
    let close = |cur: &mut Option<(usize, usize, f64)>, end_tok: usize, out: &mut Vec<Entity>| {
        if let Some((tag, s, sum)) = cur.take() {
            // The confidence is the tagger's, over the tokens it tagged (before the edges
            // below are cleaned up).
            let n = (end_tok - s + 1) as f64;
            if t.caseless && sum / n < CASELESS_MIN_CONFIDENCE {
                return;
            }
            let Some((mut first, last)) = trim_periods(&t, s, end_tok) else {
                return;
            };
            let kind = kind_of(tag);
            // A person's initials belong to the name (`J. R. Smith`), even one the tagger made
            // an entity of its own; one that ends a longer entity stays there.
            while kind == Kind::Person
                && let Some(letter) = initial_before(&t, first)
            {
                let l = &t.list[letter];
                if let Some(prev) = out.last()
                    && prev.end > l.start
                {
                    if (prev.start, prev.end) != (l.start, l.end) {
                        break;
                    }
                    out.pop();
                }
                first = letter;
            }
            out.push(Entity {
                kind,
                start: t.list[first].start,
                end: t.list[last].end,
                score: (sum / n).clamp(0.5, 0.99),
            });
        }
    };
    decode_each(&t, robust, m, &GAZETTEER, |i, tag, sc| {
        if i > last + 1 {
            close(&mut cur, last, &mut out);
        }
        last = i;
        let conf = if tag == 0 {
            0.0
        } else {
            sigmoid(f64::from(sc[tag] - sc[0]) / m.scale)
        };
        let continues = tag != 0 && tag.is_multiple_of(2) && cur.is_some_and(|c| c.0 == tag - 1);
        if continues {
            if let Some(c) = cur.as_mut() {
                c.2 += conf;
            }
            return;
        }
        close(&mut cur, i.saturating_sub(1), &mut out);
        if tag != 0 {
            cur = Some((if tag.is_multiple_of(2) { tag - 1 } else { tag }, i, conf));
        }
    });
    close(&mut cur, last, &mut out);
    out
}

#[cfg(test)]
mod tests {
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
    fn ascii_tokens(
        tokenize: fn(&str) -> Tokens<'_>,
        text: &str,
    ) -> (Vec<TokenFields>, Vec<usize>) {
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
        let words =
            |r: Option<(usize, usize)>| r.map(|(a, b)| &t.text[t.list[a].start..t.list[b].end]);
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
                            || !before[..before.len() - 2]
                                .ends_with(|c: char| c.is_ascii_uppercase()),
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
}
