"""AttackSession: the cached-gradient live attack behind the epsilon slider."""

from __future__ import annotations

import torch

from fgsm_studio.core.attacks.gradient import fgsm
from fgsm_studio.core.explorer.session import AttackSession


def test_frame_equals_fgsm(trained_cnn):
    model, test = trained_cnn
    for i in range(5):
        x, y = test[i]
        session = AttackSession(model, x, label=y)
        for eps in (0.0, 0.05, 0.2):
            frame = session.frame(eps)
            expected = fgsm(model, x[None], torch.tensor([y]), eps)[0]
            assert torch.equal(frame.adversarial, expected)
            assert torch.allclose(frame.perturbation, expected - x)
            with torch.no_grad():
                probs = model(expected[None]).softmax(1)[0]
            assert torch.allclose(frame.probs_adv, probs, atol=1e-6)
            assert frame.pred_adv == int(probs.argmax())


def test_targeted_frame_equals_targeted_fgsm(trained_cnn):
    model, test = trained_cnn
    x, y = test[3]
    target = (y + 3) % 10
    session = AttackSession(model, x, target=target)
    frame = session.frame(0.1)
    expected = fgsm(model, x[None], torch.tensor([target]), 0.1, targeted=True)[0]
    assert torch.equal(frame.adversarial, expected)
    assert frame.probs_adv[target] > frame.probs_clean[target]


def test_label_defaults_to_prediction(trained_cnn):
    model, test = trained_cnn
    x, _ = test[0]
    session = AttackSession(model, x)
    assert session.label == session.pred_clean == int(model(x[None]).argmax())


def test_sweep_matches_frames_and_finds_the_flip(trained_cnn):
    model, test = trained_cnn
    x, _ = test[1]
    session = AttackSession(model, x)
    eps = torch.linspace(0, 0.4, 41)
    sweep = session.sweep(eps)
    assert sweep.probs.shape == (41, 10)
    for i in (0, 10, 40):
        assert torch.allclose(sweep.probs[i], session.frame(float(eps[i])).probs_adv, atol=1e-5)
    assert sweep.flip_epsilon is not None
    first = int(torch.nonzero(sweep.preds != session.pred_clean)[0])
    assert sweep.flip_epsilon == float(eps[first])
    assert session.frame(sweep.flip_epsilon).flipped
    assert not session.frame(0.0).flipped


def test_bim_and_pgd_frames_stay_in_the_ball(trained_cnn):
    model, test = trained_cnn
    x, _ = test[2]
    session = AttackSession(model, x)
    for attack in ("bim", "pgd"):
        frame = session.frame(0.1, attack=attack, steps=5)
        assert frame.attack == attack
        assert frame.perturbation.abs().max() <= 0.1 + 1e-6
