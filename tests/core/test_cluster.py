"""Scale-out: reproduce on Ray gives the serial answer; train --ddp under torchrun.

These start real processes (a local Ray of two workers, two gloo ranks under
torchrun) on tiny runs, so each takes 20-60 s on two cores. They are marked
``cluster``, which counts as slow (``pytest --run-slow -m cluster`` runs them; .ci/run
does), and skip when Ray is not installed (``pip install -e ".[cluster]"``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.cluster

# A reproduce plan of two tiny runs: one standard, one sweep point (also the best pair).
TINY = [
    "--rounds", "1", "--sweep-rounds", "1", "--a1s", "0.5", "--literal-a1s", "",
    "--epochs", "1", "--limit", "200", "--eval-limit", "100", "--epsilon", "0.1",
    "--attacks", "fgsm", "--batch-size", "32", "--threads", "1", "--seed", "3",
]  # fmt: skip


def _cli(*args: str, timeout: int = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ if env is None else env, OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "fgsm_studio.core.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def ray_available():
    return pytest.importorskip("ray", reason='pip install -e ".[cluster]"')


def _measured(path) -> str:
    """runs.csv without its one machine-dependent column (train_s, core.reports.runs_csv)."""
    import csv
    import io

    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = io.StringIO()
    for r in rows:
        r.pop("train_s", None)
        out.write(repr(sorted(r.items())) + "\n")
    return out.getvalue()


def test_ray_reproduce_gives_the_serial_report(tmp_path, ray_available):
    serial, ray_out = tmp_path / "serial", tmp_path / "ray"
    a = _cli("reproduce", *TINY, "--out", str(serial))
    assert a.returncode == 0, a.stderr[-3000:]
    b = _cli("reproduce", *TINY, "--out", str(ray_out), "--executor", "ray")
    assert b.returncode == 0, b.stderr[-3000:]
    runs_a = _measured(serial / "runs.csv")
    assert runs_a.count("\n") >= 2  # the standard run + the sweep point (= best pair)
    # Same seed, one thread per run, deterministic CPU kernels: identical to the digit.
    assert _measured(ray_out / "runs.csv") == runs_a
    assert sorted(p.name for p in (ray_out / "runs").glob("*.json")) == sorted(
        p.name for p in (serial / "runs").glob("*.json")
    )
    assert (ray_out / "report.md").is_file()
    # issue 25.10: the plan's state and each epoch, relayed from the workers, in plain lines
    assert "\x1b[" not in b.stderr  # no ANSI codes in a log
    assert "2/2 done, 0 running, 0 queued" in b.stderr
    assert ": started" in b.stderr and "epoch 1/1 val" in b.stderr
    # Resume: a second Ray call finds every record and trains nothing.
    c = _cli("reproduce", *TINY, "--out", str(ray_out), "--executor", "ray")
    assert c.returncode == 0, c.stderr[-3000:]
    assert _measured(ray_out / "runs.csv") == runs_a


def test_a_dying_worker_costs_only_its_run_and_is_retried(tmp_path, ray_available):
    """A job whose process dies on its first attempt: Ray retries it, the plan finishes."""
    script = tmp_path / "die_once.py"
    script.write_text(
        f"""
import os, sys
from pathlib import Path
from fgsm_studio.core.runs.cluster import RunJob
from fgsm_studio.core.runs.ray_executor import RayExecutor
from fgsm_studio.core.runs.spec import RunSpec

MARK = Path({str(tmp_path / "died")!r})

class DieOnce(RunJob):
    def __call__(self, spec, on_event=None):
        if spec.train.seed == 1 and not MARK.exists():
            MARK.write_text("x")
            os._exit(1)  # the worker process dies mid-run
        return super().__call__(spec, on_event)

specs = [RunSpec.of(epochs=1, limit=120, seed=s, eval_limit=50, eval_attacks=("fgsm",)) for s in (0, 1)]
job = DieOnce(out_dir={str(tmp_path / "out")!r}, threads=1)
with RayExecutor(num_cpus=2) as ex:
    keys = sorted(r.key for r in ex.run(specs, job))
print("KEYS", keys)
"""
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "died").exists()  # it really died once
    assert "KEYS" in result.stdout and result.stdout.count("mnist-5k") == 2
    assert len(list((tmp_path / "out" / "runs").glob("*.json"))) == 2


def test_ray_refuses_an_output_folder_workers_cannot_write(tmp_path, ray_available):
    """A node that cannot write --out (here: a path under a regular file) stops the plan."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    script = tmp_path / "probe.py"
    script.write_text(
        f"""
from fgsm_studio.core.runs.cluster import ClusterError, RunJob
from fgsm_studio.core.runs.ray_executor import RayExecutor
from fgsm_studio.core.runs.spec import RunSpec

with RayExecutor(num_cpus=1) as ex:
    try:
        list(ex.run([RunSpec.of(epochs=1, limit=50)], RunJob(out_dir={str(blocker / "out")!r})))
    except ClusterError as exc:
        print("REFUSED", exc)
"""
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "REFUSED" in result.stdout
    assert "cannot write to the output folder" in result.stdout
    assert "storage every worker shares" in result.stdout
    assert not (tmp_path / "runs").exists()  # nothing trained, nothing written


def test_address_needs_the_ray_executor(tmp_path):
    result = _cli("reproduce", *TINY, "--out", str(tmp_path), "--address", "auto")
    assert result.returncode == 2
    assert "--address only makes sense with --executor ray" in result.stderr


def test_train_ddp_two_gloo_processes(tmp_path):
    out = tmp_path / "ddp.safetensors"
    records = tmp_path / "records"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_port", str(29500 + os.getpid() % 500),
        "-m", "fgsm_studio.core.cli", "train", "--ddp", "--defense", "wr_fgsm",
        "--limit", "600", "--epochs", "3", "--eval-limit", "200", "--threads", "1",
        "--out", str(out), "--records", str(records),
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.count("saved ") == 1  # rank 0 alone reports, saves and writes
    assert "(2 processes, gloo)" in result.stdout
    assert len(list((records / "runs").glob("*.json"))) == 1

    from fgsm_studio.core.models.checkpoint import load

    model, card = load(out)
    assert card.metrics["clean"] > 0.3  # it learned: chance is 0.1
    assert card.training["best_epoch"] >= 1
    # issue 25.17: how it ran is in the card and the key
    assert (card.training["world_size"], card.training["global_batch"]) == (2, 64)
    assert card.training["backend"] == "gloo"
    (record,) = (records / "runs").glob("*.json")
    assert "_ddp2gloo_" in record.name


def test_ddp_outside_torchrun_says_how_to_start_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "MASTER_ADDR")}
    result = _cli(
        "train", "--ddp", "--epochs", "1", "--out", str(tmp_path / "m.safetensors"), env=env
    )
    assert result.returncode == 2
    assert "torchrun" in result.stderr and "Traceback" not in result.stderr
