"""Issue 14.10: training threads come from the cores actually free, in the window as in the CLI."""

from __future__ import annotations

import os

from fgsm_studio.core import devices


def test_the_window_trains_on_every_free_core(monkeypatch):
    """It kept one core for itself: 0.57x the CLI's images/s on two cores."""
    monkeypatch.delenv("FGSM_STUDIO_TRAIN_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.0, 0.0))
    assert devices.threads_for("trainer") == devices.threads_for("cli") == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (1.2, 0.0, 0.0))  # another job holds a core
    assert devices.threads_for("trainer") == devices.threads_for("cli") == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (7.0, 0.0, 0.0))
    assert devices.threads_for("trainer") == 1  # never fewer than one
    monkeypatch.setenv("FGSM_STUDIO_TRAIN_THREADS", "1")
    assert devices.threads_for("trainer") == 1 and devices.threads_for("trainer", 2) == 2
    assert devices.threads_for("gui") == 1


def test_threads_are_capped_at_the_cores_there_are(monkeypatch):
    """Issue 20, 1: --threads 100000 drove the load to 280 and segfaulted."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert devices.threads_for("cli", 100_000) == 2
    monkeypatch.setenv("FGSM_STUDIO_TRAIN_THREADS", "100000")
    assert devices.threads_for("trainer") == 2
