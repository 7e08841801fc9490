"""TrainConfig.lr_schedule: a cosine decay of the learning rate, set on every batch.

Added for the eps 0.3 MNIST model (issue 16 item 5): the schedule is a config
option with a CLI flag, recorded in the card and in the run's key (only when it
is not the default, so the keys of older records hold).
"""

from __future__ import annotations

import math

import pytest
import torch

from fgsm_studio.core.cli import options
from fgsm_studio.core.data.loaders import folds
from fgsm_studio.core.models.networks import build
from fgsm_studio.core.runs.spec import RunSpec
from fgsm_studio.core.training import config
from fgsm_studio.core.training.config import TrainConfig, training_info
from fgsm_studio.core.training.loop import run

from .test_cli_options import _choices


def test_cosine_falls_from_lr_to_zero_and_constant_stays():
    cosine = TrainConfig(lr=0.01, lr_schedule="cosine")
    assert cosine.learning_rate(0, 100) == pytest.approx(0.01)
    assert cosine.learning_rate(50, 100) == pytest.approx(0.005)
    assert cosine.learning_rate(25, 100) == pytest.approx(0.005 * (1 + math.cos(math.pi / 4)))
    assert cosine.learning_rate(99, 100) < 1e-5
    rates = [cosine.learning_rate(i, 100) for i in range(100)]
    assert rates == sorted(rates, reverse=True)
    constant = TrainConfig(lr=0.01)
    assert {constant.learning_rate(i, 100) for i in range(100)} == {0.01}
    with pytest.raises(ValueError, match="lr_schedule must be one of constant, cosine"):
        TrainConfig(lr_schedule="step").validate()


def test_training_sets_the_scheduled_rate_before_every_step(mnist_1k, monkeypatch):
    f = folds(mnist_1k, k=5, seed=1)[0]
    train_set, val = mnist_1k.subset(f.train[:96]), mnist_1k.subset(f.val[:20])
    used: list[float] = []
    step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        used.append(self.param_groups[0]["lr"])
        assert {g["lr"] for g in self.param_groups} == {used[-1]}
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    cfg = TrainConfig(epochs=2, batch_size=32, lr=0.002, lr_schedule="cosine", patience=2)
    torch.manual_seed(0)
    model = build("small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.3])
    run(model, train_set, val, cfg)
    assert used == pytest.approx([cfg.learning_rate(i, 6) for i in range(6)])
    assert used[0] == pytest.approx(0.002) and used[-1] < used[3] < used[0]


def test_the_schedule_is_in_the_card_the_key_and_the_cli():
    cfg = TrainConfig(defense="pgd", lr_schedule="cosine")
    assert training_info(cfg, 3)["lr_schedule"] == "cosine"
    assert "lr_schedule" not in RunSpec.of(defense="pgd").identity()["train"]
    assert RunSpec.of(lr_schedule="constant").key() == RunSpec.of().key()
    assert RunSpec.of(lr_schedule="cosine").key() != RunSpec.of().key()
    assert tuple(_choices("train", "--lr-schedule")) == config.LR_SCHEDULES
    parser = options.build_parser("x")
    args = parser.parse_args(["train", "--out", "m.safetensors", "--lr-schedule", "cosine"])
    assert args.lr_schedule == "cosine"
    assert parser.parse_args(["train", "--out", "m.safetensors"]).lr_schedule == "constant"
