"""The headline's verdict word: a model that misreads the image before any attack does not
"hold" (seen at 1920x1080: MobileNetV2 PGD-AT read sample 5 as a 6, and the headline said
"6 (49.9%) -> 6 (67.1%): holds" in green), and the panels' titles keep their answer whole."""

from __future__ import annotations

import torch

from fgsm_studio.core.explorer.session import AttackFrame
from fgsm_studio.gui.explorer.widgets import verdict_word, wrong_before


def _frame(pred_clean: int, pred_adv: int, label: int, target: int | None = None) -> AttackFrame:
    x, p = torch.zeros(1, 2, 2), torch.full((10,), 0.1)
    return AttackFrame(0.1, "fgsm", x, x, p, p, pred_clean, pred_adv, label, target)


def test_a_model_wrong_before_the_attack_does_not_hold():
    assert verdict_word(_frame(6, 6, label=5)) == "wrong before the attack"
    assert verdict_word(_frame(6, 9, label=5)) == "wrong before the attack"
    assert wrong_before(_frame(6, 6, label=5))


def test_right_before_the_attack_it_holds_or_is_fooled():
    assert verdict_word(_frame(5, 5, label=5)) == "holds"
    assert verdict_word(_frame(5, 3, label=5)) == "fooled"
    # no true label known: the attack aims at the clean answer, which is then the label
    assert verdict_word(_frame(6, 6, label=6)) == "holds" and not wrong_before(_frame(6, 6, 6))


def test_a_targeted_attack_says_whether_it_reached_its_target():
    assert verdict_word(_frame(6, 3, label=5, target=3)) == "target reached"
    assert verdict_word(_frame(5, 5, label=5, target=3)) == "target not reached"


def test_a_title_too_long_for_its_panel_keeps_the_answer_whole(qtbot):
    """Session 8 (seen at 1280x720 on Fashion-MNIST): the panel titles were cut in the
    middle, "Standard, attacke...nkle boot (62.1%)": the class name lost its start. The
    words before the colon are cut instead; the whole title is the tooltip."""
    from PySide6.QtGui import QFont, QFontMetrics

    from fgsm_studio.gui.explorer.panels import elided

    title = "Standard, attacked: Ankle boot (62.1%)"
    font = QFont()
    font.setPointSizeF(8)
    room = QFontMetrics(font).horizontalAdvance(title) - 25
    text, tip = elided(title, room, 8)
    assert text.endswith(": Ankle boot (62.1%)") and text.startswith("Standard")
    assert QFontMetrics(font).horizontalAdvance(text) <= room and tip == title
    assert elided(title, room + 60, 8) == (title, "")  # it fits: as it is, no tooltip
    narrow, _ = elided(title, 40, 8)  # no room even for the answer: cut in the middle
    assert QFontMetrics(font).horizontalAdvance(narrow) <= 40
