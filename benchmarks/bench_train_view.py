"""Training in the window: event-loop stalls and throughput against the CLI. Prints figures only.

1. A 5 ms QTimer runs on the GUI thread while the Train view trains a WR_FGSM
   small_cnn on the bundled digits; the longest gap between its ticks beyond
   5 ms is the longest freeze a user could see (goal <= 50 ms).
2. The same run's images/s in the window (worker thread, the cores free now)
   against the same config driven directly by ``core.training.loop`` in this
   process as the CLI does (``configure_threads("cli")``: the cores free now;
   goal: window >= 0.9x CLI), and the threads each used.
3. The PGD monitor's share of an epoch (issue 14.7: at most about 15%).

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/bench_train_view.py [--device cuda]``
(``--device cuda``: both runs on the GPU; the stall goal is the same, issue 14.10).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("FGSM_STUDIO_HOME", tempfile.mkdtemp())
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EPOCHS, LIMIT = 2, 3000
DEVICE = "cpu"  # --device: cpu, cuda, cuda:1, mps


def window_run() -> tuple[float, float, list[float]]:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from fgsm_studio.core.training.loop import warm_up
    from fgsm_studio.gui.train.view import TrainView

    app = QApplication.instance() or QApplication([])
    warm_up()  # the app does this on its worker right after start-up, while idle
    view = TrainView(QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat))
    view.show()
    f = view.form
    f.epochs.setValue(EPOCHS)
    f.limit.setValue(LIMIT)
    index = f.device.findData(DEVICE)
    if index < 0:
        sys.exit(f"The Train view offers no device {DEVICE!r} on this machine.")
    f.device.setCurrentIndex(index)
    f.augment.setCurrentIndex(f.augment.findData("none"))  # as the CLI run below
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0] - 5)
        last[0] = now

    timer = QTimer(interval=5, timeout=tick)
    loop = QEventLoop()
    view.run_ended.connect(lambda *a: loop.quit())
    timer.start()
    view.train_button.click()
    loop.exec()
    timer.stop()
    history = view.records[-1].history
    rates = [h.images_per_s for h in history]
    view.shutdown()
    app.processEvents()
    starts = [0.0] + [h.elapsed_s for h in history[:-1]]
    share = max(h.monitor_s / (h.elapsed_s - t0) for h, t0 in zip(history, starts, strict=True))
    return sum(rates) / len(rates), max(gaps), sorted(gaps), share


def cli_run() -> float:
    import torch

    from fgsm_studio.core.devices import configure_threads
    from fgsm_studio.core.models.networks import build
    from fgsm_studio.core.runs.experiments import splits
    from fgsm_studio.core.runs.spec import RunSpec
    from fgsm_studio.core.training.config import EpochMetrics
    from fgsm_studio.core.training.loop import train

    spec = RunSpec.of(defense="wr_fgsm", epochs=EPOCHS, patience=EPOCHS, limit=LIMIT, device=DEVICE)
    train_set, val, _ = splits(spec, spec.root)
    mean, std = train_set.mean_std()
    torch.manual_seed(0)
    model = build("small_cnn", num_classes=10, in_channels=1, image_size=28, mean=mean, std=std)
    global CLI_THREADS
    CLI_THREADS = configure_threads("cli")
    rates = [
        e.images_per_s
        for e in train(model, train_set, val, spec.train)
        if isinstance(e, EpochMetrics)
    ]
    return sum(rates) / len(rates)


CLI_THREADS = 0

if __name__ == "__main__":
    import argparse

    from fgsm_studio.core.devices import free_cores, threads_for

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:1, mps")
    DEVICE = parser.parse_args().device

    window_threads = threads_for("trainer")
    window_rate, stall, gaps, share = window_run()
    cli_rate = cli_run()
    p99 = gaps[int(0.99 * len(gaps))]
    print(
        f"WR_FGSM small_cnn on {DEVICE}, {LIMIT} digits, {EPOCHS} epochs, {os.cpu_count()} CPUs, "
        f"{free_cores()} free now; threads: window {window_threads}, CLI {CLI_THREADS}"
    )
    print(f"PGD monitor: at most {100 * share:.1f}% of an epoch (goal <= 15%)")
    print(
        f"event loop while training: longest stall {stall:.0f} ms (goal <= 50 ms), p99 gap {p99:.0f} ms, "
        f"{len(gaps)} ticks"
    )
    print(
        f"images/s: window {window_rate:.0f}, CLI {cli_rate:.0f}, ratio {window_rate / cli_rate:.2f} (goal >= 0.9)"
    )
