"""The `--check` of the training scripts: a script trains into a temporary directory, and every
file it wrote there must equal the committed one, byte for byte (CI runs each check)."""

import filecmp
import os

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def report(script: str, made: str, committed: str, names: list[str]) -> int:
    """Compares the files `names` in `made` with those in `committed` and prints which differ, or
    that none does; returns the exit status (1 when any differs)."""
    differ = [name for name in names
              if not filecmp.cmp(os.path.join(made, name), os.path.join(committed, name),
                                 shallow=False)]
    if differ:
        print(f"{script} --check: {', '.join(differ)} differ from what the script trains now; "
              f"run scripts/train/{script} and commit {os.path.relpath(committed, ROOT)}",
              flush=True)
        return 1
    print(f"{script} --check: {', '.join(names)} are what the script trains", flush=True)
    return 0
