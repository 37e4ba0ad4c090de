#!/usr/bin/env python3
"""Derive the `toxicity` detector's in-word and obfuscated-word lists (`compounds.txt`).

    python3 scripts/train/export_profane_stems.py

Two things a whole-word lexicon misses, both common where people dodge a filter:
- **Profanity inside a longer word**: "dumbshit", "whoreface", "fuckingcunt". The stems are the
  single words of `words.txt` (rustrict 0.7.39's list, see export_rustrict_words.py) of four
  letters or more. A word counts when it splits into a stem and parts the engine knows (empty, an
  inflection, a word of the classifier's vocabulary, another stem), so "Scunthorpe" (s + cunt +
  horpe) does not. English words that hold a stem without being profane ("cocktail",
  "bastardise", "Dickens") come from the SCOWL word lists Debian ships as `wamerican` and
  `wbritish` (2020.12.07-2; permissive licence by Kevin Atkinson, see below) and are written out
  as `[allow]`. A stem shorter than five letters that more than three such words hold (counting a word's
  inflections once: "homo", "coon", "hoes") is too ambiguous inside other words and is left out.
- **A profane word written obfuscated**: "d1ck", "c0ck", "pr1ck". Some words are left out of
  `words.txt` because they also name something harmless (a rooster, a name); written with digits,
  symbols or look-alike letters inside, they do not. `[evasion]` lists rustrict's words scored 2 or
  more on profane, offensive or sexual (plain letters, three or more), less words that name an
  identity ("jew", "gay"): spelling those oddly is not abuse by itself.

Nothing here reads an evaluation split. rustrict's `false_positives.txt`, an evaluation source,
is not used.

Writes `crates/engine/src/detect/toxicity/compounds.txt`.
"""

import csv
import hashlib
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "quality"))
from common import fetch  # noqa: E402

RUSTRICT = ("crate", "rustrict", "0.7.39",
            "aa26cdd448930328cd86e35244d8c7c8e3368e8b8e2fb444befd65419f5b3771")
# Debian bookworm's SCOWL-derived word lists (`apt-get download`), pinned by hash.
DICTS = {
    "wamerican_2020.12.07-2_all.deb":
        ("wamerican=2020.12.07-2", "american-english",
         "c8f8e2b2ad0d37bfdd41f0e40f1e4c8e5f907467d768a1d3698b164e9617f0b4"),
    "wbritish_2020.12.07-2_all.deb":
        ("wbritish=2020.12.07-2", "british-english",
         "f80571f14aa987ef0d727e2077d4f2abd84adf92492af494e7de04882c53be3f"),
}
TOX = os.path.join(ROOT, "crates", "engine", "src", "detect", "toxicity")
OUT = os.path.join(TOX, "compounds.txt")

# What may follow a stem and still be the stem's own word form. Written out as `[inflections]`,
# in this order, which is the engine's: it reads the list from there.
ENDINGS = ("s", "es", "ed", "er", "ers", "ing", "in", "y", "ier", "iest", "ies", "ily", "iness",
           "z")
INFLECTIONS = {"", *ENDINGS}
# Words that name an identity or a topic: spelling them oddly is not abuse by itself.
IDENTITY = {"jew", "jews", "jewish", "muslim", "muslims", "islam", "gay", "gays", "lesbian",
            "lesbians", "homosexual", "homosexuals", "queer", "black", "negro", "negroes",
            "oriental", "gypsy", "gypsies", "arab", "arabs", "christian", "bisexual", "trans",
            "transgender", "asian", "mexican", "african", "indian", "chinese", "japanese"}
MIN_STEM = 4
# Words left out of words.txt because they also name something harmless (export_rustrict_words.py
# TOPICAL), counted only inside a longer word ("dickbag", "cockface", "assclown") and never in a
# word written with a capital first and small letters after (a name: "Dickson", "Cockburn").
INSIDE_ONLY = ["arse", "ass", "cock", "dick", "piss"]
MAX_AMBIGUOUS = 3


def dictionary() -> set[str]:
    words: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        for deb, (spec, name, sha) in DICTS.items():
            subprocess.run(["apt-get", "download", "-q", spec], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL)
            path = os.path.join(tmp, deb)
            with open(path, "rb") as f:
                got = hashlib.sha256(f.read()).hexdigest()
            if got != sha:
                raise SystemExit(f"{deb}: sha256 {got} does not match the pin {sha}")
            subprocess.run(["dpkg-deb", "-x", path, os.path.join(tmp, "x")], check=True)
            with open(os.path.join(tmp, "x", "usr", "share", "dict", name), encoding="utf-8") as f:
                for line in f:
                    w = line.strip()
                    if w and not w.endswith("'s"):
                        words.add(w.lower())
    return words


def word_classes() -> dict[str, str]:
    out, cls = {}, None
    with open(os.path.join(TOX, "words.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("[class "):
                cls = line[len("[class "):-1]
            elif line and not line.startswith("#") and cls:
                out[line] = cls
    return out


def main() -> int:
    words = word_classes()
    scores = {}
    src = os.path.join(fetch(*RUSTRICT), "rustrict-0.7.39", "src", "profanity.csv")
    with open(src, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            w = r["word"].strip().lower()
            scores[w] = tuple(int(r[k]) for k in ("profane", "offensive", "sexual"))
    strong = lambda w: w in words or max(scores.get(w, (0, 0, 0))) >= 2  # noqa: E731

    def own_form(d: str, s: str) -> bool:
        """Whether dictionary word `d` is stem `s` (or another profane word) inflected, or two
        profane words run together: profane itself, not a harmless word holding a stem."""
        i = d.find(s)
        pre, post = d[:i], d[i + len(s):]
        # A doubled final consonant ("shitty", "shitting") is still the stem's own form.
        if post[:1] == s[-1:] and post[1:] in INFLECTIONS:
            post = post[1:]
        if (pre == "" or strong(pre)) and (post in INFLECTIONS or strong(post)):
            return True
        return any(strong(d[:k]) and d[k:] in INFLECTIONS for k in range(3, len(d)))

    def lemmas(ws: list[str]) -> set[str]:
        """The words less their inflections ("bullshits", "bullshitting": one word)."""
        out = set()
        for w in ws:
            base = next((w[:-len(f)] for f in sorted(INFLECTIONS, key=len, reverse=True)
                         if f and w.endswith(f) and w[:-len(f)] in ws), w)
            out.add(base[:-1] if len(base) > 2 and base[-1] == base[-2] and base[:-1] in ws
                    else base)
        return out

    dic = dictionary()
    stems, allow, dropped = {}, set(), []
    for s in sorted(w for w in words if len(w) >= MIN_STEM and w.isalpha()):
        harmless = sorted(d for d in dic if s in d and d != s and not strong(d)
                          and not own_form(d, s))
        if harmless and len(s) < 5 and len(lemmas(harmless)) > MAX_AMBIGUOUS:
            dropped.append(s)
            continue
        # A swear word (profane 2 or more, or offensive and sexual) that no harmless English word
        # holds counts with any letters around it ("moterfucking"), except in a name.
        p, o, x = scores.get(s, (0, 0, 0))
        free = not harmless and s in dic and (p >= 2 or (o >= 2 and x >= 2))
        stems[s] = (words[s], " free" if free else "")
        allow.update(harmless)
    for s in INSIDE_ONLY:
        p, o, x = scores.get(s, (2, 0, 0))
        cls = "slur_word" if o >= 3 else "profane_word" if max(p, o) >= 2 else "sexual_word"
        stems[s] = (cls, " inside")
        allow.update(d for d in dic if s in d and d != s and not strong(d))

    evasion = {}
    for w, (p, o, x) in scores.items():
        if not re.fullmatch(r"[a-z]{3,}", w) or w in IDENTITY or max(p, o, x) < 2:
            continue
        evasion[w] = "slur_word" if o >= 3 else "profane_word" if max(p, o) >= 2 else "sexual_word"

    with open(OUT, "w", encoding="utf-8") as f:
        f.write("# Derived by scripts/train/export_profane_stems.py from words.txt (rustrict 0.7.39,\n"
                "# crates.io, MIT/Apache-2.0, Finn Bear), rustrict's src/profanity.csv, and the SCOWL\n"
                "# word lists in Debian's wamerican and wbritish 2020.12.07-2 (Copyright 2000-2019 by\n"
                "# Kevin Atkinson and others; permission to use, copy, modify, distribute and sell is\n"
                "# granted without fee, provided the copyright and permission notices appear).\n"
                "# [stems]: stem, its class, and `free` (any letters around it count) or `inside`\n"
                "# (only inside a longer word that is not written as a name).\n"
                "# [allow]: English words that hold a stem and are not profane.\n"
                "# [evasion]: words that count when written with digits, symbols or look-alikes inside.\n"
                "# [inflections]: what may follow a stem and still be the stem's own word form.\n\n")
        f.write("[inflections]\n" + "\n".join(ENDINGS) + "\n\n")
        f.write("[stems]\n")
        for s, (cls, how) in sorted(stems.items()):
            f.write(f"{s} {cls}{how}\n")
        f.write("\n[allow]\n" + "\n".join(sorted(allow)) + "\n")
        f.write("\n[evasion]\n")
        for w, cls in sorted(evasion.items()):
            f.write(f"{w} {cls}\n")
    print(f"stems {len(stems)} (dropped as ambiguous: {' '.join(dropped)}), allow {len(allow)}, "
          f"evasion {len(evasion)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
