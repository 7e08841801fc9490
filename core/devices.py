"""Choosing where tensors live: CUDA, then Apple MPS, then the CPU.

``pick_device("auto")`` returns the best available device; any torch device
string overrides it (an unavailable one raises ``ValueError`` with the reason).
``describe`` says what was picked in words ("CUDA: NVIDIA H100", "CPU, 2 threads").
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
