"""The model card's words name each defense (a PGD-trained model is not "no defense")."""

from __future__ import annotations

from pathlib import Path

import pytest

from fgsm_studio.core.bundled import bundled_models
from fgsm_studio.gui.model_panel import card_html, plain_words, training_words

BY_NAME = {e.path.stem: e for e in bundled_models()}


@pytest.mark.parametrize(
    ("stem", "words", "detail"),
    [
        ("mnist_small_cnn_standard", "no defense", "standard training (no defense)"),
        ("mnist_small_cnn_wr_fgsm", "(WR_FGSM)", "WR_FGSM-defended (the paper's defense): a1="),
        (
            "mnist_small_cnn_pgd_eps0.1",
            "(PGD)",
            "PGD adversarial training: 10 steps, trained at eps=0.1",
        ),
    ],
)
def test_each_defense_is_named_in_plain_words_and_in_the_detail_line(stem, words, detail):
    card = BY_NAME[stem].card
    assert words in plain_words(card)
    assert training_words(card).startswith(detail)
    if card.defense != "none":
        assert "no defense" not in plain_words(card) + training_words(card)


def test_the_worst_case_row_is_labelled_and_its_smaller_sample_said():
    entry = BY_NAME["mnist_resnet50_wr_fgsm"]
    html = card_html(entry.card, Path(entry.path))
    assert "worst case</td>" in html
    assert f"n={entry.card.metrics['robustness']['n']}" in html  # 167 of the 500
