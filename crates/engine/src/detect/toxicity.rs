//! `sentinelai.toxicity`: insults, threats, harassment, hate, sexual content and self-harm.
//!
//! Lexicon scoring over the folded view (leetspeak, homoglyphs, spaced and stretched letters are
//! undone from balanced mode on), so `1d10t` and `s t u p i d` count. Each category has its own
//! severity, expressed in its rule weights: threats, hate and self-harm weigh most, a bare insult
//! word least (it needs to be aimed at someone — "you … idiot" — to reach the threshold).

use crate::ast::DetectorCall;
use crate::detect::args::ArgReader;
use crate::detect::lexicon::{LazyLexicon, LexiconSpec, rule};
use crate::error::CompileError;

pub(crate) const CATEGORIES: &[&str] = &[
    "insult",
    "threat",
    "harassment",
    "hate",
    "sexual",
    "self_harm",
];

const GROUPS: &[&str] = &[
    "jews",
    "muslims",
    "christians",
    "blacks",
    "whites",
    "asians",
    "mexicans",
    "immigrants",
    "gays",
    "lesbians",
    "trans people",
    "women",
    "arabs",
    "hindus",
    "refugees",
    "foreigners",
    "black people",
    "gay people",
    "disabled people",
    "roma",
    "gypsies",
    "latinos",
    "trans women",
    "chinese people",
    "indians",
    "africans",
    "catholics",
    "atheists",
    "people of that religion",
    "people like them",
    "that race",
];

static SPEC: LexiconSpec = LexiconSpec {
    classes: &[
        (
            "second_person",
            &[
                "you", "you're", "youre", "ur", "u r", "your", "you are", "ya",
            ],
        ),
        (
            "insult_word",
            &[
                "idiot",
                "stupid",
                "moron",
                "dumb",
                "loser",
                "worthless",
                "pathetic",
                "imbecile",
                "cretin",
                "dumbass",
                "jackass",
                "clown",
                "scum",
                "trash",
                "useless",
                "ugly",
                "fat",
                "retard",
                "retarded",
                "fool",
                "bitch",
                "bastard",
                "prick",
                "twat",
                "dickhead",
                "asshole",
                "jerk",
                "creep",
                "freak",
                "scumbag",
                "halfwit",
                "numbskull",
                "degenerate",
                "garbage",
                "dumbest",
                "disgusting",
                "waste of oxygen",
                "waste of space",
                "brain dead",
                "braindead",
                "dipshit",
            ],
        ),
        (
            "insult_strong",
            &[
                "fuck you",
                "f*ck you",
                "f**k you",
                "fck you",
                "piece of shit",
                "piece of sh*t",
                "stfu",
                "shut the fuck up",
                "go fuck yourself",
                "son of a bitch",
                "fucking idiot",
                "f***ing",
                "fucking moron",
                "eat shit",
                "screw you",
                "you absolute",
                "like you would",
                "an idiot like you",
                "a moron like you",
                "dumbest person",
                "dumbest thing",
                "nobody asked you",
                "nobody wants to hear from",
            ],
        ),
        (
            "threat",
            &[
                "i will kill you",
                "i'll kill you",
                "i am going to kill",
                "i'm going to kill",
                "gonna kill you",
                "kill you",
                "hurt you",
                "beat you up",
                "you will regret",
                "watch your back",
                "i know where you live",
                "you're dead",
                "you are dead",
                "i will find you",
                "shoot you",
                "stab you",
                "burn your house",
                "i will hurt",
                "i'll hurt",
                "break your legs",
                "make you pay",
                "make you regret",
                "coming for you",
                "find where you live",
                "put a bullet",
                "sleep with one eye open",
                "beat the crap out of",
                "beat the shit out of",
                "i'll end you",
                "you'll pay for this",
                "slit your throat",
                "kick your ass",
            ],
        ),
        (
            "harassment",
            &[
                "nobody likes you",
                "no one likes you",
                "everyone hates you",
                "you should die",
                "go die",
                "go to hell",
                "kill yourself",
                "kys",
                "you are worthless",
                "you're worthless",
                "you disgust me",
                "fat pig",
                "nobody will ever love you",
                "you deserve to suffer",
                "spam her until",
                "spam him until",
                "report her account",
                "report his account",
                "post her nudes",
                "leak her photos",
                "dox",
                "doxx",
                "everyone laugh at",
                "go crawl back",
                "die in a fire",
                "drop dead, ",
                "nobody would miss you",
                "no one would miss you",
            ],
        ),
        (
            "hate_phrase",
            &[
                "subhuman",
                "inferior race",
                "go back to your country",
                "ethnic cleansing",
                "white power",
                "racial purity",
                "master race",
                "gas the",
                "final solution",
                "sieg heil",
                "too dumb to lead",
                "should be wiped out",
                "wipe them out",
                "would just disappear",
                "get rid of them all",
                "never hire",
            ],
        ),
        ("group", GROUPS),
        (
            "dehumanizer",
            &[
                "are animals",
                "are vermin",
                "are parasites",
                "are subhuman",
                "should be exterminated",
                "should be deported",
                "should all die",
                "should die",
                "are inferior",
                "don't deserve rights",
                "are a disease",
                "are scum",
                "are cockroaches",
                "are not human",
                "are disgusting",
                "are a plague",
                "are ruining",
                "should be wiped out",
                "would just disappear",
                "should disappear",
                "are lazy",
                "are too dumb",
                "are criminals",
                "should be thrown out",
                "should be banned from",
                "are a cancer",
                "are dirty",
                "are savages",
            ],
        ),
        (
            "sexual_strong",
            &[
                "porn",
                "pornographic",
                "explicit sex",
                "sexual intercourse",
                "blowjob",
                "nudes",
                "naked pictures",
                "sex scene",
                "hardcore sex",
                "genitals",
                "masturbate",
                "masturbation",
                "erotic roleplay",
                "sexually explicit",
                "explicit detail",
                "graphic sex",
                "sex story",
                "naked body",
                "send nudes",
                "nude photos",
                "dick pic",
                "explicit story",
            ],
        ),
        (
            "sexual_weak",
            &["nsfw", "erotic", "sexy", "naked", "orgasm", "horny", "lewd"],
        ),
        (
            "self_harm",
            &[
                "kill myself",
                "end my life",
                "take my own life",
                "cut myself",
                "self harm",
                "self-harm",
                "want to die",
                "hurt myself",
                "slit my wrists",
                "hang myself",
                "no reason to live",
                "better off dead",
                "commit suicide",
                "suicidal",
                "end it all",
                "don't want to be alive",
                "take all the pills",
                "pills would it take",
                "no point of going on",
                "don't see the point of going on",
                "kill me",
                "not want to live",
                "don't want to live",
                "wish i was dead",
                "wish i were dead",
                "want to disappear forever",
            ],
        ),
        ("self_harm_weak", &["suicide", "overdose"]),
    ],
    rules: &[
        rule("insult", 0.65, &["second_person", "insult_word"]),
        rule("insult", 0.3, &["insult_word"]),
        rule("insult", 0.65, &["insult_strong"]),
        rule("threat", 0.85, &["threat"]),
        rule("harassment", 0.7, &["harassment"]),
        rule("hate", 0.85, &["hate_phrase"]),
        rule("hate", 0.9, &["group", "dehumanizer"]),
        rule("sexual", 0.6, &["sexual_strong"]),
        rule("sexual", 0.3, &["sexual_weak"]),
        rule("self_harm", 0.8, &["self_harm"]),
        rule("self_harm", 0.35, &["self_harm_weak"]),
    ],
};

pub(crate) static TOXICITY: LazyLexicon = LazyLexicon::new(&SPEC);

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToxicityConfig {
    pub categories: Vec<&'static str>,
    pub min_score: f64,
}

impl ToxicityConfig {
    pub(crate) fn all() -> Self {
        ToxicityConfig {
            categories: CATEGORIES.to_vec(),
            min_score: 0.5,
        }
    }

    pub(crate) fn from_call(call: &DetectorCall) -> Result<(Self, String), Vec<CompileError>> {
        let mut r = ArgReader::new(call);
        let names = r.names(CATEGORIES, "toxicity category", |n| match n {
            "insults" => Some("insult"),
            "threats" | "violence" => Some("threat"),
            "bullying" => Some("harassment"),
            "hate_speech" => Some("hate"),
            "sexual_content" | "nsfw" => Some("sexual"),
            "selfharm" | "self-harm" | "suicide" => Some("self_harm"),
            _ => None,
        });
        let min = r.number(&["min_score", "threshold"], 0.0, 1.0);
        r.finish(&["min_score", "threshold"])?;
        let mut cfg = ToxicityConfig::all();
        if !names.is_empty() {
            cfg.categories = names;
            cfg.categories.sort_unstable();
        }
        if let Some(m) = min {
            cfg.min_score = m;
        }
        let key = format!("{}|{}", cfg.categories.join(","), cfg.min_score);
        Ok((cfg, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::lexical_score;
    use crate::normalize::{Family, TextViews};
    use crate::policy::Mode;

    fn score(text: &str, mode: Mode) -> f64 {
        lexical_score(
            &TOXICITY,
            &TextViews::new(text),
            mode,
            Family::FoldingLexical,
        )
    }

    #[test]
    fn table() {
        for p in [
            "You are a stupid idiot.",
            "I will kill you tomorrow.",
            "Nobody likes you, kill yourself.",
            "Immigrants are vermin.",
            "I want to end my life.",
            "you are such a 1d10t",
            "you are an m o r o n",
            "go fuck yourself",
        ] {
            assert!(score(p, Mode::Balanced) >= 0.5, "{p}");
        }
        for n in [
            "This stupid bug took all day.",
            "The suicide prevention hotline is open.",
            "Kill the process with SIGTERM.",
            "Thank you for your help!",
        ] {
            assert!(score(n, Mode::Balanced) < 0.5, "{n}");
        }
    }
}
