"""The model card's words: the detail line names each defense (a PGD-trained model is not
"no defense"); the plain words say what was measured, never what the name promises."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fgsm_studio.core.bundled import bundled_models
from fgsm_studio.gui.model_panel import card_html, plain_words, training_words

BY_NAME = {e.path.stem: e for e in bundled_models()}


@pytest.mark.parametrize(
    ("stem", "detail"),
    [
        ("mnist_small_cnn_standard", "standard training (no defense)"),
        ("mnist_small_cnn_wr_fgsm", "WR_FGSM-defended (the paper's defense): a1="),
        ("mnist_small_cnn_pgd_eps0.1", "PGD adversarial training: 10 steps, trained at eps=0.1"),
    ],
)
def test_each_defense_is_named_in_the_detail_line(stem, detail):
    card = BY_NAME[stem].card
    assert training_words(card).startswith(detail)
    if card.defense != "none":
        assert "no defense" not in plain_words(card) + training_words(card)


def test_the_worst_case_row_is_labelled_and_its_smaller_sample_said():
    entry = BY_NAME["mnist_resnet50_wr_fgsm"]
    html = card_html(entry.card, Path(entry.path))
    assert "worst case: 0.1&nbsp;<b>" in html and "<table" not in html
    assert f"n={entry.card.metrics['robustness']['n']}" in html  # 167 of the 500


def _with(card, **metrics_or_training):
    training = metrics_or_training.pop("training", card.training)
    return dataclasses.replace(
        card, metrics={**card.metrics, **metrics_or_training}, training=training
    )


def test_plain_words_come_from_the_measured_worst_case_not_the_defense_name():
    """Issue 24, 3: the PGD-AT 0.3 card (worst case 37% at 0.3) and a WR_FGSM model
    trained at 0.3 whose PGD accuracy is 0% say what was measured."""
    pgd03 = plain_words(BY_NAME["mnist_small_cnn_pgd_eps0.3"].card)
    assert "right 71% of the time at epsilon 0.1 and 37% at 0.3" in pgd03
    assert pgd03.endswith("attacks of 0.3 fool it more often than not.")
    for entry in BY_NAME.values():
        words = plain_words(entry.card)
        assert "Trained to resist" not in words and "resists attacks up to" not in words
        assert "strongest attack measured" in words  # every bundled card has a worst case
    wr = BY_NAME["mnist_small_cnn_wr_fgsm"].card
    # a card with PGD only (the Train tab's FGSM + PGD evaluation): PGD speaks
    trained = _with(wr, attacks={"fgsm": {"0.3": 0.925}, "pgd": {"0.3": 0.0}})
    words = plain_words(trained)
    assert "Under PGD it is right 0% of the time at epsilon 0.3" in words
    assert "attacks of 0.3 fool it almost always" in words and "92" not in words
    # FGSM alone proves nothing: no sentence about resisting attacks
    fgsm_only = _with(wr, attacks={"fgsm": {"0.3": 0.925}})
    assert "how well it resists attacks is unknown" in plain_words(fgsm_only)
    holds = _with(wr, attacks={"worst-case": {"0.1": 0.9}})
    assert "attacks up to 0.1 rarely fool it" in plain_words(holds)


def test_the_only_looks_robust_warning_is_in_the_card():
    wr = BY_NAME["mnist_small_cnn_wr_fgsm"].card
    said = "This defense only looks robust: at epoch 4 the model keeps 49% ..."
    card = _with(wr, training={**wr.training, "warnings": [{"kind": "fgsm-only", "text": said}]})
    html = card_html(card, Path("mine.safetensors"))
    assert "only looks robust" in html and "&#9888;" in html
    assert "only looks robust" not in card_html(wr, Path("x.safetensors"))
