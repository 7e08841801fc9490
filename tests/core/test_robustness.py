"""core.measure.robustness and core.attacks.squeezing: torchattacks agree with ours, the worst case, minimal flips, BPDA."""

from __future__ import annotations

import pytest
import torch
import torchattacks
from torch import nn

from fgsm_studio.core.attacks.gradient import apgd_ce, apgd_t, bim, fgsm, pgd, square
from fgsm_studio.core.attacks.minimal import cw_l2, deepfool
from fgsm_studio.core.attacks.squeezing import FeatureSqueezing, median_filter, reduce_bits
from fgsm_studio.core.measure.evaluation import WORST_CASE
from fgsm_studio.core.measure.robustness import robust_evaluate


def _acc(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def test_our_fgsm_equals_torchattacks(trained_cnn):
    model, test = trained_cnn
    x, y = test.batch(torch.arange(64))
    theirs = torchattacks.FGSM(model, eps=0.1)(x, y)
    assert torch.allclose(fgsm(model, x, y, 0.1), theirs, atol=1e-6)


def test_our_pgd_equals_torchattacks_without_random_start(trained_cnn):
    model, test = trained_cnn
    x, y = test.batch(torch.arange(64))
    theirs = torchattacks.PGD(model, eps=0.1, alpha=0.02, steps=10, random_start=False)(x, y)
    ours = bim(model, x, y, 0.1, steps=10, step_size=0.02)  # = pgd(random_start=False)
    # mean (theirs) vs summed (ours) loss: the same signs, bar float rounding on a rare pixel
    assert (ours - theirs).abs().gt(1e-5).float().mean() < 1e-3
    assert _acc(model, ours, y) == pytest.approx(_acc(model, theirs, y), abs=2 / 64)


@pytest.mark.parametrize("attack", [apgd_ce, apgd_t, square])
def test_library_attacks_stay_in_the_ball_and_hurt(fresh_cnn, attack):
    model, test = fresh_cnn
    x, y = test.batch(torch.arange(32))
    opts = {"queries": 100} if attack is square else {"steps": 10}
    adv = attack(model, x, y, 0.2, **opts)
    assert adv.min() >= 0 and adv.max() <= 1 and (adv - x).abs().max() <= 0.2 + 1e-6
    assert _acc(model, adv, y) < _acc(model, x, y) - 0.3
    assert not model.training


def test_worst_case_is_at_most_each_attack(trained_cnn):
    model, test = trained_cnn
    attacks = ("fgsm", "pgd", "apgd-ce", "apgd-t")
    res = robust_evaluate(
        model,
        test,
        epsilons=(0.05, 0.1),
        attacks=attacks,
        limit=64,
        pgd_steps=5,
        apgd_steps=5,
        targets=2,
    )
    assert res.n == 64 and set(res.attacks) == {*attacks, WORST_CASE}
    for eps in (0.05, 0.1):
        worst = res.acc(WORST_CASE, eps)
        assert all(worst <= res.acc(a, eps) for a in attacks)
        assert all(res.acc(a, eps) <= res.clean for a in attacks)
    assert res.acc(WORST_CASE, 0.1) < res.acc("fgsm", 0.1)  # stronger attacks found more
    assert res.to_dict()["attacks"][WORST_CASE]["0.1"] == res.acc(WORST_CASE, 0.1)


def test_epsilon_zero_changes_nothing(trained_cnn):
    model, test = trained_cnn
    res = robust_evaluate(
        model, test, epsilons=(0.0,), limit=64, pgd_steps=3, apgd_steps=3, targets=1
    )
    assert all(res.acc(a, 0.0) == pytest.approx(res.clean) for a in res.attacks)


def _linear(seed=0):
    """A linear 10-class model on 4x4 grey images: its nearest boundary is known exactly."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 10))
    with torch.no_grad():
        model[1].weight.mul_(0.2)
    return model.eval()


def _nearest_boundary(model, x, y):
    w, b = model[1].weight, model[1].bias
    logits = x.flatten(1) @ w.T + b
    dist = []
    for i in range(len(y)):
        gap = logits[i, y[i]] - logits[i]
        norm = (w[y[i]] - w).norm(dim=1)
        gap[y[i]], norm[y[i]] = float("inf"), 1.0
        dist.append((gap / norm).min())
    return torch.stack(dist)


def test_deepfool_finds_the_nearest_boundary_of_a_linear_model():
    model = _linear()
    x = torch.full((8, 1, 4, 4), 0.5) + 0.05 * torch.randn(8, 1, 4, 4)
    with torch.no_grad():
        y = model(x).argmax(1)
    res = deepfool(model, x, y, overshoot=0.02, quantize=False)  # the geometry, unrounded
    assert res.flipped.all()
    expected = _nearest_boundary(model, x, y)
    assert torch.allclose(res.l2, expected * 1.02, rtol=0.02)
    assert torch.allclose(res.linf, (res.adversarial - x).flatten(1).abs().amax(1))


def test_cw_is_never_smaller_than_the_nearest_boundary():
    model = _linear()
    x = torch.full((8, 1, 4, 4), 0.5) + 0.05 * torch.randn(8, 1, 4, 4)
    with torch.no_grad():
        y = model(x).argmax(1)
    res = cw_l2(model, x, y, c=10.0, steps=200, lr=0.01)
    expected = _nearest_boundary(model, x, y)
    assert res.flipped.any()
    found = res.flipped
    assert torch.all(res.l2[found] >= expected[found] * 0.999)
    assert torch.all(res.l2[found] <= expected[found] * 3)
    assert torch.isinf(res.l2[~found]).all()


def test_minimal_flips_on_a_cnn_are_real_flips(trained_cnn):
    model, test = trained_cnn
    x, y = test.batch(torch.arange(4))
    res = deepfool(model, x, y)
    with torch.no_grad():
        pred = model(res.adversarial).argmax(1)
    assert torch.equal(res.flipped, pred != y) and res.flipped.any()
    assert torch.all(res.l2[res.flipped] > 0) and torch.all(res.linf <= res.l2)


def test_squeezer_levels_and_median():
    x = torch.rand(2, 1, 8, 8)
    assert set(reduce_bits(x, 1).unique().tolist()) <= {0.0, 1.0}
    assert len(reduce_bits(x, 3).unique()) <= 8
    salt = torch.zeros(1, 1, 8, 8)
    salt[0, 0, 3, 3] = 1.0  # one speck of noise: the median removes it
    assert median_filter(salt, 3).max() == 0 and median_filter(salt, 2).max() == 0
    assert torch.equal(median_filter(x, 1), x)
    with pytest.raises(ValueError, match="bits must be 1 to 8"):
        FeatureSqueezing(nn.Identity(), bits=0)


@pytest.mark.parametrize(("bits", "drop"), [(1, 0.1), (4, 0.4)])
def test_squeezing_masks_gradients_and_bpda_defeats_it(fresh_cnn, bits, drop):
    model, test = fresh_cnn
    x, y = test.batch(torch.arange(128))
    defended = FeatureSqueezing(model, bits=bits, median=2)
    clean = _acc(defended, x, y)
    assert clean > 0.7  # the squeezed digits are still readable
    # Plain gradient attacks see zero gradient through the rounding: nothing moves.
    assert torch.equal(fgsm(defended, x, y, 0.3), x)
    adaptive = pgd(defended.straight_through_copy(), x, y, 0.3, steps=20)  # BPDA
    assert (adaptive - x).abs().max() <= 0.3 + 1e-6
    # 1 bit is a real obstacle at eps 0.3 (a pixel must cross 0.5 to change), yet it
    # gives way; 4 bits barely resist at all once the gradient goes straight through.
    assert _acc(defended, adaptive, y) < clean - drop
    assert not defended.straight_through  # the defense itself is unchanged


def test_survivors_only_attacks_count_toward_the_worst_case_alone(trained_cnn):
    model, test = trained_cnn
    common = dict(epsilons=(0.1,), limit=64, pgd_steps=3, apgd_steps=5, targets=2)
    without = robust_evaluate(model, test, attacks=("fgsm",), **common)
    cascade = robust_evaluate(model, test, attacks=("fgsm",), survivors_only=("apgd-t",), **common)
    assert set(cascade.attacks) == {"fgsm", WORST_CASE}
    assert cascade.acc("fgsm", 0.1) == without.acc("fgsm", 0.1)
    assert cascade.acc(WORST_CASE, 0.1) < without.acc(WORST_CASE, 0.1)
