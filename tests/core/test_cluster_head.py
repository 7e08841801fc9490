"""reproduce against a Ray head started as docs/cluster.md says: the client path, a lost head.

A head is started on loopback (``ray start --head --node-ip-address 127.0.0.1``) with
token authentication on, on ports and a temporary folder of its own, so another Ray
on the machine is neither joined nor disturbed. It is stopped by ending the processes
whose command line names that folder, one by one by their id (``ray stop`` would stop
every Ray on the machine). Issue 25, items 8 and 13.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster

TINY = [
    "--rounds", "1", "--sweep-rounds", "1", "--a1s", "0.5", "--literal-a1s", "",
    "--epochs", "1", "--limit", "200", "--eval-limit", "100", "--epsilon", "0.1",
    "--attacks", "fgsm", "--batch-size", "32", "--threads", "1", "--seed", "3",
    "--worst-case", "off",
]  # fmt: skip


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _pids_under(folder: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if folder in cmd:
            pids.append(int(entry.name))
    return pids


class Head:
    """A Ray head on loopback with token auth, on its own ports and folder."""

    def __init__(self, token: str) -> None:
        self.folder = tempfile.mkdtemp(prefix="frh", dir="/tmp")  # short: socket paths
        gcs, client, nm, om, lo = _free_ports(5)
        self.gcs, self.client = gcs, client
        self.env = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
        self.env.pop("RAY_ADDRESS", None)
        cmd = [
            sys.executable, "-m", "ray.scripts.scripts", "start", "--head",
            "--node-ip-address", "127.0.0.1", "--port", str(gcs),
            "--ray-client-server-port", str(client), "--node-manager-port", str(nm),
            "--object-manager-port", str(om), "--min-worker-port", str(lo),
            "--max-worker-port", str(lo + 40), "--num-cpus", "2",
            "--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", self.folder,
        ]  # fmt: skip
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=240)
        if done.returncode != 0:
            self.stop()
            pytest.fail(f"ray start failed: {done.stderr[-2000:]}")

    def kill(self, name: str = "") -> None:
        for pid in _pids_under(self.folder):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                if name.encode() in cmd:
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def head():
    pytest.importorskip("ray", reason='pip install -e ".[cluster]"')
    h = Head(secrets.token_hex(16))
    yield h
    h.stop()


def _cli(args: list[str], env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fgsm_studio.core.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(env, OMP_NUM_THREADS="1"),
    )


def test_reproduce_through_ray_client_on_a_loopback_head_with_a_token(tmp_path, head):
    """Issue 25.8: `--address ray://HOST:10001` failed, the extra lacked ray[client]."""
    pytest.importorskip("grpc", reason="ray[client] (the cluster extra) brings grpcio")
    address = f"ray://127.0.0.1:{head.client}"
    out = tmp_path / "out"
    done = _cli(
        ["reproduce", *TINY, "--out", str(out), "--executor", "ray", "--address", address], head.env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(list((out / "runs").glob("*.json"))) == 2 and (out / "report.md").is_file()
    assert "without token authentication" not in done.stderr  # loopback: no warning
    # the same head without the token: refused in a sentence, nothing trained
    bare = {k: v for k, v in head.env.items() if not k.startswith("RAY_AUTH")}
    refused = _cli(
        [
            "reproduce",
            *TINY,
            "--out",
            str(tmp_path / "x"),
            "--executor",
            "ray",
            "--address",
            address,
        ],
        bare,
        timeout=300,
    )
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr and not (tmp_path / "x" / "runs").exists()


def test_a_lost_head_saves_the_runs_and_says_how_to_resume(tmp_path, head):
    """Issue 25.13: the driver ended after 60 s with Ray's C++ log line and no report."""
    out = tmp_path / "out"
    args = ["reproduce", *TINY, "--a1s", "0,0.5,1", "--epochs", "3", "--out", str(out)]
    args += ["--executor", "ray", "--address", f"127.0.0.1:{head.gcs}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fgsm_studio.core.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(head.env, OMP_NUM_THREADS="1"),
    )
    runs = out / "runs"
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and not list(runs.glob("*.json")):
        if proc.poll() is not None:
            break
        time.sleep(1)  # polling for the first record, not a timing assertion
    assert list(runs.glob("*.json")), "no run finished"
    head.kill()  # the head and its workers, at once
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 3, stderr[-3000:]
    sentence = [line for line in stderr.splitlines() if line.startswith("error:")][-1]
    saved = len(list(runs.glob("*.json")))
    assert f"{saved} finished run(s) are saved in {runs}" in sentence
    assert "resume with:" in sentence and "reproduce" in sentence
    assert "partial report:" in stderr and (out / "report.md").is_file()
    assert "Traceback" not in stderr
