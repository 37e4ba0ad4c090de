#!/usr/bin/env python3
"""The `injection` task's tables through the engine API (the `attack_scores` example), for
tuning on `val` without building the CLI; `eval.py injection` (`sentinel check --jsonl`) is the
product figure and prints the same tables.

    cargo build --release -p sentinel-engine --example attack_scores
    python3 scripts/quality/injection_engine.py val balanced

The example runs the policies of `task_injection.RAW_POLICIES` (raw = the best score of the two
detectors at `min_score=0`) and `DEFAULT_POLICIES` (fired = either at its default threshold);
its output stands in for `common.run_check` in `task_injection.evaluate`. Timings are not
measured here (shown as 0).
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import common  # noqa: E402
import task_injection  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("fast", "balanced", "robust"):
        print(__doc__, file=sys.stderr)
        return 2
    split, mode = argv[0], argv[1]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    example = os.path.join(target, "release", "examples", "attack_scores")
    path = os.path.join(common.QDIR, task_injection.TASK, f"{split}.jsonl")
    with open(path, "rb") as f:
        out = subprocess.run([example, mode], stdin=f, capture_output=True, check=True).stdout
    scores = {}
    for line in out.decode().splitlines():
        r = json.loads(line)
        scores[r["id"]] = r

    def run_check(rows, policies, mode_=mode, stage="input"):
        assert mode_ == mode
        res = {}
        for row in rows:
            s = scores[row["id"]]
            if policies == task_injection.RAW_POLICIES:
                findings = [{"detector": "prompt_injection", "score": s["injection"]},
                            {"detector": "jailbreak", "score": s["jailbreak"]}]
            else:
                findings = [{"detector": "either", "score": 1.0}] if s["fired"] else []
            res[row["id"]] = {"findings": findings, "evaluation_time_us": 0}
        return res

    task_injection.run_check = run_check
    for table in task_injection.evaluate(mode, split):
        print(table.render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
