//! The incremental scanner: enforcement on a completion that arrives in pieces (DESIGN §11).
//!
//! A streamed answer must be judged before the client sees it, without waiting for its end and
//! without letting a value through because it was split across two chunks (`user@exa` +
//! `mple.com`). The scanner takes the pieces as they come and answers, each time, with the text
//! that is now safe to release, redacted, or with a block.
//!
//! # How it decides
//! - **Checkpoints.** The text is judged at checkpoints that depend on the text alone, never on
//!   how it was chunked: after the first sentence end (`.`, `!` or `?` and a space, a line break,
//!   or a CJK full stop), then after each sentence end at least
//!   [`StreamOptions::min_checkpoint_bytes`] after the previous checkpoint and, in a long run
//!   without one, every [`StreamOptions::checkpoint_bytes`].
//!   At a checkpoint the policies are evaluated on the text that precedes it: what is not yet
//!   released, plus up to [`StreamOptions::context_bytes`] of what was (context words and
//!   classifiers see the sentence before), at most [`StreamOptions::window_bytes`] in all.
//! - **What is held back.** Of the text before a checkpoint, the scanner keeps back what a later
//!   piece could still turn into part of a finding: the last word (it may grow), the last
//!   [`StreamOptions::hold_bytes`] (a phone number or a name spans several words), any finding
//!   that reaches into that tail, and an unfinished `-----BEGIN …` block. Everything before is
//!   released, with the redactions of the findings in it.
//! - **Blocks.** When a checkpoint's evaluation decides `block`, nothing more is released and the
//!   scanner reports how much had been delivered.
//! - **Exactness.** Because checkpoints, windows and releases are functions of the text, the
//!   released output is the same for every chunking of the same completion, including a single
//!   chunk: a non-streamed answer goes through the same scanner and gets the same result, byte for
//!   byte. The property tests below check this for arbitrary chunkings, split bytes included.
//! - **Placeholders.** One [`Redactor`] numbers values across the whole stream, so a value keeps
//!   its placeholder from one sentence to the next.

use crate::eval::{Evaluation, Input, PolicySet, Scope};
use crate::finding::Target;
use crate::policy::Decision;
use crate::redact::{RedactStyle, Redactor};

/// Tuning of the [`StreamScanner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// A checkpoint at the latest this many bytes after the previous one.
    pub checkpoint_bytes: usize,
    /// A sentence end closer than this to the previous checkpoint is not one (the first is):
    /// short sentences are judged together, so that each window is not mostly context.
    pub min_checkpoint_bytes: usize,
    /// How much text before a checkpoint the policies read, at most.
    pub window_bytes: usize,
    /// How much of the text already released they read again as context, at most: the window
    /// starts this far before the first unreleased byte (or `window_bytes` before the
    /// checkpoint, whichever is later).
    pub context_bytes: usize,
    /// How much text before a checkpoint is always held back: the longest value that can span
    /// several words (phone numbers, card numbers with spaces, names, addresses).
    pub hold_bytes: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            checkpoint_bytes: 256,
            min_checkpoint_bytes: 128,
            window_bytes: 1024,
            context_bytes: 128,
            hold_bytes: 48,
        }
    }
}

/// What a [`StreamScanner`] answers to a piece.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Release {
    /// Text to send to the client now (redacted where a policy redacts).
    pub text: String,
    /// Set when a checkpoint's evaluation blocked: send nothing more.
    pub blocked: bool,
}

/// Scans one streamed text (a completion, or a tool call's arguments).
#[derive(Debug)]
pub struct StreamScanner {
    options: StreamOptions,
    target: Target,
    /// Everything received, as valid UTF-8.
    text: String,
    /// Bytes of an incomplete UTF-8 sequence at the end of the received bytes.
    pending: Vec<u8>,
    /// The last checkpoint.
    checkpoint: usize,
    /// Bytes of `text` already released (or withheld for good after a block).
    released: usize,
    /// A byte offset of `text` and the characters before it, to turn window offsets into
    /// character offsets without recounting from the start.
    chars_at: (usize, usize),
    /// Characters of the released output (after redaction), for the event record.
    delivered_chars: usize,
    redactor: Option<Redactor>,
    /// The strongest decision of any checkpoint.
    decision: Decision,
    /// The evaluation of each checkpoint that found something, with findings in absolute
    /// offsets of the scanned text.
    evaluations: Vec<Evaluation>,
    blocked: bool,
}

impl StreamScanner {
    /// A scanner for a completion.
    pub fn new(options: StreamOptions) -> Self {
        Self::for_target(options, Target::Completion)
    }

    /// A scanner for a text read as `target`.
    pub fn for_target(options: StreamOptions, target: Target) -> Self {
        StreamScanner {
            options,
            target,
            text: String::new(),
            pending: Vec::new(),
            checkpoint: 0,
            released: 0,
            chars_at: (0, 0),
            delivered_chars: 0,
            redactor: None,
            decision: Decision::Allow,
            evaluations: Vec::new(),
            blocked: false,
        }
    }

    /// Takes a piece of text and answers with what can be released now.
    pub fn push(&mut self, set: &PolicySet, scope: &Scope, piece: &str) -> Release {
        if !self.pending.is_empty() {
            // Bytes of a split character came before: they can never complete now.
            self.text.push_str(&String::from_utf8_lossy(&self.pending));
            self.pending.clear();
        }
        self.text.push_str(piece);
        self.advance(set, scope, false)
    }

    /// Takes raw bytes, which may end (or begin) inside a multi-byte character.
    pub fn push_bytes(&mut self, set: &PolicySet, scope: &Scope, bytes: &[u8]) -> Release {
        self.pending.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // An invalid sequence: decode it lossily, as everything after it.
            Err(_) => self.pending.len(),
        };
        let head: Vec<u8> = self.pending.drain(..valid).collect();
        self.text.push_str(&String::from_utf8_lossy(&head));
        self.advance(set, scope, false)
    }

    /// The end of the text: judge and release the rest.
    pub fn finish(&mut self, set: &PolicySet, scope: &Scope) -> Release {
        if !self.pending.is_empty() {
            self.text.push_str(&String::from_utf8_lossy(&self.pending));
            self.pending.clear();
        }
        self.advance(set, scope, true)
    }

    /// Whether a checkpoint blocked.
    pub fn blocked(&self) -> bool {
        self.blocked
    }

    /// The strongest decision so far.
    pub fn decision(&self) -> Decision {
        self.decision
    }

    /// Characters sent to the client so far.
    pub fn delivered_chars(&self) -> usize {
        self.delivered_chars
    }

    /// The evaluations of the checkpoints that found something, findings in offsets of the whole
    /// text received.
    pub fn evaluations(&self) -> &[Evaluation] {
        &self.evaluations
    }

    /// The numbering of the placeholders given so far, if any policy redacted.
    pub fn redactor(&self) -> Option<&Redactor> {
        self.redactor.as_ref()
    }

    fn advance(&mut self, set: &PolicySet, scope: &Scope, end: bool) -> Release {
        let mut out = Release::default();
        if self.blocked {
            out.blocked = true;
            return out;
        }
        while let Some(at) = next_checkpoint(&self.text, self.checkpoint, &self.options) {
            self.judge(set, scope, at, false, &mut out);
            if self.blocked {
                return out;
            }
        }
        if end && (self.checkpoint < self.text.len() || self.released < self.text.len()) {
            self.judge(set, scope, self.text.len(), true, &mut out);
        }
        out
    }

    /// Evaluates the window before checkpoint `at` and releases what is settled.
    fn judge(&mut self, set: &PolicySet, scope: &Scope, at: usize, end: bool, out: &mut Release) {
        self.checkpoint = at;
        let from = at
            .saturating_sub(self.options.window_bytes)
            .max(self.released.saturating_sub(self.options.context_bytes));
        let from = floor_char_boundary(&self.text, from);
        let window = &self.text[from..at];
        let input = match self.target {
            Target::Prompt => Input {
                prompt: Some(window),
                completion: None,
                scope,
            },
            Target::Completion => Input {
                prompt: None,
                completion: Some(window),
                scope,
            },
        };
        let mut eval = set.evaluate(&input);
        self.decision = self.decision.max(eval.decision);
        // Window starts never move back, so the character count moves forward from the last.
        let (memo_byte, memo_chars) = self.chars_at;
        let from_chars = memo_chars + self.text[memo_byte..from].chars().count();
        self.chars_at = (from, from_chars);
        for f in eval
            .findings
            .iter_mut()
            .chain(eval.hits.iter_mut().flat_map(|h| h.findings.iter_mut()))
        {
            f.start += from;
            f.end += from;
            f.char_start += from_chars;
            f.char_end += from_chars;
        }
        if eval.decision == Decision::Block {
            self.blocked = true;
            out.blocked = true;
            self.released = self.text.len();
            self.evaluations.push(eval);
            return;
        }
        let (style, spans): (RedactStyle, Vec<(usize, usize, &str, f64)>) =
            match set.redaction(&eval, self.target) {
                Some((style, findings)) => (
                    style,
                    findings
                        .iter()
                        .map(|f| (f.start, f.end, &*f.entity, f.score))
                        .collect(),
                ),
                None => (RedactStyle::default(), Vec::new()),
            };
        let release_to = if end { at } else { self.settled(at, &spans) };
        if release_to > self.released {
            let region = self.released..release_to;
            let local: Vec<(usize, usize, &str, f64)> = spans
                .iter()
                .filter(|s| s.0 < region.end && s.1 > region.start)
                .map(|&(s, e, entity, score)| {
                    (
                        s.max(region.start) - region.start,
                        e.min(region.end) - region.start,
                        entity,
                        score,
                    )
                })
                .collect();
            let piece = &self.text[region.clone()];
            let released = if local.is_empty() {
                piece.to_owned()
            } else {
                self.redactor
                    .get_or_insert_with(|| Redactor::new(style))
                    .redact_spans(piece, local)
            };
            self.delivered_chars += released.chars().count();
            out.text.push_str(&released);
            self.released = release_to;
        }
        if !eval.hits.is_empty() {
            self.evaluations.push(eval);
        }
    }

    /// How far the text before checkpoint `at` is settled: nothing a later piece brings can
    /// make a finding start before it.
    fn settled(&self, at: usize, spans: &[(usize, usize, &str, f64)]) -> usize {
        let text = &self.text[..at];
        let mut to = floor_char_boundary(text, at.saturating_sub(self.options.hold_bytes));
        // The last word may still grow.
        let word_start = text
            .char_indices()
            .rev()
            .take_while(|(_, c)| !c.is_whitespace())
            .last()
            .map_or(at, |(i, _)| i);
        to = to.min(word_start);
        // An armoured block (a private key) is judged whole.
        if let Some(begin) = text[self.released..].rfind("-----BEGIN ")
            && !text[self.released + begin..].contains("-----END ")
        {
            to = to.min(self.released + begin);
        }
        // A finding that reaches into the held tail is held whole.
        loop {
            let before = to;
            for &(s, e, _, _) in spans {
                if s < to && e > to {
                    to = s;
                }
            }
            if to == before {
                break;
            }
        }
        to.max(self.released)
    }
}

/// The next checkpoint after `from`, if the text already reaches it.
fn next_checkpoint(text: &str, from: usize, options: &StreamOptions) -> Option<usize> {
    let bytes = text.as_bytes();
    let limit = from + options.checkpoint_bytes.max(1);
    let soonest = if from == 0 {
        0
    } else {
        from + options.min_checkpoint_bytes.min(options.checkpoint_bytes)
    };
    let mut prev: Option<char> = None;
    for (i, c) in text[from..].char_indices() {
        let i = from + i;
        let after = i + c.len_utf8();
        let sentence_end = c == '\n'
            || matches!(c, '。' | '！' | '？')
            || (c.is_whitespace() && matches!(prev, Some('.' | '!' | '?')));
        if (sentence_end && after >= soonest) || after >= limit {
            return Some(after);
        }
        prev = Some(c);
        if after >= bytes.len() {
            break;
        }
    }
    None
}

/// The largest char boundary at or before `i`.
fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::policy::{Action, Mode, PolicySpec, Severity};

    fn set(definition: &str, action: Action, config: Option<&str>) -> PolicySet {
        PolicySet::new(vec![PolicySpec {
            id: 1,
            name: "test".to_owned(),
            definition: definition.to_owned(),
            severity: Severity::High,
            mode: Mode::Balanced,
            action,
            intervention_config: config.map(str::to_owned),
            enforcement: crate::Enforcement::Enforce,
        }])
    }

    fn redacting() -> PolicySet {
        set(
            "response.completion has sentinelai.pii(email, phone, credit_card) \
             or response.completion has sentinelai.secrets",
            Action::Redact,
            None,
        )
    }

    /// Streams `text` cut at `cuts` (byte offsets, split characters allowed) and returns the
    /// released output, whether it blocked, and the scanner.
    fn stream(set: &PolicySet, text: &str, cuts: &[usize]) -> (String, bool, StreamScanner) {
        let scope = Scope::default();
        let mut scanner = StreamScanner::new(StreamOptions::default());
        let mut out = String::new();
        let mut blocked = false;
        let mut at = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (text.len() + 1)).collect();
        cuts.sort_unstable();
        for cut in cuts.into_iter().chain([text.len()]) {
            let r = scanner.push_bytes(set, &scope, &text.as_bytes()[at..cut]);
            out.push_str(&r.text);
            blocked |= r.blocked;
            at = cut;
        }
        let r = scanner.finish(set, &scope);
        out.push_str(&r.text);
        (out, blocked | r.blocked, scanner)
    }

    const ANSWER: &str = "Sure! You can reach our support team at help.desk@example.com or \
        call +1 415 555 0100 during office hours. The card on file is 4111 1111 1111 1111. \
        Ünïcödé names like Zoë and 東京 stay intact.\nThe deploy key is \
        ghp_abcdefghijklmnopqrstuvwxyz0123456789 and nothing else matters.";

    #[test]
    fn one_chunk_redacts_every_value() {
        let (out, blocked, _) = stream(&redacting(), ANSWER, &[]);
        assert!(!blocked);
        for value in [
            "help.desk@example.com",
            "555 0100",
            "4111 1111 1111 1111",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        ] {
            assert!(!out.contains(value), "{value} leaked: {out}");
        }
        assert!(out.contains("[EMAIL_1]"), "{out}");
        assert!(out.contains("Ünïcödé names like Zoë and 東京 stay intact."));
    }

    #[test]
    fn one_byte_per_chunk_equals_one_chunk() {
        let whole = stream(&redacting(), ANSWER, &[]).0;
        let cuts: Vec<usize> = (1..ANSWER.len()).collect();
        assert_eq!(stream(&redacting(), ANSWER, &cuts).0, whole);
    }

    #[test]
    fn a_value_split_across_chunks_is_held_until_judged() {
        let text = "Write to user@example.com today.";
        let set = redacting();
        let scope = Scope::default();
        let mut scanner = StreamScanner::new(StreamOptions::default());
        let mut out = scanner.push(&set, &scope, "Write to user@exa").text;
        assert!(!out.contains("user@exa"), "{out}");
        out.push_str(&scanner.push(&set, &scope, "mple.com today.").text);
        out.push_str(&scanner.finish(&set, &scope).text);
        assert_eq!(out, "Write to [EMAIL_1] today.");
        assert_eq!(out, stream(&set, text, &[]).0);
    }

    #[test]
    fn the_last_word_is_held_even_without_a_tail_margin() {
        let set = redacting();
        let scope = Scope::default();
        let options = StreamOptions {
            hold_bytes: 0,
            ..StreamOptions::default()
        };
        let mut scanner = StreamScanner::new(options);
        // A checkpoint falls at the end of the first piece, inside the address.
        let lead = "x".repeat(options.checkpoint_bytes - "To user@exa".len() - 1);
        let first = format!("{lead} To user@exa");
        assert_eq!(first.len(), options.checkpoint_bytes);
        let r = scanner.push(&set, &scope, &first);
        assert_eq!(r.text, format!("{lead} To "));
        let mut out = r.text;
        out.push_str(&scanner.push(&set, &scope, "mple.com now.").text);
        out.push_str(&scanner.finish(&set, &scope).text);
        assert_eq!(out, format!("{lead} To [EMAIL_1] now."));
    }

    #[test]
    fn text_goes_out_before_the_end() {
        let set = redacting();
        let scope = Scope::default();
        let mut scanner = StreamScanner::new(StreamOptions::default());
        let first = "The weather today is fine, and the forecast for the week looks calm. ";
        let r = scanner.push(&set, &scope, first);
        assert!(!r.text.is_empty(), "nothing released after a full sentence");
        assert!(first.starts_with(&r.text));
        // Only the tail that could still join a later value is held.
        assert!(first.len() - r.text.len() <= StreamOptions::default().hold_bytes);
    }

    #[test]
    fn short_sentences_are_judged_together() {
        let set = redacting();
        let scope = Scope::default();
        let mut scanner = StreamScanner::new(StreamOptions::default());
        let first = "The weather today is fine, and the forecast for the week looks calm. ";
        let mut text = first.to_owned();
        let mut releases = usize::from(!scanner.push(&set, &scope, first).text.is_empty());
        // Forty sentences of 12 bytes, one per piece: a release (a checkpoint) at most every 128
        // bytes (the default `min_checkpoint_bytes`), not after each sentence.
        for i in 0..40 {
            let sentence = format!("Sentence {:02}. ", i % 100);
            text.push_str(&sentence);
            releases += usize::from(!scanner.push(&set, &scope, &sentence).text.is_empty());
        }
        let later = text.len() - first.len();
        assert!(releases >= 2, "{releases} releases");
        assert!(
            releases <= 1 + later.div_ceil(128),
            "{releases} releases over {later} bytes"
        );
    }

    #[test]
    fn a_block_stops_the_stream_and_counts_what_was_delivered() {
        let set = set(
            "response.completion contains \"launch codes\"",
            Action::Block,
            None,
        );
        let text = "Here is a long and harmless first sentence about gardening. \
                    Then it says the launch codes are 0000. More text follows here.";
        let (out, blocked, scanner) = stream(&set, text, &[5, 30, 70]);
        assert!(blocked);
        assert!(!out.contains("launch codes"));
        assert!(text.starts_with(&out));
        assert_eq!(scanner.delivered_chars(), out.chars().count());
        assert_eq!(scanner.decision(), Decision::Block);
        // A blocked scanner releases nothing more.
        let mut scanner = scanner;
        let r = scanner.push(&set, &Scope::default(), "even more");
        assert!(r.blocked && r.text.is_empty());
    }

    #[test]
    fn an_armoured_key_is_held_until_its_end() {
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\n\
                   b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n\
                   QyNTUxOQAAACBqtK3a1xZnVZbqvAoe4YsSnnDqPSSeh8XvSqWb3sVHXgAAAJj2hYxW9oWM\n\
                   -----END OPENSSH PRIVATE KEY-----\n";
        let text = format!("Here is the key you asked for.\n{key}Keep it safe.");
        let set = redacting();
        let scope = Scope::default();
        let mut scanner = StreamScanner::new(StreamOptions::default());
        let mut out = String::new();
        for line in text.split_inclusive('\n') {
            out.push_str(&scanner.push(&set, &scope, line).text);
            assert!(!out.contains("b3BlbnNzaC1rZXkt"), "released early: {out}");
        }
        out.push_str(&scanner.finish(&set, &scope).text);
        assert!(!out.contains("QyNTUxOQAAACBqtK3a"), "{out}");
        assert_eq!(out, stream(&set, &text, &[]).0);
    }

    #[test]
    fn pseudonymised_values_keep_their_numbers_across_sentences() {
        let set = set(
            "response.completion has sentinelai.pii(email)",
            Action::Redact,
            Some(r#"{"redact":"pseudonymise"}"#),
        );
        let text = "Mail a@example.com first. Then b@example.com. Then a@example.com again.";
        let (out, _, scanner) = stream(&set, text, &[3, 40]);
        assert_eq!(
            out,
            "Mail <EMAIL_1> first. Then <EMAIL_2>. Then <EMAIL_1> again."
        );
        let mut restorer = scanner.redactor().expect("redacted").restorer();
        let mut back = String::new();
        for piece in [
            "Mail <EM",
            "AIL_1> first. Then <",
            "EMAIL_2>. Then <EMAIL_1",
            "> again.",
        ] {
            back.push_str(&restorer.push(piece));
        }
        back.push_str(&restorer.finish());
        assert_eq!(back, text);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_chunking_gives_the_one_chunk_output(
            cuts in proptest::collection::vec(0usize..400, 0..40),
        ) {
            let set = redacting();
            let whole = stream(&set, ANSWER, &[]).0;
            prop_assert_eq!(stream(&set, ANSWER, &cuts).0, whole);
        }

        #[test]
        fn any_text_any_chunking_is_exact(
            words in proptest::collection::vec(
                proptest::sample::select(&[
                    "hello", "mail", "me@site.org", "call", "+44 20 7946 0958", "4111111111111111",
                    "Zoë", "東京", ".", "!", "\n", "AKIAIOSFODNN7EXAMPLE", "the", "sk-ant-api03-x",
                ][..]),
                0..60,
            ),
            cuts in proptest::collection::vec(0usize..600, 0..30),
        ) {
            let text = words.join(" ");
            let set = redacting();
            let (whole, _, _) = stream(&set, &text, &[]);
            let (chunked, _, _) = stream(&set, &text, &cuts);
            prop_assert_eq!(&chunked, &whole);
            prop_assert!(!whole.contains("me@site.org"), "{}", whole);
        }

        #[test]
        fn restoring_is_exact_for_any_chunking(
            cuts in proptest::collection::vec(0usize..80, 0..20),
        ) {
            let mut redactor = Redactor::new(RedactStyle::Pseudonymise);
            let source = "ask bob@example.com and amy@example.org, then bob@example.com";
            let findings: Vec<crate::finding::Finding> = ["bob@example.com", "amy@example.org"]
                .iter()
                .flat_map(|v| source.match_indices(v).map(|(i, _)| (i, v.len())).collect::<Vec<_>>())
                .map(|(i, n)| crate::finding::Finding::new(
                    "pii", "email", Target::Prompt, source, i, i + n, 0.9, String::new(),
                ))
                .collect();
            let hidden = redactor.redact(source, &findings);
            prop_assert!(!hidden.contains('@'));
            let mut restorer = redactor.restorer();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(hidden.len())).collect();
            cuts.sort_unstable();
            let mut back = String::new();
            let mut at = 0;
            for cut in cuts.into_iter().chain([hidden.len()]) {
                back.push_str(&restorer.push(&hidden[at..cut]));
                at = cut;
            }
            back.push_str(&restorer.finish());
            prop_assert_eq!(back, source);
        }
    }
}
