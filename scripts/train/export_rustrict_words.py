#!/usr/bin/env python3
"""Derive the single-word classes of the `toxicity` lexicon from rustrict 0.7.39's word list.

    python3 scripts/train/export_rustrict_words.py

rustrict (crates.io, MIT/Apache-2.0, by Finn Bear) ships `src/profanity.csv`: about 3,000 words
scored from 0 (none) up on profane, offensive, sexual, mean and evasive ("fuck" is profane 2,
"nigger" offensive 5). Words scored 3 or more on offensive become `slur_word` (filed as hate);
2 or more on profane or offensive `profane_word`; 3 or more on sexual `sexual_word`. Only plain words and short phrases are kept (letters, spaces, apostrophes): the
engine's folded view already undoes leetspeak, look-alikes and spacing. Words that name a topic
rather than abuse it ("rape", "nazis", "breast") are left out (`TOPICAL`, written by the team):
texts about those topics are not toxic by themselves.

Writes `crates/engine/src/detect/toxicity/words.txt`.

The same list scores words on "mean" (0-3): insults that are not swear words ("crybaby", "liar",
"lowlife") and wishes of harm ("hope you die"). They go to `mean.txt`, apart from `words.txt`
(whose words are also the stems of export_profane_stems.py): single words scored 1 or more are
`mean_word`, an insult only next to "you" (lexicon.txt's rules); phrases scored 2 are
`mean_phrase` and those scored 3 `mean_wish`, which count alone. Entries the team's
`lexicon.txt` already has keep their class there; entries that are topical, ambiguous or
harmless in ordinary text are left out (`NOT_MEAN`, written by the team).
"""

import csv
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "quality"))
from common import fetch  # noqa: E402

PIN = ("crate", "rustrict", "0.7.39",
       "aa26cdd448930328cd86e35244d8c7c8e3368e8b8e2fb444befd65419f5b3771")
OUT = os.path.join(ROOT, "crates", "engine", "src", "detect", "toxicity", "words.txt")
MEAN_OUT = os.path.join(os.path.dirname(OUT), "mean.txt")
TOPICAL = {
    "sex", "sexual", "sexy", "breast", "breasts", "rape", "raped", "raping", "rapist", "naked",
    "nude", "nazi", "nazis", "hitler", "klan", "kkk", "xxx", "tit", "dong", "pp", "ho", "hoe",
    "pedophile", "pedophiles", "incest", "rectum", "porn", "anal", "penis", "vagina", "genitals",
    "erection", "orgasm", "condom", "viagra", "strip", "stripper", "escort", "nipple", "nipples",
    "lesbian", "lesbians", "gay", "gays", "homosexual", "queer", "jew", "jews", "muslim",
    "muslims", "black", "negro", "oriental", "gypsy", "gypsies", "redskin", "redskins",
    "spank", "bang", "screw", "screwed", "suck", "sucks", "sucked", "blow", "balls", "nuts",
    "bloody", "crap", "damn", "hell", "ass", "arse", "anus", "asses", "dick", "cock", "willy",
    "prick", "pricks", "knob", "bugger", "beaver", "pussy cat",
}

# "Mean" entries that name a topic, a group or a condition, or that are ordinary words or
# phrases in harmless text ("your punk band", "they can die", "shut it down"); "racist" is
# mostly said of ads and remarks ("if you thought that ad was racist"). Only entries a "mean"
# class would otherwise take are listed.
NOT_MEAN = {
    "hate", "hater", "racism", "racist", "racecist", "rascist", "rascit", "orphan", "orphanage",
    "autistic", "cripple", "leper", "gringo", "incel", "succ", "suk", "sukk", "sucs", "suhck",
    "nerd", "punk", "bum", "simp", "sucker", "camgirl", "nofamily", "urmom", "urmother", "yourmom",
    "yourmother", "yourmum", "youremother", "yomama", "shut it", "shut ut", "screw ur",
    "like a monkey", "like monkey", "they can die", "get depressed", "dont love you",
    "racist little", "you are disabled", "dnawaste", "haet", "hayt", "hator", "hatejuice", "ihate",
}


def mean_classes(src: str, taken: set[str]) -> dict[str, list[str]]:
    """The "mean" classes: words scored mean >= 1, phrases scored 2 and wishes scored 3, less
    `NOT_MEAN` and the entries `taken` by another class."""
    out = {"mean_word": [], "mean_phrase": [], "mean_wish": []}
    skip = NOT_MEAN | taken
    with open(src, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            w = " ".join(r["word"].strip().lower().split())
            if not re.fullmatch(r"[a-z][a-z' ]*[a-z]", w) or len(w) < 3 or w in skip:
                continue
            mean = int(r["mean"])
            if mean >= 3:
                out["mean_wish"].append(w)
            elif " " in w and mean >= 2:
                out["mean_phrase"].append(w)
            elif " " not in w and mean >= 1:
                out["mean_word"].append(w)
    return out


def main() -> int:
    src = os.path.join(fetch(*PIN), "rustrict-0.7.39", "src", "profanity.csv")
    classes = {"slur_word": [], "profane_word": [], "sexual_word": []}
    with open(src, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            w = " ".join(r["word"].strip().lower().split())
            if not re.fullmatch(r"[a-z][a-z' ]*[a-z]", w) or len(w) < 3 or w in TOPICAL:
                continue
            profane, offensive, sexual = (int(r[k]) for k in ("profane", "offensive", "sexual"))
            if offensive >= 3:
                classes["slur_word"].append(w)
            elif profane >= 2 or offensive >= 2:
                classes["profane_word"].append(w)
            elif sexual >= 3:
                classes["sexual_word"].append(w)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("# Derived from rustrict 0.7.39 (crates.io, MIT/Apache-2.0, Finn Bear), src/profanity.csv,\n"
                "# by scripts/train/export_rustrict_words.py: slurs (offensive >= 3), profanity (profane or\n"
                "# offensive >= 2) and explicit sexual words (sexual >= 3), less the topical words listed there.\n\n")
        for name, words in classes.items():
            f.write(f"[class {name}]\n" + "\n".join(sorted(set(words))) + "\n\n")
    print({k: len(v) for k, v in classes.items()})
    with open(os.path.join(os.path.dirname(OUT), "lexicon.txt"), encoding="utf-8") as f:
        team = {line.strip() for line in f if line.strip() and not line.startswith(("#", "["))}
    mean = mean_classes(src, {w for ws in classes.values() for w in ws} | TOPICAL | team)
    with open(MEAN_OUT, "w", encoding="utf-8") as f:
        f.write("# Derived from rustrict 0.7.39 (crates.io, MIT/Apache-2.0, Finn Bear), src/profanity.csv,\n"
                "# by scripts/train/export_rustrict_words.py: words scored mean >= 1, phrases scored mean 2\n"
                "# and wishes of harm scored mean 3, less the entries of words.txt and lexicon.txt and\n"
                "# those listed there.\n\n")
        for name, words in mean.items():
            f.write(f"[class {name}]\n" + "\n".join(sorted(set(words))) + "\n\n")
    print({k: len(v) for k, v in mean.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
