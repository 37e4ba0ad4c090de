#!/usr/bin/env python3
"""Injection + jailbreak figures through the engine API (the `attack_scores` example), for tuning
on `val` and for when the CLI is not built; `eval.py injection` (sentinel check --jsonl) is the
product figure and runs the same two policies.

    cargo build --release -p sentinel-engine --example attack_scores
    python3 scripts/quality/attack_engine.py test balanced [-s]

Prints recall and benign FPR at the default thresholds, recall at 1 / 2 / 5% benign FPR (best raw
score of the two detectors), and with `-s` recall and FPR per category and source.
"""
import collections
import json
import os
import subprocess
import sys

split, mode = sys.argv[1], sys.argv[2]
qdir = os.environ.get("SENTINEL_QUALITY_DIR", "/var/tmp/sentinel-quality")
path = os.path.join(qdir, "injection", f"{split}.jsonl")
exe = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "examples",
                   "attack_scores")
rows = [json.loads(line) for line in open(path, encoding="utf-8")]
with open(path, "rb") as f:
    out = subprocess.run([exe, mode], stdin=f, capture_output=True, check=True).stdout.decode()
sc = {}
for line in out.splitlines():
    r = json.loads(line)
    sc[r["id"]] = (r["raw"], r["fired"])
pos = [r for r in rows if r["label"]]
neg = [r for r in rows if not r["label"]]
tp = sum(sc[r["id"]][1] for r in pos)
fp = sum(sc[r["id"]][1] for r in neg)
print(f"{split} {mode}: recall {tp / len(pos):.3f}, precision {tp / max(tp + fp, 1):.3f}, "
      f"benign FPR {fp / len(neg):.4f} ({len(pos)} attacks, {len(neg)} benign)")
negs = sorted((sc[r["id"]][0] for r in neg), reverse=True)
for rate in (0.01, 0.02, 0.05):
    t = negs[int(rate * len(negs))]
    rec = sum(1 for r in pos if sc[r["id"]][0] > t) / len(pos)
    print(f"  recall at {rate:.0%} FPR: {rec:.3f} (raw score > {t:.3f})")
und = [r for r in rows if not r.get("derived")]
up = [r for r in und if r["label"]]
un = [r for r in und if not r["label"]]
print(f"  without derived obfuscations: recall {sum(sc[r['id']][1] for r in up) / len(up):.3f}, "
      f"benign FPR {sum(sc[r['id']][1] for r in un) / len(un):.4f}")
if "-s" in sys.argv:
    for title, key, label in (("recall per category", "category", True),
                              ("recall per source", "source", True),
                              ("benign FPR per category", "category", False),
                              ("benign FPR per source", "source", False)):
        groups = collections.defaultdict(list)
        for r in rows:
            if bool(r["label"]) == label:
                k = r[key].split("+")[0] if key == "source" and label else r[key]
                groups[k].append(sc[r["id"]][1])
        print(f"  {title}: " + "; ".join(f"{k} {sum(v) / len(v):.3f} ({len(v)})"
                                         for k, v in sorted(groups.items())))
