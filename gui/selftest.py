"""``fgsm-studio --self-test[=full]``: is this installation (or copied bundle) sound?

Prints one line per check and exits 0 when all pass, 1 otherwise. The quick test
(``--self-test``, a few seconds) is what a start needs: a Qt widget drawn on the
platform the app itself will use (X11 on a Linux desktop; offscreen only when
``QT_QPA_PLATFORM=offscreen`` says so), after the same check the app makes that
Qt can load that platform; the default bundled model's FGSM frame on its first
sample against the answer stored in ``resources/models/selftest_expected.json``;
and the data folder writable. ``--self-test=full`` adds versions, the compute
device, every bundled model, the epsilon sweep and one short WR_FGSM training
step. Lab admins run it after copying the bundle to a workstation;
``packaging/build.py`` runs the quick one on every bundle it builds.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

EXPECTED = ("models", "selftest_expected.json")  # under resources/
PROB_TOLERANCE = 1e-3  # another CPU, BLAS or the GPU sums in another order


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

    from fgsm_studio.core.data.images import load_image, to_model_input
    from fgsm_studio.core.models.bundled import bundled_models, samples_for
    from fgsm_studio.core.models.checkpoint import load

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
    from fgsm_studio.core.data.images import load_image, to_model_input
    from fgsm_studio.core.explorer.session import AttackSession
    from fgsm_studio.core.models.bundled import default_model, samples_for
    from fgsm_studio.core.models.checkpoint import load

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
    from fgsm_studio.core.data.loaders import load_dataset
    from fgsm_studio.core.models.networks import build
    from fgsm_studio.core.training.config import TrainConfig
    from fgsm_studio.core.training.loop import run

    data = load_dataset("mnist-5k").subset(list(range(0, 5000, 50)))
    model = build(
        "small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31]
    )
    result = run(model, data, data, TrainConfig(defense="wr_fgsm", epochs=1, batch_size=32))
    m = result.history[-1]
    return f"one WR_FGSM epoch on 100 digits, {m.images_per_s:.0f} images/s, loss {m.loss:.2f}"


def _qt() -> str:
    from PySide6.QtWidgets import QApplication, QLabel

    from .platform_check import platform_problem

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


def frame_answer() -> dict:
    """The default bundled model's FGSM frame on its first sample, at the stored epsilon."""
    from fgsm_studio.core.data.images import load_image, to_model_input
    from fgsm_studio.core.explorer.session import AttackSession
    from fgsm_studio.core.models.bundled import default_model, samples_for
    from fgsm_studio.core.models.checkpoint import load
    from fgsm_studio.core.paths import resource_path

    expected = json.loads(resource_path(*EXPECTED).read_text())
    entry = default_model()
    if entry is None:
        raise CheckFailed("no bundled models found in the resources folder")
    model, card = load(entry.path)
    sample = samples_for(card.dataset)[0]
    image = to_model_input(load_image(sample.path), card.in_channels, card.image_size)
    frame = AttackSession(model, image).frame(expected["epsilon"])
    return {
        "model": entry.path.name,
        "sample": sample.path.name,
        "epsilon": expected["epsilon"],
        "pred_clean": frame.pred_clean,
        "pred_adv": frame.pred_adv,
        "prob_clean": round(float(frame.probs_clean[frame.pred_clean]), 6),
        "prob_adv": round(float(frame.probs_adv[frame.pred_adv]), 6),
        "linf": round(float(frame.perturbation.abs().max()), 6),
    }


def _frame() -> str:
    from fgsm_studio.core.paths import resource_path

    expected = json.loads(resource_path(*EXPECTED).read_text())
    got = frame_answer()
    wrong = [
        f"{key} {got[key]} (expected {want})"
        for key, want in expected.items()
        if (abs(got[key] - want) > PROB_TOLERANCE if isinstance(want, float) else got[key] != want)
    ]
    if wrong:
        raise CheckFailed(f"{got['model']} on {got['sample']}: " + ", ".join(wrong))
    return (
        f"{got['model']} on {got['sample']}: class {got['pred_clean']} "
        f"({got['prob_clean']:.3f}) becomes {got['pred_adv']} ({got['prob_adv']:.3f}) "
        f"at eps {got['epsilon']}, as stored"
    )


def _data_folder() -> str:
    from fgsm_studio.core.paths import unwritable_folders, user_data_dir

    problems = unwritable_folders()
    if problems:
        raise CheckFailed(" ".join(problems))
    folder = user_data_dir()
    probe = folder / f".selftest-{os.getpid()}.tmp"
    probe.write_text("ok")
    os.replace(probe, probe.with_suffix(".done"))  # what saving a model does
    probe.with_suffix(".done").unlink()
    return f"{folder} is writable"


QUICK = (("Qt", "_qt"), ("frame", "_frame"), ("data folder", "_data_folder"))
FULL = (
    ("versions", "_versions"),
    ("device", "_device"),
    ("bundled models", "_models"),
    ("attack", "_attack"),
    ("training step", "_training"),
)


def run_self_test(mode: str = "quick") -> int:
    """``quick``: what a start needs, in seconds; ``full``: everything the app can do."""
    results: list[bool] = []
    print(f"FGSM Studio self-test ({mode})")
    checks = QUICK + FULL if mode == "full" else QUICK
    module = sys.modules[__name__]
    for name, fn in checks:
        _check(name, getattr(module, fn), results)
    ok = all(results)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if ok else 1


def write_expected(path: Path) -> dict:
    """Store this checkout's answer (run after retraining the default model)."""
    answer = frame_answer()
    path.write_text(json.dumps(answer, indent=2) + "\n")
    return answer
