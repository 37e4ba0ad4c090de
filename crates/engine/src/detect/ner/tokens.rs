//! The tokenizer (scheme step 1): tokens with their lower-case forms and shapes, read byte by
//! byte from ASCII text and character by character from any other.

use super::{MAX_TOKENS, written_without_capitals};

/// One token: byte span in the text, its lowercased form in `Tokens::lower`, its shape.
#[derive(Debug, Clone, Copy)]
pub(super) struct Token {
    pub(super) start: usize,
    pub(super) end: usize,
    /// Its span in `Tokens::lower` (the token's own span for ASCII text).
    lower: (usize, usize),
    /// Its shape; `shape_len` 0 (no token is empty) for an ASCII token whose shape is read from
    /// the text when asked for: in balanced mode most tokens are never scored nor next to one
    /// that is.
    pub(super) shape: [u8; 4],
    pub(super) shape_len: u8,
    pub(super) upper_start: bool,
    pub(super) digit_start: bool,
}

pub(super) struct Tokens<'t> {
    pub(super) text: &'t str,
    lower: String,
    pub(super) list: Vec<Token>,
    /// The indices of the tokens that start with an upper-case letter or a digit, in order:
    /// where balanced mode's runs of candidates begin (the ASCII tokenizer leaves it empty for
    /// robust mode, which scores every token).
    pub(super) seeds: Vec<usize>,
    /// The text is ASCII (so is every token's lowercased form).
    pub(super) ascii: bool,
    /// The text is written without capitals ([`written_without_capitals`]): its lower-case
    /// letters have the shape class `c`, not `x`, and balanced mode scores every token.
    pub(super) caseless: bool,
}

impl Tokens<'_> {
    pub(super) fn lw(&self, i: usize) -> &str {
        let (s, e) = self.list[i].lower;
        &self.lower[s..e]
    }

    /// [`Tokens::lw`] as bytes, without the character-boundary checks of a `str` slice.
    pub(super) fn lwb(&self, i: usize) -> &[u8] {
        let (s, e) = self.list[i].lower;
        &self.lower.as_bytes()[s..e]
    }

    pub(super) fn word(&self, i: usize) -> &str {
        let t = &self.list[i];
        &self.text[t.start..t.end]
    }

    /// [`Tokens::word`] as bytes, without the character-boundary checks of a `str` slice.
    pub(super) fn word_bytes(&self, i: usize) -> &[u8] {
        let t = &self.list[i];
        &self.text.as_bytes()[t.start..t.end]
    }

    pub(super) fn shape(&self, i: usize) -> Shape {
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
pub(super) struct Shape(pub(super) [u8; 4], pub(super) u8);

impl Shape {
    /// A shape written out (`<s>`, `</s>`: at most four bytes).
    pub(super) const fn of(b: &[u8]) -> Self {
        let mut out = [0u8; 4];
        let mut k = 0;
        while k < b.len() {
            out[k] = b[k];
            k += 1;
        }
        Shape(out, b.len() as u8)
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
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
pub(super) fn tokenize(text: &str, all_shapes: bool) -> Tokens<'_> {
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
pub(super) fn tokenize_ascii<const ALL_SHAPES: bool>(text: &str) -> Tokens<'_> {
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
pub(super) fn tokenize_ascii_bytewise<const ALL_SHAPES: bool>(text: &str) -> Tokens<'_> {
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

pub(super) fn tokenize_chars(text: &str) -> Tokens<'_> {
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
