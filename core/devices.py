"""Choosing where tensors live: CUDA, then Apple MPS, then the CPU.

``pick_device("auto")`` returns the best available device; any torch device
string overrides it (an unavailable one raises ``ValueError`` with the reason).
``describe`` says what was picked in words ("CUDA: NVIDIA H100", "CPU, 2 threads"),
``training_place`` where a training run will go (the Train tab says it as a run starts).
"""

from __future__ import annotations

import os

import torch


def pick_device(preference: str = "auto") -> torch.device:
    pref = (preference or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(pref)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("CUDA was asked for, but no CUDA GPU is available on this machine.")
    if device.type == "mps" and not _mps_available():
        raise ValueError("Apple MPS was asked for, but it is not available on this machine.")
    return device


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def describe(device: torch.device | str) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU, {torch.get_num_threads()} threads"


def training_place(preference: str) -> str:
    """Where a run asking for device ``preference`` trains, in words: the GPU's name,
    "CPU (2 threads: the cores free now)", or why that device cannot be used."""
    try:
        device = pick_device(preference)
    except ValueError as exc:
        return str(exc)
    if device.type != "cpu":
        return describe(device)
    n = threads_for("trainer")
    return f"CPU ({n} thread{'' if n == 1 else 's'}: the cores free now)"


def available_devices() -> list[tuple[str, str]]:
    """(device string, label) pairs for a device picker, 'auto' first."""
    out = [("auto", "Auto")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            out.append((f"cuda:{i}", f"CUDA: {torch.cuda.get_device_name(i)}"))
    if _mps_available():
        out.append(("mps", "Apple MPS"))
    out.append(("cpu", f"CPU ({os.cpu_count()} cores)"))
    return out


# The one thread policy. torch's intra-op thread count is per thread with OpenMP, so
# each role sets it on the thread that does the work:
# * "gui" and "explorer-worker": one image at a time is fastest on one thread
#   (MobileNetV2 at 28 px: 7 ms on one thread vs 18 ms on two while a worker's thread
#   team is alive), and each takes one core;
# * "trainer" (a training thread in the window) and "cli": the cores that are free now
#   (cores minus the 1-minute load average, rounded), at least one.
#   FGSM_STUDIO_TRAIN_THREADS or an explicit ``threads`` overrides.
ROLES = ("gui", "explorer-worker", "trainer", "cli")


def free_cores() -> int:
    """Cores not busy right now: the core count minus the 1-minute load average (>= 1)."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        load = 0.0
    return max(1, min(cores, round(cores - load)))


def threads_for(role: str, threads: int | None = None) -> int:
    """How many intra-op threads ``role`` should use (see ROLES)."""
    if role not in ROLES:
        raise ValueError(f"unknown thread role {role!r}; one of {', '.join(ROLES)}")
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, not {threads}")
        return min(threads, os.cpu_count() or 1)  # more threads than cores only thrash
    if role in ("gui", "explorer-worker"):
        return 1
    override = os.environ.get("FGSM_STUDIO_TRAIN_THREADS", "")
    if override.isdigit() and int(override) > 0:
        return min(int(override), os.cpu_count() or 1)
    # The window's own thread sleeps between a run's events: keeping a core for it cost
    # the window 43% of the CLI's speed on two cores (issue 14.10), so it trains on them too.
    return free_cores()


def configure_threads(role: str, threads: int | None = None) -> int:
    """Set torch's intra-op threads for the calling thread's ``role``; returns the count."""
    n = threads_for(role, threads)
    torch.set_num_threads(n)
    return n
