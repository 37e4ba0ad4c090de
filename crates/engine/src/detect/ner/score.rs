//! The scorer (scheme step 2): each token's features hashed into rows of the weights, and the
//! greedy left-to-right decoder over the candidates.

use super::candidates::{candidates, flags};
use super::fnv::{Fnv, OFFSET, extend};
use super::gazetteer::{FLAG_NAMES, Gazetteer};
use super::model::{BITS, LANES, Model};
use super::tokens::{Shape, Tokens};
use super::{MUL, NTAGS, TAGS};

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
pub(super) fn ends_sentence(word: &[u8]) -> bool {
    matches!(word, [b'.' | b'!' | b'?' | b':' | b'"' | b'('])
}

/// `h` fed with `v` in lower-case hex, most significant digit first, without leading zeros
/// (`0` for zero): the bytes [`hex`] writes, without writing them.
#[inline]
pub(super) fn feed_hex(mut h: Fnv, v: u16) -> Fnv {
    const D: &[u8; 16] = b"0123456789abcdef";
    let digits = (u16::BITS - (v | 1).leading_zeros()).div_ceil(4);
    for k in (0..digits).rev() {
        h = h.byte(D[usize::from((v >> (4 * k)) & 15)]);
    }
    h
}

#[cfg(test)]
pub(super) fn hex(mut v: u16, out: &mut [u8; 4]) -> &[u8] {
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
pub(super) fn legal(prev: usize, tag: usize) -> usize {
    if tag != 0 && tag.is_multiple_of(2) && prev != tag - 1 && prev != tag {
        tag - 1
    } else {
        tag
    }
}

/// Tags and per-token scores (all zero for tokens that were not scored).
#[cfg(test)]
pub(super) fn decode(
    t: &Tokens<'_>,
    robust: bool,
    m: &Model,
    gaz: &Gazetteer,
) -> Vec<(usize, [i32; NTAGS])> {
    let mut out = vec![(0, [0; NTAGS]); t.list.len()];
    decode_each(t, robust, m, gaz, |i, tag, sc| out[i] = (tag, *sc));
    out
}

/// Tags the tokens left to right, handing `each` the index, tag and scores of every scored
/// token, in order, without collecting them; a token that is not scored is `O`.
pub(super) fn decode_each(
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
