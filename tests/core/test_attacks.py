"""Properties of FGSM, BIM and PGD on a small CNN trained on real MNIST digits."""

from __future__ import annotations

import pytest
import torch

from fgsm_studio.core.attacks.gradient import bim, fgsm, pgd, run_attack

ATTACKS = {"fgsm": fgsm, "bim": bim, "pgd": pgd}


def _batch(test_set, n=64):
    return test_set.batch(torch.arange(n))


def _acc(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


@pytest.mark.parametrize("name", ATTACKS)
@pytest.mark.parametrize("eps", [0.03, 0.1, 0.3])
def test_adversarial_in_range_and_within_epsilon(trained_cnn, name, eps):
    model, test = trained_cnn
    x, y = _batch(test)
    adv = ATTACKS[name](model, x, y, eps)
    assert adv.shape == x.shape and not adv.requires_grad
    assert adv.min() >= 0 and adv.max() <= 1
    assert (adv - x).abs().max() <= eps + 1e-6
    assert (adv - x).abs().max() > eps / 2  # it did move


def test_per_sample_epsilon(trained_cnn):
    model, test = trained_cnn
    x, y = _batch(test, 8)
    eps = torch.linspace(0, 0.2, 8)
    adv = fgsm(model, x, y, eps)
    moved = (adv - x).flatten(1).abs().max(1).values
    assert torch.all(moved <= eps + 1e-6)
    assert moved[0] == 0


@pytest.mark.parametrize("name", ATTACKS)
def test_epsilon_zero_changes_nothing(trained_cnn, name):
    model, test = trained_cnn
    x, y = _batch(test, 16)
    assert torch.equal(ATTACKS[name](model, x, y, 0.0), x)


def test_untargeted_fgsm_lowers_accuracy(trained_cnn):
    model, test = trained_cnn
    x, y = _batch(test, 200)
    clean = _acc(model, x, y)
    assert clean > 0.8
    assert _acc(model, fgsm(model, x, y, 0.15), y) < clean - 0.2


def test_targeted_fgsm_raises_target_probability(trained_cnn):
    model, test = trained_cnn
    x, y = _batch(test, 100)
    target = (y + 1) % 10
    with torch.no_grad():
        before = model(x).softmax(1).gather(1, target[:, None])
        after = (
            model(fgsm(model, x, target, 0.1, targeted=True)).softmax(1).gather(1, target[:, None])
        )
        wrong_way = model(fgsm(model, x, target, 0.1)).softmax(1).gather(1, target[:, None])
    assert after.mean() > before.mean() * 2
    assert (after > before).float().mean() > 0.8
    assert wrong_way.mean() < after.mean()


def test_pgd_succeeds_at_least_as_often_as_fgsm(trained_cnn):
    model, test = trained_cnn
    x, y = _batch(test, 200)
    torch.manual_seed(0)
    for eps in (0.05, 0.1, 0.2):
        assert _acc(model, pgd(model, x, y, eps), y) <= _acc(model, fgsm(model, x, y, eps), y)


@pytest.mark.parametrize("name", ATTACKS)
def test_model_mode_and_gradients_untouched(trained_cnn, name):
    model, test = trained_cnn
    x, y = _batch(test, 8)
    params = list(model.parameters())
    model.train()
    model.net.classifier.eval()  # a mixed state must come back exactly
    params[0].requires_grad_(False)
    params[1].grad = torch.full_like(params[1], 7.0)
    modes = [m.training for m in model.modules()]
    try:
        run_attack(name, model, x, y, 0.1)
        assert [m.training for m in model.modules()] == modes
        assert params[0].requires_grad is False and all(p.requires_grad for p in params[1:])
        assert torch.all(params[1].grad == 7.0)
        assert all(p.grad is None for p in params[2:])
    finally:
        params[0].requires_grad_(True)
        params[1].grad = None
        model.eval()


def test_attack_runs_inside_no_grad(trained_cnn):
    model, test = trained_cnn
    x, y = _batch(test, 4)
    with torch.no_grad():
        adv = fgsm(model, x, y, 0.1)
    assert (adv - x).abs().max() > 0


def test_unknown_attack_is_refused(trained_cnn):
    model, test = trained_cnn
    x, y = _batch(test, 2)
    with pytest.raises(ValueError, match="Unknown attack"):
        run_attack("deepfool", model, x, y, 0.1)
