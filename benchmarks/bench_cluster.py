"""Wall time of one small ``reproduce``: serial vs a local Ray of N workers.

    python benchmarks/bench_cluster.py [--workers 2] [--rounds 2] [--epochs 2]

Runs the same plan three times into fresh folders: serially on one thread,
serially on N threads (torch's own parallelism, the fair baseline), and with
``--executor ray`` (N workers of one thread each, Ray's start-up included), then
prints each wall time, the ratios, the load average before and after, and
whether the three ``runs.csv`` files are identical.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def reproduce(out: Path, extra: list[str], plan: list[str]) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "fgsm_studio.core.cli", "reproduce", *plan, "--out", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd + extra, check=True, env=env, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def train_seconds(out: Path) -> list[float]:
    import json

    return sorted(json.loads(p.read_text())["train_seconds"] for p in (out / "runs").glob("*.json"))


def _measured(path: Path) -> list[dict]:
    """runs.csv's rows without train_s, the one column that depends on the machine."""
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        return [{k: v for k, v in r.items() if k != "train_s"} for r in csv.DictReader(f)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--limit", type=int, default=1000, help="0: every training image")
    ap.add_argument(
        "--no-threads-baseline", action="store_true", help="skip the serial N-thread run"
    )
    args = ap.parse_args()
    plan = [
        "--rounds", str(args.rounds), "--sweep-rounds", str(args.rounds),
        "--a1s", "0,0.5,1", "--literal-a1s", "", "--epochs", str(args.epochs),
        "--eval-limit", "300", "--attacks", "fgsm,pgd", "--worst-case", "off",
    ]  # fmt: skip
    if args.limit:
        plan += ["--limit", str(args.limit)]
    n_runs = args.rounds * (1 + 3)
    print(f"plan: about {n_runs} runs (+ Table 1's best pair where it is not a sweep point)")
    print(f"cores {os.cpu_count()}, load average before {os.getloadavg()}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    t1 = reproduce(tmp / "serial1", ["--threads", "1"], plan)
    print(f"serial, 1 thread:                {t1:7.1f} s")
    print(f"  per run (train s): {train_seconds(tmp / 'serial1')}")
    print(f"load average now {os.getloadavg()}")
    tn = None
    if not args.no_threads_baseline:
        tn = reproduce(tmp / "serialN", ["--threads", str(args.workers)], plan)
        print(f"serial, {args.workers} threads:               {tn:7.1f} s")
    print(f"load average now {os.getloadavg()}")
    tr = reproduce(tmp / "ray", ["--executor", "ray", "--threads", "1"], plan)
    print(f"ray, {args.workers} workers x 1 thread:      {tr:7.1f} s")
    print(f"  per run (train s): {train_seconds(tmp / 'ray')}")
    print(f"ratio serial(1 thread) / ray  = {t1 / tr:.2f}")
    if tn is not None:
        print(f"ratio serial({args.workers} threads) / ray = {tn / tr:.2f}")
    same = _measured(tmp / "serial1" / "runs.csv") == _measured(tmp / "ray" / "runs.csv")
    print(f"runs.csv identical (serial 1 thread vs ray): {same}")
    print(f"load average after {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
