"""The opening screen as a pure function of the command line and the bundled models."""

from __future__ import annotations

from pathlib import Path

import torch

from fgsm_studio.core.explorer.opening import (
    DEFAULT_EPSILON,
    Opening,
    image_after_model,
    pick_sample,
    plan_opening,
)
from fgsm_studio.core.explorer.session import AttackSession
from fgsm_studio.core.models.bundled import Sample, bundled_models, samples_for
from fgsm_studio.core.models.checkpoint import load

ENTRIES = bundled_models()


def test_nothing_given_opens_the_default_model_and_picks_the_sample():
    plan = plan_opening(ENTRIES)
    assert plan == Opening(
        model=next(e.path for e in ENTRIES if e.path.name.startswith("mnist_small_cnn_standard")),
        image=None,
        epsilon=None,
        pick_sample=True,
    )


def test_any_choice_of_the_user_turns_the_pick_off():
    model, image = Path("m.safetensors"), Path("cat.png")
    assert plan_opening(ENTRIES, model=model) == Opening(model, None, None, False)
    assert plan_opening(ENTRIES, image=image).pick_sample is False
    assert plan_opening(ENTRIES, image=image).model == plan_opening(ENTRIES).model
    assert plan_opening(ENTRIES, epsilon=0.2) == Opening(
        plan_opening(ENTRIES).model, None, 0.2, False
    )


def test_no_models_at_all():
    assert plan_opening([]) == Opening(None, None, None, False)
    assert plan_opening([], image=Path("a.png")) == Opening(None, Path("a.png"), None, False)


def test_image_after_a_model_change():
    samples = [Sample(Path("a_1.png"), 1), Sample(Path("b_2.png"), 2)]
    # the first model: its first sample, unless an image is already there (dropped early)
    assert image_after_model(None, "mnist-5k", samples, has_image=False) == samples[0]
    assert image_after_model(None, "mnist-5k", samples, has_image=True) is None
    # the same dataset keeps the image; another dataset shows its own first sample
    assert image_after_model("mnist-5k", "mnist-5k", samples, has_image=True) is None
    assert image_after_model("cifar10", "mnist-5k", samples, has_image=True) == samples[0]
    assert image_after_model("cifar10", "mnist-5k", [], has_image=True) is None


def test_pick_sample_shows_a_confident_correct_sample_that_flips():
    entry = next(e for e in ENTRIES if e.path.name == "mnist_small_cnn_standard.safetensors")
    net, card = load(entry.path)
    samples = samples_for(card.dataset)
    grid = torch.linspace(0, 0.5, 101)
    sample, eps = pick_sample(net, card, samples, grid)
    from fgsm_studio.core.data.images import load_image

    session = AttackSession(net, load_image(sample.path))
    assert session.pred_clean == sample.label and session.probs_clean.max() >= 0.95
    assert 0.02 < eps <= 0.5 and session.frame(eps).flipped


def test_pick_sample_falls_back_to_the_first_sample(tmp_path):
    entry = next(e for e in ENTRIES if e.path.name == "mnist_small_cnn_standard.safetensors")
    net, card = load(entry.path)
    broken = Sample(tmp_path / "broken_3.png", 3)
    broken.path.write_bytes(b"not an image")
    assert pick_sample(net, card, [broken], torch.linspace(0, 0.5, 11)) == (
        broken,
        DEFAULT_EPSILON,
    )


def test_first_flip_is_the_full_sweeps_flip_for_every_sample():
    """The opening's early-stopping search finds what a full sweep finds (issue 24, 10)."""
    from fgsm_studio.core.data.images import load_image
    from fgsm_studio.core.explorer.opening import first_flip

    entry = next(e for e in ENTRIES if e.path.name == "mnist_small_cnn_standard.safetensors")
    net, card = load(entry.path)
    grid = torch.linspace(0, 0.5, 41)
    found = []
    for sample in samples_for(card.dataset)[:8]:
        session = AttackSession(net, load_image(sample.path))
        full = session.sweep(grid).flip_epsilon
        assert first_flip(session, grid) == full
        found.append(full)
        if full is not None:  # under a bound: only a flip below it counts
            assert first_flip(session, grid, below=full) is None
            assert first_flip(session, grid, below=full + 1e-4) == full
    assert any(f is not None for f in found) and len(set(found)) > 2
