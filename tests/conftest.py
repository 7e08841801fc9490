"""Shared test set-up: headless Qt, a private data folder, tiny real fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_configure(config):
    # torch's threads from the cores actually free, as the CLI takes them (issue 23, 6): on a
    # shared two-core machine two threads spin against each other and the other jobs (the
    # PGD-vs-FGSM test: 11 s of CPU with two threads at load 20, 1.1 s with one).
    from fgsm_studio.core.devices import configure_threads

    configure_threads("cli")


DATA = Path(__file__).parent / "data"


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow", action="store_true", help="also run tests marked slow (e.g. the bundle build)"
    )


def pytest_collection_modifyitems(config, items):
    # Tests marked cuda need an NVIDIA GPU (benchmarks/gpu_check.sh runs them on one).
    if not torch.cuda.is_available():
        no_gpu = pytest.mark.skip(reason="cuda: no CUDA GPU here")
        for item in items:
            if "cuda" in item.keywords:
                item.add_marker(no_gpu)
    # Tests marked cluster start Ray or torchrun processes (20-60 s each): they are slow
    # too, and .ci/run runs them (pytest --run-slow -m cluster).
    for item in items:
        if "cluster" in item.keywords:
            item.add_marker(pytest.mark.slow)
    if config.getoption("--run-slow") or os.environ.get("FGSM_STUDIO_SLOW"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow or FGSM_STUDIO_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def _layout(widget) -> list:
    """Where ``widget`` and each of its child widgets are, whether shown, in what type."""
    from PySide6.QtWidgets import QWidget

    return [
        (w.geometry(), w.isVisible(), w.font().pointSizeF())
        for w in [widget, *widget.findChildren(QWidget)]
    ]


@pytest.fixture
def settle(qtbot):
    """``settle(widget)``: wait until Qt has laid ``widget`` out. A new font, style sheet,
    size or shown panel is laid out in posted events, so a test reads sizes once two
    successive passes of the event loop leave every child where it was (a condition, not a
    fixed wait: under load a 50 ms wait can end before the layout does)."""

    def settle(widget, timeout: int = 20000) -> None:
        seen: list[list] = []

        def unchanged() -> bool:
            seen.append(_layout(widget))
            return len(seen) > 1 and seen[-1] == seen[-2]

        qtbot.waitUntil(unchanged, timeout=timeout)

    return settle


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory, monkeypatch):
    """The app's user-data folder (models, logs, settings) goes to a temp dir."""
    monkeypatch.setenv("FGSM_STUDIO_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def mnist_1k():
    """1000 real MNIST digits (100 per class), committed under tests/data."""
    from fgsm_studio.core.data.loaders import load_mnist_csv

    return load_mnist_csv(DATA / "mnist_1k.csv.gz")


@pytest.fixture(scope="session")
def trained_cnn(mnist_1k):
    """A real trained small_cnn (the bundled standard MNIST model, loaded in a second, not
    trained for minutes) and 200 of the digits; (model, those 200). The attack, session and
    robustness tests check properties of attacks on a real classifier, not training: the
    tests of training train their own (tests/core/test_training.py)."""
    from fgsm_studio.core.data.loaders import folds
    from fgsm_studio.core.models.checkpoint import load
    from fgsm_studio.core.paths import resource_path

    model, _ = load(resource_path("models", "mnist_small_cnn_standard.safetensors"))
    f = folds(mnist_1k, k=5, seed=0)[0]
    return model.eval(), mnist_1k.subset(f.test)


@pytest.fixture(scope="session")
def fresh_cnn(mnist_1k):
    """small_cnn trained here for 4 epochs on 800 of the digits; (model, held-out 200).
    Less sure of itself than the bundled model, which trained on these digits: for the
    tests whose attacks must visibly hurt a model with a budget this small (Square with
    100 queries, BPDA through 1-bit squeezing). Training costs seconds; only they pay."""
    from fgsm_studio.core.data.loaders import folds
    from fgsm_studio.core.models.networks import build
    from fgsm_studio.core.training.config import TrainConfig
    from fgsm_studio.core.training.loop import run

    torch.manual_seed(0)
    f = folds(mnist_1k, k=5, seed=0)[0]
    train = mnist_1k.subset(list(f.train) + list(f.val))
    model = build(
        "small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31]
    )
    run(model, train, mnist_1k.subset(f.val), TrainConfig(epochs=4, seed=0))
    return model.eval(), mnist_1k.subset(f.test)
