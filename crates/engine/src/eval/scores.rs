//! The advisory score columns: legal, controversial and code scores over every text.

use crate::detect::TextViews;
use crate::detect::code::code_score;
use crate::detect::lexical_score;
use crate::detect::lexicon::{self, Combined, LazyLexicon};
use crate::detect::topics::Topic;
use crate::normalize::{Family, ViewKind};
use crate::policy::Mode;

/// The lexicons of the score columns: legal, controversial, code (in that order).
pub(super) fn topic_lexicons() -> &'static [&'static LazyLexicon; 3] {
    static L: [&LazyLexicon; 3] = [
        &crate::detect::topics::LEGAL,
        &crate::detect::topics::CONTROVERSIAL,
        &crate::detect::code::CODE,
    ];
    &L
}

/// The legal, controversial and code scores of the texts of `views`.
pub(super) fn topic_scores(views: &[Option<TextViews<'_>>; 2]) -> (f64, f64, f64) {
    // Legal, controversial and code lexicons scan the same views in balanced mode: one pass of
    // a combined automaton per view instead of three.
    static TOPICS: std::sync::OnceLock<Combined> = std::sync::OnceLock::new();
    let lexical: Vec<Vec<_>> = views
        .iter()
        .flatten()
        .map(|tv| tv.views(Mode::Balanced, Family::Lexical))
        .collect();
    let same_views = views.iter().flatten().zip(&lexical).all(|(tv, l)| {
        let code: Vec<ViewKind> = tv
            .views(Mode::Balanced, Family::Pattern)
            .iter()
            .map(|v| v.kind)
            .filter(|k| *k != ViewKind::Decoded)
            .collect();
        l.iter().map(|v| v.kind).eq(code)
    });
    if same_views {
        let topics = TOPICS.get_or_init(|| Combined::new(topic_lexicons()));
        let mut legal: f64 = 0.0;
        let mut controversial: f64 = 0.0;
        let mut code = None;
        for (tv, l) in views.iter().flatten().zip(&lexical) {
            // The detectors' shared pass may already hold these views' hits (all-match sets);
            // otherwise one pass of the three score lexicons.
            let cached = topic_lexicons()
                .iter()
                .map(|lex| tv.cached_hits(lex, l))
                .collect::<Option<Vec<_>>>();
            let out = match cached {
                Some(hits) => hits,
                None => {
                    let mut out = vec![Vec::new(), Vec::new(), Vec::new()];
                    topics.scan(l, &mut out);
                    out
                }
            };
            legal = legal.max(lexicon::combine(&out[0]));
            controversial = controversial.max(lexicon::combine(&out[1]));
            if code.is_none() {
                code = Some(
                    crate::detect::code::language_scores(&out[2])
                        .first()
                        .map_or(0.0, |l| l.1),
                );
            }
        }
        return (legal, controversial, code.unwrap_or(0.0));
    }
    let mut legal: f64 = 0.0;
    let mut controversial: f64 = 0.0;
    for tv in views.iter().flatten() {
        legal = legal.max(lexical_score(
            Topic::Legal.lexicon(),
            tv,
            Mode::Balanced,
            Family::Lexical,
        ));
        controversial = controversial.max(lexical_score(
            Topic::Controversial.lexicon(),
            tv,
            Mode::Balanced,
            Family::Lexical,
        ));
    }
    let code = views[0]
        .as_ref()
        .or(views[1].as_ref())
        .map_or(0.0, |tv| code_score(tv, Mode::Balanced));
    (legal, controversial, code)
}
