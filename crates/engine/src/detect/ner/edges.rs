//! An entity's edges: the periods the tagger takes in around it, and a person's initials before it.

use super::tokens::Tokens;

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
pub(super) fn trim_periods(t: &Tokens<'_>, s: usize, e: usize) -> Option<(usize, usize)> {
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
pub(super) fn initial_before(t: &Tokens<'_>, first: usize) -> Option<usize> {
    let letter = first.checked_sub(2)?;
    let (l, p) = (&t.list[letter], &t.list[letter + 1]);
    (matches!(t.word_bytes(letter), [c] if c.is_ascii_uppercase())
        && t.word_bytes(letter + 1) == b"."
        && l.end == p.start
        && t.text.as_bytes().get(l.start.wrapping_sub(1)) != Some(&b'.'))
    .then_some(letter)
}
