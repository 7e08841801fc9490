"""docs/slurm_ray.sh, the SLURM recipe for Ray, checked with a fake SLURM environment (issue 25.16)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "slurm_ray.sh"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def test_the_recipe_is_valid_bash():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_head_on_the_first_node_workers_on_the_rest_with_token_auth(tmp_path):
    scontrol = tmp_path / "scontrol"
    scontrol.write_text("#!/bin/sh\nprintf 'gpu01\\ngpu02\\ngpu03\\n'\n")
    scontrol.chmod(0o755)
    env = dict(
        os.environ,
        DRY_RUN="1",
        SCONTROL=str(scontrol),
        SLURM_JOB_NODELIST="gpu[01-03]",
        SLURM_CPUS_PER_TASK="4",
        OUT="/shared/results",
    )
    env.pop("RAY_AUTH_MODE", None)
    done = subprocess.run(
        ["bash", str(SCRIPT), "--rounds", "1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("+ ")]
    # the ray start lines come from background steps: in any order
    (head,) = [line for line in lines if "ray start --head" in line]
    workers = sorted(line for line in lines if "ray start --block --address" in line)
    (driver,) = [line for line in lines if "fgsm-studio-cli" in line]
    assert "-w gpu01 ray start --head" in head and "--node-ip-address 10.0.0.1" in head
    assert "--num-cpus 4" in head
    assert [w.split("-w ")[1].split()[0] for w in workers] == ["gpu02", "gpu03"]
    assert all("--address 10.0.0.1:6379" in w and "--num-cpus 4" in w for w in workers)
    assert "reproduce --out /shared/results --executor ray --address 10.0.0.1:6379" in driver
    assert driver.endswith("--rounds 1")
    assert "export RAY_AUTH_MODE=token" in SCRIPT.read_text()


def test_outside_slurm_it_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "run this under sbatch" in done.stderr
