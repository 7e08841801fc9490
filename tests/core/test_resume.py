"""train --resume from a best-so-far file; a torchrun job whose rank is killed (issue 25.19)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fgsm_studio.core.cli.main import main
from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.runs.experiments import best_so_far_path, execute
from fgsm_studio.core.runs.spec import RunSpec
from fgsm_studio.core.training.config import EpochMetrics


@pytest.fixture
def root(mnist_1k):
    from tests.conftest import DATA

    return str(DATA / "mnist_1k.csv.gz")


ARGS = ["--folds", "5", "--limit", "200", "--eval-limit", "50", "--attacks", "fgsm"]
ARGS += ["--threads", "1", "--patience", "5"]


def test_train_resumes_from_a_best_so_far_file(tmp_path, root, capsys):
    out = tmp_path / "m.safetensors"
    spec = RunSpec.of(
        root=root, folds=5, limit=200, epochs=3, eval_limit=50, patience=5, device="cpu"
    )
    events = execute(spec, save_model=out)
    for event in events:  # interrupted after the first epoch
        if isinstance(event, EpochMetrics):
            events.close()
            break
    partial = best_so_far_path(out)
    assert partial.is_file() and not out.exists()
    capsys.readouterr()
    args = ["train", "--root", root, *ARGS, "--epochs", "3", "--out", str(out)]
    assert main([*args, "--resume", str(partial)]) == 0
    err = capsys.readouterr().err
    assert "epoch 1/3" not in err and "epoch 2/3" in err and "epoch 3/3" in err
    _, card = load(out)
    assert card.training["best_epoch"] >= 1
    # a best-so-far file of another run is refused in a sentence, before training
    assert main([*args, "--a1", "0.3", "--defense", "wr_fgsm", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Cannot resume from" in err and "defense wr_fgsm" not in err and "epoch" not in err


@pytest.mark.cluster
def test_a_killed_rank_is_one_sentence_with_the_resume_command(tmp_path):
    out = tmp_path / "ddp.safetensors"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_port", str(29000 + os.getpid() % 500),
        "-m", "fgsm_studio.core.cli", "train", "--ddp", "--limit", "600", "--epochs", "30",
        "--patience", "30", "--eval-limit", "50", "--threads", "1", "--out", str(out),
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    partial = best_so_far_path(out)
    deadline = time.monotonic() + 400
    while not partial.is_file() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(1)  # waiting for the first epoch, not a timing assertion
    assert partial.is_file()
    rank1 = _rank_pid(proc.pid, 1)
    os.kill(rank1, signal.SIGKILL)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode != 0
    (line,) = [x for x in stderr.splitlines() if x.startswith("error: rank 1 of this 2-process")]
    assert f"the best epoch so far is in {partial}" in line
    assert f"--resume {partial}" in line and "torchrun --nproc_per_node 2" in line


def _rank_pid(parent: int, rank: int) -> int:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and f"RANK={rank}".encode() in environ:
            return int(entry.name)
    raise AssertionError(f"no rank {rank} under {parent}")
