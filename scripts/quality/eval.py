#!/usr/bin/env python3
"""Sentinel's quality on third-party test splits, run as a user would (`sentinel check --jsonl`).

    cargo build --release -p sentinel-cli
    python3 scripts/quality/fetch.py                       # once: fetch and split the data
    python3 scripts/quality/eval.py                        # every task, balanced mode, test split
    python3 scripts/quality/eval.py --mode robust pii      # one task, another mode

Prints Markdown tables: precision, recall and F1 per detector, per entity type and per source,
and for classifiers the recall at 1%, 2% and 5% benign false-positive rate. The splits are the
ones `fetch.py` wrote; training scripts read only `train` (and `val` for model selection).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import common  # noqa: E402
from fetch import tasks  # noqa: E402


def main() -> int:
    all_tasks = tasks()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("tasks", nargs="*", help=f"tasks to evaluate (default: all of {sorted(all_tasks)})")
    ap.add_argument("--mode", default="balanced", choices=["fast", "balanced", "robust"])
    ap.add_argument("--split", default="test", choices=["train", "val", "test"])
    ap.add_argument("--check-floors", action="store_true",
                    help="exit 1 when a figure is under the floor its task declares (CI)")
    args = ap.parse_args()
    chosen = args.tasks or list(all_tasks)
    for name in chosen:
        if name not in all_tasks:
            ap.error(f"unknown task {name}")
    print(f"# Sentinel quality: {args.split} split, {args.mode} mode\n")
    failures = []
    for name in chosen:
        started = time.time()
        module = all_tasks[name]
        for table in module.evaluate(args.mode, args.split):
            print(table.render())
        print(f"_{name}: evaluated in {time.time() - started:.1f} s_\n", flush=True)
        if args.check_floors:
            floors = getattr(module, "FLOORS", {}).get(args.mode, {})
            failures += common.check_floors(name, floors)
            print(f"_{name}: {len(floors)} floors checked_\n")
    for f in failures:
        print(f"FLOOR FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
