"""The local Ray instance of ``reproduce --executor ray`` is private (issue 20, section 0).

The executor starts Ray in a subprocess here (Ray reads its environment at import,
and a test must not leave an instance or ``RAY_*`` variables in pytest's process).
The script reports every TCP socket its process tree listens on, read from
``/proc``; none may be beyond loopback. Three clients on this machine then try to join
the instance through its GCS address: without a token, with a wrong one, and (the
control that shows the others fail for the token, not for the address) with the
right one. Ray's client says only "Failed to connect" to the first two (about 20 s
each), so the control is what ties the refusal to the token. From another address
the instance cannot be reached at all: nothing listens there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fgsm_studio.core.runs import ray_local

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/net/tcp"), reason="reads listening sockets from /proc (Linux)"
)

SERVER = """
import json, os, subprocess, sys
from fgsm_studio.core.runs.ray_executor import RayExecutor
from fgsm_studio.core.runs import ray_local
import ray

with RayExecutor(num_cpus=1) as ex:
    assert ray.get(ray.remote(lambda: 6 * 7).remote()) == 42  # the instance works
    token = os.environ["RAY_AUTH_TOKEN"]
    gcs = ray.get_runtime_context().gcs_address
    # A client on this machine: loopback as its own address, like the instance.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    clean["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    results = {}
    for name, extra in (
        ("no token", {"RAY_AUTH_MODE": "disabled"}),
        ("wrong token", {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 64}),
        ("right token", {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}),
    ):
        client = subprocess.run(
            [sys.executable, "-c", CLIENT, gcs], env={**clean, **extra},
            capture_output=True, text=True, timeout=120,
        )
        results[name] = [client.returncode, client.stdout[-300:], client.stderr[-600:]]
    print("RESULT", json.dumps({
        "listening": ray_local.listening_addresses(), "gcs": gcs, "clients": results,
    }))
print("ENV_AFTER", json.dumps({k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}))
"""

CLIENT = """
import sys, ray
ray.init(address=sys.argv[1], log_to_driver=False, logging_level="ERROR")
print("JOINED", ray.get(ray.remote(lambda: 1).remote()))
"""


@pytest.mark.cluster
def test_the_local_instance_listens_on_loopback_and_wants_the_token(tmp_path):
    pytest.importorskip("ray", reason='pip install -e ".[cluster]"')
    script = tmp_path / "server.py"
    script.write_text(f"CLIENT = {CLIENT!r}\n" + SERVER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    run = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=400, env=env
    )
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(x for x in run.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])

    listening = result["listening"]
    assert len(listening) >= 3, listening  # GCS, raylet, workers: the check saw them
    assert all(ray_local.is_loopback(address) for address, _ in listening), listening
    assert result["gcs"].startswith("127.0.0.1:"), result["gcs"]

    clients = result["clients"]
    assert clients["right token"][0] == 0 and "JOINED 1" in clients["right token"][1], clients
    for refused in ("no token", "wrong token"):
        code, out, err = clients[refused]
        # Same address and environment as the control, only the token differs.
        assert code != 0 and "JOINED" not in out, (refused, clients[refused])

    after = next(x for x in run.stdout.splitlines() if x.startswith("ENV_AFTER "))
    assert json.loads(after[len("ENV_AFTER ") :]) == {"RAY_AUTH_MODE": None, "RAY_AUTH_TOKEN": None}


def test_an_open_listener_stops_the_instance(monkeypatch):
    """The check after start fails closed: one socket on 0.0.0.0 is enough."""
    monkeypatch.setattr(
        ray_local, "listening_addresses", lambda root=None: [("127.0.0.1", 1), ("0.0.0.0", 2)]
    )
    with pytest.raises(ray_local.OpenInstanceError, match="0.0.0.0:2"):
        ray_local.check_private()


@pytest.mark.parametrize(
    ("hex_address", "address", "loopback"),
    [
        ("0100007F", "127.0.0.1", True),
        ("00000000", "0.0.0.0", False),
        ("020200C0", "192.0.2.2", False),
        ("0000000000000000FFFF00000100007F", "::ffff:7f00:1", True),
        ("00000000000000000000000000000000", "::", False),
        ("00000000000000000000000001000000", "::1", True),
    ],
)
def test_proc_net_addresses_are_decoded(hex_address, address, loopback):
    decoded = str(ray_local._decode(hex_address))
    assert decoded == address
    assert ray_local.is_loopback(decoded) is loopback
