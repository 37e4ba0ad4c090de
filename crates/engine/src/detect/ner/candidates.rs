//! Which tokens balanced mode scores (capitalised words, digits and connectors next to them),
//! and their gazetteer flags, phrases of places included.

use std::sync::LazyLock;

use super::MAX_PHRASE;
use super::fnv::Fnv;
use super::gazetteer::{CITY, Gazetteer, PHRASE_BEGIN, PHRASE_INSIDE, REGION};
use super::tokens::Tokens;

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
pub(super) fn is_connector(lower: &[u8]) -> bool {
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
pub(super) fn candidates(t: &Tokens<'_>, robust: bool) -> (Vec<bool>, Vec<usize>) {
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
pub(super) fn candidate_at(
    t: &Tokens<'_>,
    cand: &mut [bool],
    list: &mut Vec<usize>,
    i: usize,
) -> bool {
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
pub(super) fn flags(
    t: &Tokens<'_>,
    cand: &[bool],
    list: &[usize],
    robust: bool,
    gaz: &Gazetteer,
) -> Vec<u16> {
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
