"""The Explorer's new attacks: the smallest flip beside the slider, Feature Squeezing, APGD-CE.

Driven as a user would on the bundled small CNN (the first screen's model):
the smallest-flip label shows core.attacks.minimal's value, the Squeezing switch makes
the frames come from the squeezed model (and its detector speaks in the
verdict), the "attacker knows it" switch (BPDA) flips an image the naive attack
cannot, and key 4 runs APGD-CE on the worker as core.explorer.session does.
"""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt

from fgsm_studio.core.attacks.minimal import smallest_flip
from fgsm_studio.core.attacks.squeezing import FeatureSqueezing, squeezer_for
from fgsm_studio.core.data.images import read_image, to_model_input
from fgsm_studio.core.explorer.session import AttackSession
from fgsm_studio.core.models.bundled import samples_for
from fgsm_studio.gui.minimal_size import flip_size_text


def _flip_done(explorer):
    s = explorer.state
    return s.flip_size is not None and not s.flip_computing


def test_smallest_flip_label_matches_core(explorer, qtbot):
    qtbot.waitUntil(lambda: _flip_done(explorer), timeout=60000)
    expected = smallest_flip(explorer.state.model.net, explorer.model_input())
    got = explorer.state.flip_size
    assert got.l2 == pytest.approx(expected.l2, rel=1e-4) and got.l2_by == expected.l2_by
    assert got.linf == pytest.approx(expected.linf, rel=1e-4)
    text = explorer.epsilon.flip_size.text()
    assert text.startswith("Smallest change that flips it:")
    assert f"L2 = {expected.l2:.2f} ({expected.l2_by})" in text
    assert f"L-inf = {expected.linf:.3f} ({expected.linf_by})" in text  # digits: pixel units
    # The L-inf size is a flip FGSM's epsilon range can show: no larger than the slider's end.
    assert 0 < got.linf <= 0.5 and got.l2 > got.linf
    # A new image: "computing..." at once, then the new image's size.
    with qtbot.waitSignal(explorer.state.image_changed, timeout=10000):
        explorer.step_image(1)
    assert "computing" in explorer.epsilon.flip_size.text()
    qtbot.waitUntil(lambda: _flip_done(explorer), timeout=60000)
    assert explorer.state.flip_size is not got


def test_flip_size_text_units_and_failures():
    from fgsm_studio.core.attacks.minimal import SmallestFlip

    size = SmallestFlip(l2=0.81, l2_by="C&W", linf=6 / 255, linf_by="DeepFool")
    assert flip_size_text(size, False, per_255=True) == (
        "Smallest change that flips it:\nL2 = 0.81 (C&W), L-inf = 6/255 (DeepFool)"
    )
    assert "L-inf = 0.024 (DeepFool)" in flip_size_text(size, False, per_255=False)
    assert flip_size_text(SmallestFlip(None, "", None, ""), False, per_255=False).endswith(
        "not found"
    )
    assert flip_size_text(None, False, per_255=False) == ""


def test_squeezing_switch_gives_the_squeezed_models_frames(explorer, qtbot):
    plain = explorer.state.frame
    assert plain.flagged is None and plain.flipped
    qtbot.waitUntil(lambda: _flip_done(explorer), timeout=60000)
    size = explorer.state.flip_size
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.epsilon.defense.squeezing.setChecked(True)
    # the smallest flip is now the squeezed model's (issue 24, 4), and says so
    assert explorer.state.flip_computing and explorer.state.flip_size is not size
    assert "squeezed model" in explorer.epsilon.flip_size.text()
    assert explorer.state.squeezing and explorer.epsilon.defense.adaptive.isEnabled()
    f = explorer.state.frame
    card, net = explorer.state.card, explorer.state.model.net
    squeezed = FeatureSqueezing(net, **squeezer_for(card.in_channels, card.image_size))
    qtbot.waitUntil(lambda: _flip_done(explorer), timeout=60000)
    expected_flip = smallest_flip(squeezed.straight_through_copy(), explorer.model_input())
    got = explorer.state.flip_size
    assert (got.l2, got.linf) == (
        pytest.approx(expected_flip.l2),
        pytest.approx(expected_flip.linf),
    )
    if got.linf is not None:  # a flip it reports is a flip of the squeezed model itself
        assert got.linf != pytest.approx(size.linf)
    with torch.no_grad():
        expected = squeezed(f.adversarial[None]).softmax(1)[0]
    assert torch.allclose(f.probs_adv, expected, atol=1e-6)
    assert not torch.allclose(f.probs_clean, plain.probs_clean)  # the bars see squeezed input
    # Naive: the attacker differentiates the squeezed model; rounding gives no gradient.
    assert torch.equal(f.adversarial, f.original) and not f.flipped
    assert f.flagged is not None
    said = "the detector flags it" if f.flagged else "the detector sees nothing"
    assert said in explorer.stage.headline.text()
    assert "no gradient to follow, nothing changed" in explorer.stage.detail.text()
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.epsilon.defense.squeezing.setChecked(False)
    assert explorer.state.frame.flagged is None
    assert torch.equal(explorer.state.frame.adversarial, plain.adversarial)


def _adaptive_win(net, card):
    """A sample and epsilon where BPDA-FGSM flips the squeezed model (naive cannot move)."""
    squeezed = FeatureSqueezing(net, **squeezer_for(card.in_channels, card.image_size))
    for i, sample in enumerate(samples_for(card.dataset)):
        x = to_model_input(read_image(sample.path).tensor, card.in_channels, card.image_size)
        session = AttackSession(squeezed, x, attacker=squeezed.straight_through_copy())
        flip = session.sweep(torch.arange(1, 51) / 100).flip_epsilon
        if flip is not None:
            return i, flip
    raise AssertionError("BPDA-FGSM flipped no sample of the squeezed model up to 0.5")


def test_attacker_who_knows_the_squeezer_gets_through(explorer, qtbot):
    row, eps = _adaptive_win(explorer.state.model.net, explorer.state.card)
    gallery = explorer.sidebar.gallery
    path, label = gallery.item(row).data(Qt.ItemDataRole.UserRole)
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.set_image(path, label)
    explorer.state.set_epsilon(eps)
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.epsilon.defense.squeezing.setChecked(True)
    naive = explorer.state.frame
    assert naive.epsilon == pytest.approx(eps) and not naive.flipped
    assert "holds" in explorer.stage.headline.text()
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.epsilon.defense.adaptive.setChecked(True)
    adaptive = explorer.state.frame
    assert adaptive.flipped and "fooled" in explorer.stage.headline.text()
    assert (adaptive.adversarial - adaptive.original).abs().max() <= eps + 1e-6


def test_key_4_runs_apgd_ce_on_the_worker(explorer, qtbot):
    explorer.setFocus()
    with qtbot.waitSignal(explorer.frame_rendered, timeout=60000):
        qtbot.keyClick(explorer, Qt.Key.Key_4)
    s = explorer.state
    assert s.attack == "apgd-ce" and s.frame.attack == "apgd-ce"
    assert explorer.attack.attack.currentData() == "apgd-ce" and explorer.attack.steps.isVisible()
    session = AttackSession(s.model.net, explorer.model_input())
    expected = session.frame(s.epsilon, attack="apgd-ce", steps=s.steps)
    assert torch.equal(s.frame.adversarial, expected.adversarial)
    assert "APGD-CE at epsilon" in explorer.stage.detail.text()


def test_apgd_ce_targeted_says_it_is_untargeted(explorer, qtbot):
    explorer.state.set_attack("apgd-ce")
    with qtbot.waitSignal(explorer.error_shown, timeout=60000) as shown:
        explorer.state.set_target(3)
    assert shown.args[0].endswith("APGD-CE is untargeted: untick 'targeted' or choose BIM or PGD.")


def test_verdict_says_why_nothing_changed():
    from fgsm_studio.core.explorer.session import AttackFrame
    from fgsm_studio.gui.explorer.widgets import verdict_detail

    x, p = torch.zeros(1, 2, 2), torch.tensor([0.9, 0.1])
    frame = dict(original=x, adversarial=x, probs_clean=p, probs_adv=p, pred_clean=0)
    frame.update(pred_adv=0, label=0, target=None, epsilon=0.1)
    names = ["a", "b"]
    fgsm = AttackFrame(attack="fgsm", **frame)
    assert verdict_detail(fgsm, names).endswith("no gradient to follow, nothing changed")
    apgd = AttackFrame(attack="apgd-ce", **frame)
    assert verdict_detail(apgd, names).endswith("no flip found within this epsilon")
    moved = AttackFrame(attack="fgsm", **{**frame, "adversarial": x + 0.1})
    assert verdict_detail(moved, names).endswith("the model still gives the same answer")


def test_attacker_who_knows_it_gets_the_strongest_attack(explorer, qtbot, monkeypatch):
    """With "attacker knows it", where the quick BPDA frame does not fool the squeezed model,
    the window shows what core.attacks.squeezing.strongest makes (BPDA-PGD with restarts, transfer,
    Square) at that epsilon, computed on the runner, and says what it cost on clean digits."""
    from fgsm_studio.core.attacks.squeezing import for_card, strongest
    from fgsm_studio.gui.explorer import adaptive

    monkeypatch.setattr(adaptive, "SQUARE_QUERIES", (30, 30))  # the same on any machine
    monkeypatch.setattr(adaptive, "STRONG", dict(restarts=2, steps=10))
    s = explorer.state
    s.set_epsilon(0.01)  # too small for BPDA-FGSM: the strongest attack is tried
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.epsilon.defense.squeezing.setChecked(True)
    explorer.epsilon.defense.adaptive.setChecked(True)
    qtbot.waitUntil(lambda: s.frame is not None and s.frame.attack == "strongest", timeout=120000)
    f = s.frame
    assert f.epsilon == pytest.approx(0.01)
    defended = for_card(s.model.net, s.card)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        label = torch.tensor([s.session.label])
        r = strongest(
            defended,
            explorer.model_input()[None],
            label,
            f.epsilon,
            restarts=2,
            steps=10,
            queries=30,
        )
    assert torch.equal(f.adversarial, r.adversarial[0]) and f.by == r.by[0]
    detail = explorer.stage.detail.text()
    assert "Strongest attack at epsilon 0.010" in detail
    assert "squeezed, clean 97.4% \u2192 91.6% (own digits, n=500)" in detail
    tip = explorer.epsilon.defense.squeezing.toolTip()
    assert "optdigits, n=1797, 14.3% of them flagged)" in tip  # every set, its false alarms
    assert f.flagged is not None


def test_verdict_names_the_strongest_attack_that_got_through():
    from fgsm_studio.core.explorer.session import AttackFrame
    from fgsm_studio.gui.explorer.widgets import verdict_detail

    x, p, q = torch.zeros(1, 2, 2), torch.tensor([0.9, 0.1]), torch.tensor([0.2, 0.8])
    frame = dict(original=x, adversarial=x + 0.1, probs_clean=p, pred_clean=0, label=0)
    frame.update(target=None, epsilon=0.3, attack="strongest", how="BPDA-PGD-40 (3 starts)")
    fooled = AttackFrame(probs_adv=q, pred_adv=1, by="square", **frame)
    assert verdict_detail(fooled, ["a", "b"]).endswith("Square (no gradient) fools it")
    held = AttackFrame(probs_adv=p, pred_adv=0, by="", **frame)
    assert verdict_detail(held, ["a", "b"]).endswith("holds against BPDA-PGD-40 (3 starts)")
