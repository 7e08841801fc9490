"""A private Ray instance on this machine: loopback only, token authentication on.

``reproduce --executor ray`` without ``--address`` starts its own Ray. Left to its
defaults, Ray (2.60) picks the machine's external address as the node address, so
the GCS, the raylet and every worker listen where anyone on the network can reach
them, and without token authentication whoever reaches them can run code as the
user. This module starts the instance the other way round:

* the node address is the loopback one (Ray's own switch for this is the
  single-machine mode it uses on macOS and Windows, ``ENABLE_RAY_CLUSTER``), so
  every server binds 127.0.0.1;
* ``RAY_AUTH_MODE=token`` with a fresh random token in ``RAY_AUTH_TOKEN`` (the
  highest-precedence source, so no file is written to ``~/.ray``), which the
  instance's own processes inherit and nothing else knows;
* ``address="local"``: always a new instance, never one that happens to be
  running on the machine already (issue 25, item 9).

After ``ray.init`` the guard checks what it promised, by reading the listening
sockets of Ray's processes from ``/proc`` (Linux), and shuts Ray down with a
``RuntimeError`` if any listens beyond loopback or token authentication is off:
a Ray release that ignores these switches fails closed instead of silently open.
The environment is restored when the instance stops.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Environment that makes a local instance private; restored on exit.
_ENV = (
    "RAY_AUTH_MODE",
    "RAY_AUTH_TOKEN",
    "RAY_AUTH_TOKEN_PATH",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER",
)


class OpenInstanceError(RuntimeError):
    """The local Ray instance listens beyond loopback or without authentication."""


def _refresh_ray_config() -> None:
    """Make an already imported Ray re-read ``RAY_AUTH_*`` (it reads them at import)."""
    try:
        from ray._raylet import (  # type: ignore[attr-defined]  # compiled, no stubs
            AuthenticationTokenLoader,
            Config,
        )
    except ImportError:  # an older or newer Ray without these: the check below decides
        return
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


@contextmanager
def private_environment() -> Iterator[str]:
    """Set the environment for a loopback-only, token-protected instance; yield the token."""
    saved = {name: os.environ.get(name) for name in _ENV}
    token = secrets.token_hex(32)
    os.environ.update(
        RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0"
    )
    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    try:
        import ray._private.ray_constants as constants

        saved_flag = constants.ENABLE_RAY_CLUSTER
        constants.ENABLE_RAY_CLUSTER = False  # read at call time by get_node_ip_address
        _refresh_ray_config()
        yield token
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        try:
            constants.ENABLE_RAY_CLUSTER = saved_flag
        except NameError:  # the import above failed
            pass
        _refresh_ray_config()


def _descendants(root: int) -> set[int]:
    """``root`` and every process below it, from ``/proc/<pid>/stat``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _socket_inodes(pids: set[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def _decode(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw[::-1])
    # /proc/net/tcp6 prints four 32-bit words, each in host (little-endian) order
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return ipaddress.IPv6Address(words)


def listening_addresses(root: int | None = None) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket listening in ``root``'s process tree."""
    inodes = _socket_inodes(_descendants(root or os.getpid()))
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            host, port = fields[1].split(":")
            found.append((str(_decode(host)), int(port, 16)))
    return found


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def check_private() -> None:
    """Raise ``OpenInstanceError`` unless this process's Ray is loopback-only with auth on."""
    if not Path("/proc/net/tcp").exists():  # not Linux: nothing to read the sockets from
        return
    open_ = [(a, p) for a, p in listening_addresses() if not is_loopback(a)]
    if open_:
        where = ", ".join(f"{a}:{p}" for a, p in sorted(open_))
        raise OpenInstanceError(
            f"The local Ray instance listens beyond this machine ({where}); "
            "refusing to run tasks on it."
        )
    try:
        from ray._private.authentication.authentication_utils import is_token_auth_enabled
    except ImportError:
        return
    if not is_token_auth_enabled():
        raise OpenInstanceError(
            "The local Ray instance started without token authentication; refusing to use it."
        )
