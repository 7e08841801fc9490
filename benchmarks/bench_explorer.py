"""Explorer benchmark: slider move -> repainted frame, and cold start. Prints figures only.

1. For each bundled MNIST model: set the epsilon slider to a new value, let the
   event loop compute the FGSM frame (cached gradient + one forward) and
   repaint the panels and bars synchronously; p50 / p95 over many moves
   (goal: p95 <= 33 ms on a 2-core CPU).
2. Cold start of ``python -m gui.app``: time until the window is shown (goal
   <= 1.5 s) and until the first attacked frame is drawn (goal <= 4 s), median
   of a few launches, measured from process start.

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/bench_explorer.py``
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def slider_latency(moves: int = 300) -> None:
    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    from fgsm_studio.core.bundled import bundled_models
    from fgsm_studio.gui.explorer import ExplorerView
    from fgsm_studio.gui.workers import TaskRunner

    app = QApplication.instance() or QApplication([])
    runner = TaskRunner()
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    view = ExplorerView(runner, settings)
    view.resize(1360, 860)
    view.show()
    for entry in [e for e in bundled_models() if e.card.dataset == "mnist-5k"]:
        loop = QEventLoop()
        view.frame_rendered.connect(loop.quit)
        view.load_model(entry.path)
        loop.exec()
        while not view.idle:  # the compare twin and the sweep
            app.processEvents()
        times = []
        for i in range(moves):
            t0 = time.perf_counter()
            view.epsilon.slider.setValue(1 + (i * 37) % 400)
            loop.exec()  # returns on frame_rendered
            view.stage.repaint()  # draw the panels and bars now
            times.append(time.perf_counter() - t0)
        view.frame_rendered.disconnect(loop.quit)
        times.sort()
        p50, p95 = times[len(times) // 2], times[int(0.95 * len(times))]
        print(
            f"slider -> repainted frame, {entry.path.stem}: p50 {p50 * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms "
            f"(goal p95 <= 33 ms), {moves} moves"
        )
    runner.shutdown()


def cold_start(runs: int = 3) -> None:
    shown, frame = [], []
    for _ in range(runs):
        out = Path(tempfile.mkdtemp()) / "shot.png"
        env = {**os.environ, "FGSM_STUDIO_TIMING": "1", "FGSM_STUDIO_HOME": str(out.parent)}
        t0 = time.time()
        proc = subprocess.run(
            [sys.executable, "-m", "fgsm_studio", "--screenshot", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        marks = {}
        for line in proc.stderr.splitlines():
            if line.startswith("TIMING "):
                _, name, stamp = line.split()
                marks.setdefault(name, float(stamp))
        shown.append(marks["window_shown"] - t0)
        frame.append(marks["frame"] - t0)
    print(
        f"cold start (process start -> window shown): median {statistics.median(shown):.2f} s (goal <= 1.5 s)"
    )
    print(
        f"cold start (process start -> first attacked frame): median {statistics.median(frame):.2f} s (goal <= 4 s)"
    )


if __name__ == "__main__":
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    cold_start()
    slider_latency()
