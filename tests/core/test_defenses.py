"""core.training.defenses: each adversarial term, and training with it through TrainConfig."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fgsm_studio.core.attacks.gradient import input_gradient
from fgsm_studio.core.data.loaders import folds
from fgsm_studio.core.measure.evaluation import evaluate
from fgsm_studio.core.models.networks import build
from fgsm_studio.core.training.config import TrainConfig
from fgsm_studio.core.training.defenses import (
    DEFENSES,
    adversarial_loss,
    fgsm_rs_examples,
    trades_examples,
)
from fgsm_studio.core.training.loop import run


def _model(seed=0):
    torch.manual_seed(seed)
    return build("small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31])


def _value(loss: torch.Tensor) -> float:
    return float(loss.detach())


def test_wr_fgsm_term_is_the_papers(trained_cnn):
    model, test = trained_cnn
    x, y = test.batch(torch.arange(32))
    grad = input_gradient(model, x, y)
    expected = F.cross_entropy(model((x + 0.1 * grad.sign()).clamp(0, 1)), y)
    assert _value(adversarial_loss("wr_fgsm", model, x, y, 0.1, x_grad=grad)) == pytest.approx(
        _value(expected)
    )
    # without x_grad it computes the same gradient itself
    assert _value(adversarial_loss("wr_fgsm", model, x, y, 0.1)) == pytest.approx(_value(expected))


@pytest.mark.parametrize("defense", DEFENSES[1:])
def test_terms_are_differentiable_and_leave_the_model_as_it_was(trained_cnn, defense):
    model, test = trained_cnn
    x, y = test.batch(torch.arange(16))
    model.train()
    try:
        loss = adversarial_loss(defense, model, x, y, 0.1, steps=3)
        assert loss.ndim == 0 and loss.requires_grad and _value(loss) > 0
        assert model.training  # the attack ran in eval mode and put the flag back
        assert all(p.grad is None for p in model.parameters())
    finally:
        model.eval()


def test_stronger_terms_find_higher_loss(trained_cnn):
    model, test = trained_cnn
    x, y = test.batch(torch.arange(64))
    torch.manual_seed(0)
    fgsm = _value(adversarial_loss("wr_fgsm", model, x, y, 0.2))
    pgd = _value(adversarial_loss("pgd", model, x, y, 0.2, steps=10))
    assert pgd > fgsm
    assert _value(adversarial_loss("trades", model, x, y, 0.0, steps=2)) < 1e-3  # no room: no KL


def test_examples_stay_in_the_ball(trained_cnn):
    model, test = trained_cnn
    x, y = test.batch(torch.arange(32))
    for adv in (fgsm_rs_examples(model, x, y, 0.1), trades_examples(model, x, 0.1, steps=3)):
        assert adv.min() >= 0 and adv.max() <= 1
        assert (adv - x).abs().max() <= 0.1 + 1e-6
        assert (adv - x).abs().max() > 0.05


def test_unknown_defense_is_named():
    with pytest.raises(ValueError, match="'pgdd'"):
        TrainConfig(defense="pgdd").validate()
    with pytest.raises(ValueError, match="augment"):
        TrainConfig(augment="flip").validate()


@pytest.mark.slow
def test_pgd_training_beats_standard_under_pgd(mnist_1k):
    f = folds(mnist_1k, k=5, seed=1)[0]
    train_set, val, test = (mnist_1k.subset(i) for i in (f.train, f.val, f.test))
    results = {}
    for defense in ("none", "pgd", "trades"):
        model = _model()
        cfg = TrainConfig(
            defense=defense, a1=1.0, epochs=5, epsilon=0.2, attack_steps=3, patience=5
        )
        run(model, train_set, val, cfg)
        results[defense] = evaluate(model, test, attacks=("pgd",), epsilons=(0.2,))
    for defense in ("pgd", "trades"):
        assert results[defense].acc("pgd", 0.2) > results["none"].acc("pgd", 0.2) + 0.2


def test_augmented_training_runs_and_records_its_options(mnist_1k, tmp_path):
    from fgsm_studio.core.models.card import ModelCard
    from fgsm_studio.core.models.checkpoint import read_card

    f = folds(mnist_1k, k=5, seed=1)[0]
    train_set, val = mnist_1k.subset(f.train[:200]), mnist_1k.subset(f.val[:50])
    card = ModelCard("small_cnn", 10, [str(i) for i in range(10)], 1, 28, [0.13], [0.31])
    cfg = TrainConfig(defense="fgsm-rs", augment="auto", epochs=1, warmup_epochs=1)
    run(_model(), train_set, val, cfg, save_path=tmp_path / "m.safetensors", card=card)
    info = read_card(tmp_path / "m.safetensors").training
    assert info["defense"] == "fgsm-rs" and info["augment"] == "auto"


def test_augmentation_changes_training(mnist_1k):
    f = folds(mnist_1k, k=5, seed=1)[0]
    train_set, val = mnist_1k.subset(f.train[:200]), mnist_1k.subset(f.val[:50])
    weights = {}
    for aug in ("none", "digits"):
        model = _model()
        run(model, train_set, val, TrainConfig(augment=aug, epochs=1))
        weights[aug] = model.net.classifier[-1].weight.detach().clone()
    assert not torch.allclose(weights["none"], weights["digits"])


def test_cli_offers_every_defense_and_augmentation():
    from fgsm_studio.core import catalogue
    from fgsm_studio.core.cli import options

    from .test_cli_options import _choices

    assert tuple(_choices("train", "--defense")) == catalogue.DEFENSES
    assert tuple(_choices("train", "--augment")) == catalogue.AUGMENTS
    assert tuple(_choices("train", "--stem")) == catalogue.STEMS
    args = options.build_parser("x").parse_args(
        ["train", "--out", "m.safetensors", "--defense", "trades", "--augment", "digits"]
    )
    assert (args.defense, args.augment, args.attack_steps, args.beta) == (
        "trades",
        "digits",
        10,
        6.0,
    )


def test_any_defense_counts_as_defended_in_the_bundle(tmp_path):
    from fgsm_studio.core.models.bundled import ModelEntry, twin
    from fgsm_studio.core.models.card import ModelCard

    def entry(defense):
        card = ModelCard("small_cnn", 10, [str(i) for i in range(10)], 1, 28, [0.1], [0.3])
        card = ModelCard(
            **{**card.to_dict(), "dataset": "mnist-5k", "training": {"defense": defense}}
        )
        return ModelEntry(tmp_path / f"{defense}.safetensors", card)

    standard, pgd, trades = entry("none"), entry("pgd"), entry("trades")
    assert pgd.defended and trades.defended and not standard.defended
    assert twin(pgd, [standard, pgd, trades]) is standard


def test_bundle_shows_the_worst_case_figure(tmp_path):
    from fgsm_studio.core.models.bundled import ModelEntry, cards_markdown
    from fgsm_studio.core.models.card import ModelCard

    card = ModelCard("small_cnn", 10, [str(i) for i in range(10)], 1, 28, [0.1], [0.3])
    metrics = {
        "clean": 0.97,
        "n": 500,
        "attacks": {"fgsm": {"0.1": 0.9}, "worst-case": {"0.1": 0.85}},
    }
    training = {"defense": "pgd", "a1": 1.0, "epsilon": 0.1, "augment": "digits"}
    card = ModelCard(**{**card.to_dict(), "training": training, "metrics": metrics})
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"x")
    entry = ModelEntry(path, card)
    assert "worst case@0.1 85.0%" in entry.summary()
    row = cards_markdown([entry]).splitlines()[-3]
    assert "| PGD a1=1.0 (eps 0.1, augment digits) | 97.0 | 90.0 | - | 85.0 |" in row


def test_the_papers_defense_stays_the_standard_models_twin(tmp_path):
    import shutil

    from fgsm_studio.core.models.bundled import bundled_models, twin
    from fgsm_studio.core.models.checkpoint import read_card, save
    from fgsm_studio.core.paths import resource_path

    for name in ("mnist_small_cnn_standard", "mnist_small_cnn_wr_fgsm"):
        shutil.copy(resource_path("models", f"{name}.safetensors"), tmp_path)
    card = read_card(tmp_path / "mnist_small_cnn_wr_fgsm.safetensors")
    card.training["defense"] = "pgd"  # sorts before "standard" and "wr_fgsm" by name
    save(tmp_path / "mnist_small_cnn_pgd_eps0.1.safetensors", _model(), card)
    entries = bundled_models(tmp_path)
    standard = next(e for e in entries if not e.defended)
    assert twin(standard, entries).card.defense == "wr_fgsm"
