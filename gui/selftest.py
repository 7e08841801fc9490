"""``fgsm-studio --self-test``: is this installation (or copied bundle) sound?

Prints one line per check and exits 0 when all pass, 1 otherwise: versions,
the compute device, every bundled model (load, predict its first sample), one
live attack, one short WR_FGSM training step, and a Qt widget drawn on the
platform the app itself will use (X11 on a Linux desktop; offscreen only when
``QT_QPA_PLATFORM=offscreen`` says so), after the same check the app makes that
Qt can load that platform. Lab admins run it after copying the bundle to a
workstation.
"""

from __future__ import annotations

import os
import platform
import sys
import time
import traceback
from collections.abc import Callable


class CheckFailed(RuntimeError):
    """A check's own finding, printed as its sentence alone."""


def _check(name: str, fn: Callable[[], str], results: list[bool]) -> None:
    t0 = time.perf_counter()
    try:
        detail = fn()
    except Exception as exc:  # noqa: BLE001 (a failed check is a line, never a crash)
        results.append(False)
        kind = "" if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: "
        print(f"[FAIL] {name}: {kind}{exc}")
        if os.environ.get("FGSM_STUDIO_DEBUG"):
            traceback.print_exc()
        return
    results.append(True)
    print(f"[ OK ] {name}: {detail} ({time.perf_counter() - t0:.1f} s)")


def _versions() -> str:
    import numpy
    import PIL
    import pyqtgraph
    import PySide6
    import safetensors
    import torch
    import torchvision

    from fgsm_studio import __version__

    return (
        f"FGSM Studio {__version__}, Python {platform.python_version()}, torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}, PySide6 {PySide6.__version__}, pyqtgraph {pyqtgraph.__version__}, "
        f"numpy {numpy.__version__}, pillow {PIL.__version__}, safetensors {safetensors.__version__}"
    )


def _device() -> str:
    import torch

    from fgsm_studio.core.devices import describe, pick_device

    device = pick_device("auto")
    if device.type == "cuda":  # prove the GPU computes, not only that it is listed
        x = torch.rand(256, 256, device=device)
        float((x @ x).sum())
    return describe(device)


def _models() -> str:
    import torch

    from fgsm_studio.core.bundled import bundled_models, samples_for
    from fgsm_studio.core.checkpoint import load
    from fgsm_studio.core.images import load_image, to_model_input

    entries = bundled_models()
    if not entries:
        raise RuntimeError("no bundled models found in the resources folder")
    for e in entries:
        model, card = load(e.path)
        sample = samples_for(card.dataset)[0]
        x = to_model_input(load_image(sample.path), card.in_channels, card.image_size)
        with torch.no_grad():
            pred = int(model(x[None]).argmax())
        if sample.label is not None and pred != sample.label:
            raise RuntimeError(f"{e.path.name} predicts {pred} for {sample.path.name}")
    return f"{len(entries)} bundled models load and predict their samples"


def _attack() -> str:
    from fgsm_studio.core.bundled import default_model, samples_for
    from fgsm_studio.core.checkpoint import load
    from fgsm_studio.core.images import load_image, to_model_input
    from fgsm_studio.core.session import AttackSession

    entry = default_model()
    if entry is None:
        raise RuntimeError("no bundled model was found")
    model, card = load(entry.path)
    sample = samples_for(card.dataset)[0]
    session = AttackSession(
        model, to_model_input(load_image(sample.path), card.in_channels, card.image_size)
    )
    sweep = session.sweep([i / 100 for i in range(51)])
    frame = session.frame(sweep.flip_epsilon or 0.3)
    return f"FGSM flips '{card.class_names[frame.pred_clean]}' to '{card.class_names[frame.pred_adv]}' at eps {frame.epsilon:.2f}"


def _training() -> str:
    from fgsm_studio.core.data import load_dataset
    from fgsm_studio.core.models import build
    from fgsm_studio.core.training import TrainConfig, run

    data = load_dataset("mnist-5k").subset(list(range(0, 5000, 50)))
    model = build(
        "small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31]
    )
    result = run(model, data, data, TrainConfig(defense="wr_fgsm", epochs=1, batch_size=32))
    m = result.history[-1]
    return f"one WR_FGSM epoch on 100 digits, {m.images_per_s:.0f} images/s, loss {m.loss:.2f}"


def _qt() -> str:
    from PySide6.QtWidgets import QApplication, QLabel

    from fgsm_studio.gui.platform_check import platform_problem

    problem = platform_problem()
    if problem:
        raise CheckFailed(problem)
    _app = QApplication.instance() or QApplication([sys.argv[0]])  # alive while the label is
    label = QLabel("FGSM Studio")
    label.resize(200, 50)
    pixmap = label.grab()
    if pixmap.isNull():
        raise RuntimeError("Qt could not draw a widget")
    return f"Qt {QApplication.platformName()} platform draws widgets"


def run_self_test() -> int:
    results: list[bool] = []
    print("FGSM Studio self-test")
    for name, fn in (
        ("versions", _versions),
        ("device", _device),
        ("bundled models", _models),
        ("attack", _attack),
        ("training step", _training),
        ("Qt", _qt),
    ):
        _check(name, fn, results)
    ok = all(results)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if ok else 1
