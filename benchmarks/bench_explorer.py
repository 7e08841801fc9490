"""Explorer benchmark: slider move -> repainted frame, and cold start. Prints figures only.

1. For every bundled model (``core.models.bundled.bundled_models()``: small CNNs,
   MobileNetV2, ResNet50, DenseNet121, Fashion-MNIST) and ImageNet's
   EfficientNet-Lite0 on a photo, with its compare twin loaded: first the sweep,
   the model's and the compare model's answers at every slider position
   (``SweepCache``), timed from the new session to the curve's coarse view, to
   the model's every position and to the compare model's. Then move the epsilon
   slider as a drag does (slider held down), let the event loop compute the
   FGSM frame (cached gradient, the answers from the sweep: no forward pass) and
   repaint the stage synchronously; p50 / p95 over many moves (goal: p95 <= 33
   ms on a 2-core CPU), and the GUI thread's CPU time for it (the work, whatever
   the load). Then epsilons between two slider positions (typed; and every frame
   before the sweep is in): one forward pass each, the compare model's bars
   waiting for the release. Also the release: a settled frame with the compare
   model's bars. The machine's load (``os.getloadavg()``, 1 min) is printed
   before and after each model: the CPU is shared, figures under load are slower.
2. Cold start of ``python -m fgsm_studio`` (median of a few launches, from
   process start): the window shown, its first paint (a real panel with
   progress, while torch loads on a thread; goal <= 1 s) and the first attacked
   frame (goals: 2.5 s idle, 8 s busy); once on an idle machine and once with both cores
   kept busy by two spinning processes (a lecture laptop doing something else). Each is
   also given as a ratio to a bare ``python -c "import torch"`` timed in the same
   conditions (the figures move with the machine's load; the ratio much less), and the
   run says which of matplotlib, scipy, torchattacks, ray and the Train view were
   imported before the first frame (none should be).

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/bench_explorer.py [--only slider|cold]
[--models SUBSTRING] [--moves N]``
"""

from __future__ import annotations

import argparse
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


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def pct(samples: list[tuple[float, ...]], q: int, column: int = 0) -> str:
    """The q-th percentile of one column of the samples, in ms."""
    values = sorted(sample[column] for sample in samples)
    return f"{values[min(len(values) - 1, q * len(values) // 100)] * 1e3:.1f}"


def moved(view, loop, value: int | None = None, eps: float | None = None) -> tuple[float, float]:
    """Wall and GUI-thread CPU seconds: slider (or spin box) -> repainted stage."""
    t0, c0 = time.perf_counter(), time.thread_time()
    if eps is None:
        view.epsilon.slider.setValue(value)
    else:
        view.state.set_epsilon(eps)
    loop.exec()  # returns on frame_rendered
    view.stage.repaint()  # draw the panels and bars now
    return time.perf_counter() - t0, time.thread_time() - c0


def slider_latency(moves: int = 300, only: str = "") -> None:
    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    from fgsm_studio.core.models.bundled import bundled_models
    from fgsm_studio.gui.explorer.view import ExplorerView
    from fgsm_studio.gui.workers import TaskRunner

    app = QApplication.instance() or QApplication([])
    runner = TaskRunner()
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat)
    view = ExplorerView(runner, settings)
    view.resize(1280, 640)
    view.show()
    from fgsm_studio.core.models.imagenet import virtual_sources
    from fgsm_studio.core.paths import resource_path

    cases = [(e.path, e.path.stem, None) for e in bundled_models()]
    photo = resource_path("samples", "photos", "orange.jpg")
    cases += [(src, src.split(":")[-1], photo) for src, _title in virtual_sources()[:1]]
    for source, name, image in cases:
        if only not in name:
            continue
        before = load()
        loop = QEventLoop()
        view.frame_rendered.connect(loop.quit)
        view.load_model(source)
        loop.exec()
        if image is not None:
            view.set_image(image)
            loop.exec()
        while not view.idle or view.state.loading("compare") is not None:
            app.processEvents()  # the compare twin and the sweep (the GUI thread mostly sleeps)
            time.sleep(0.005)
        sweep = view.frames.sweep_seconds
        scale = view.state.scale
        ticks = view.epsilon.slider.maximum()
        slider = view.epsilon.slider

        slider.setSliderDown(True)  # a drag
        drag = [moved(view, loop, 1 + (i * 37) % ticks) for i in range(moves)]
        # Between two slider positions (a typed epsilon; every frame before the sweep is in):
        # one forward pass per frame, the compare model's bars wait for the release.
        live = [
            moved(view, loop, eps=(1.5 + (i * 37) % (ticks - 2)) * scale.step)
            for i in range(moves // 2)
        ]
        slider.setSliderDown(False)
        settled = [moved(view, loop, 1 + (i * 41) % ticks) for i in range(max(20, moves // 10))]
        view.frame_rendered.disconnect(loop.quit)
        twin = "with compare" if view.state.compare is not None else "no compare"
        steps = " / ".join(f"{k} {v:.1f} s" for k, v in sweep.items())
        print(
            f"slider -> repainted frame, {name} ({twin}, eps 0-{scale.maximum:.3f}, "
            f"{scale.positions} positions), {moves} moves: drag p50 {pct(drag, 50)} ms, "
            f"p95 {pct(drag, 95)} ms (goal p95 <= 33 ms; GUI-thread CPU p95 "
            f"{pct(drag, 95, 1)} ms); off the grid (one forward) p95 {pct(live, 95)} ms "
            f"(CPU {pct(live, 95, 1)} ms); settled frame incl. compare p95 {pct(settled, 95)} ms; "
            f"sweep (curve / model / compare) {steps}; load {before} -> {load()}",
            flush=True,
        )
    runner.shutdown()


def cold_start(runs: int = 3, *, busy: bool = False) -> None:
    spinners = []
    if busy:  # both cores kept busy by other work for the whole measurement
        spin = "while True: pass"
        spinners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(2)]
    marks_of: dict[str, list[float]] = {"window_shown": [], "first_paint": [], "frame": []}
    baseline: list[float] = []  # a bare `python -c "import torch"`, in the same conditions
    early: set[str] = set()
    loads = [load()]
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import torch"], check=True)
            baseline.append(time.perf_counter() - t0)
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
                elif line.startswith("IMPORTED_EARLY "):
                    early |= set(line.split()[1].split(",")) - {"-"}
            if "frame" not in marks:
                raise SystemExit(f"no first frame: {proc.stderr[-2000:]}")
            for name, seen in marks_of.items():
                seen.append(marks[name] - t0)
    finally:
        for p in spinners:
            p.kill()
            p.wait()
        loads.append(load())
    how = "both cores busy" if busy else "idle"
    torch_s = statistics.median(baseline)
    goals = {"window_shown": "1.5 s", "first_paint": "1 s", "frame": "8 s" if busy else "2.5 s"}
    label = {"window_shown": "window shown", "first_paint": "first paint (progress panel)"}
    for name, goal in goals.items():
        seconds = statistics.median(marks_of[name])
        print(
            f"cold start, {how} (process start -> {label.get(name, 'first attacked frame')}): "
            f"median {seconds:.2f} s (goal <= {goal}), {seconds / torch_s:.2f}x a bare "
            f"`import torch` ({torch_s:.2f} s); load {' -> '.join(loads)}"
        )
    print(
        f"cold start, {how}: imported before the first frame, of matplotlib, scipy, "
        f"torchattacks, ray, the Train view and the trainer: {', '.join(sorted(early)) or 'none'}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("slider", "cold"), help="run one part")
    parser.add_argument("--models", default="", help="only the models whose name has this")
    parser.add_argument("--moves", type=int, default=300, help="slider moves per model")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load()}")
    if args.only != "slider":
        cold_start()
        cold_start(busy=True)
    if args.only != "cold":
        slider_latency(args.moves, args.models)
