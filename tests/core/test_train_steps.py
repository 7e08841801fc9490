"""core.training.loop's steps keep the trainer's behaviour: the events, records and weights of
tiny seeded runs equal what the single-function trainer (before issue 23, 3's split into
named steps, commit 9221e86) produced, stored in ``train_trace.json`` beside this file.

The runs go through every path of the loop: no defense with early stopping; WR_FGSM with
warm-up, a cosine schedule, EMA, augmentation and a best-so-far file; PGD training with SGD
resumed at epoch 2 and selected by the PGD monitor; TRADES with the literal penalty. To
record the trace again from a trusted trainer: ``python tests/core/test_train_steps.py``.

The figures depend on the CPU's vector instructions: a trace made on an AVX-512 CPU is off
by up to 11% (one monitor image, after PGD's sign() met a float that rounded the other way)
on an AVX2 one. It was recorded again in session 8 on this AMD EPYC (AVX2) machine, from
commit 9221e86 itself (a worktree of it, with this file), and the split trainer matched it;
on another CPU do the same rather than loosen the tolerance.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from fgsm_studio.core.measure.evaluation import EvalProgress
from fgsm_studio.core.models.card import ModelCard
from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.models.networks import build
from fgsm_studio.core.training.config import BatchProgress, EpochMetrics, TrainConfig
from fgsm_studio.core.training.loop import train

TRACE = Path(__file__).with_name("train_trace.json")
TIMES = {"images_per_s", "elapsed_s", "monitor_s", "train_s"}  # measured, not computed

RUNS = {
    "none-early-stop": (dict(defense="none", epochs=4, patience=1, select_by="clean"), 1),
    "wr_fgsm-warmup-cosine-ema-augment": (
        dict(
            defense="wr_fgsm",
            epochs=3,
            warmup_epochs=1.5,
            lr_schedule="cosine",
            ema=0.9,
            augment="digits",
            epsilon=0.2,
        ),
        1,
    ),
    "pgd-sgd-resumed-select-pgd": (
        dict(
            defense="pgd",
            epochs=3,
            attack_steps=2,
            optimizer="sgd",
            lr=0.02,
            select_by="pgd",
            a1=0.7,
        ),
        2,
    ),
    "trades-literal": (dict(defense="trades", epochs=1, attack_steps=2, reg="literal"), 1),
}


def _data():
    from fgsm_studio.core.data.loaders import load_mnist_csv

    digits = load_mnist_csv(Path(__file__).parents[1] / "data" / "mnist_1k.csv.gz")
    return digits.subset(range(0, 1000, 10)), digits.subset(range(5, 1000, 25))


def _event(e) -> list:
    kind = type(e).__name__
    fields = {k: v for k, v in asdict(e).items() if k not in TIMES}
    return [kind, fields]


def trace(name: str, tmp: Path) -> dict:
    """The events, result, weights and saved card of one run, without its timings."""
    options, start = RUNS[name]
    train_set, val_set = _data()
    torch.manual_seed(3)
    model = build(
        "small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31]
    )
    config = TrainConfig(seed=5, batch_size=16, monitor_images=20, monitor_steps=2, **options)
    card = ModelCard("small_cnn", 10, [str(i) for i in range(10)], 1, 28, [0.13], [0.31])
    path = tmp / f"{name}.safetensors"
    gen = train(model, train_set, val_set, config, save_path=path, card=card, start_epoch=start)
    events = []
    try:
        while True:
            e = next(gen)
            assert isinstance(e, BatchProgress | EvalProgress | EpochMetrics)
            events.append(_event(e))
    except StopIteration as stop:
        result = stop.value
    out = {
        "events": events,
        "result": [result.best_epoch, result.best_score, result.early_stopped],
        "weights": {
            k: [float(v.double().sum()), float(v.double().abs().sum())]
            for k, v in model.state_dict().items()
        },
        "training": model.training,
    }
    if result.saved_to is not None:
        _, saved = load(result.saved_to)
        out["card"] = {"training": saved.training, "metrics": saved.metrics}
    return json.loads(json.dumps(out))


def _close(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert a == pytest.approx(b, rel=1e-4, abs=1e-6), where  # a changed step: > 10x off
    else:
        assert a == b, where


@pytest.fixture
def two_threads():
    """The trace was recorded with torch on two CPU threads; on one (what the suite's
    conftest gives when the machine is busy) float sums come in another order, and the
    literal penalty's large gradients carry that past 1e-5 (measured: 1.2e-5 on one weight)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_seeded_run_is_what_the_single_function_trainer_made(name, tmp_path, two_threads):
    want = json.loads(TRACE.read_text())[name]
    _close(trace(name, tmp_path), want, name)


if __name__ == "__main__":  # record the trace (with the trainer this checkout has)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        TRACE.write_text(json.dumps({n: trace(n, Path(d)) for n in sorted(RUNS)}, indent=1) + "\n")
    sys.exit(0)
