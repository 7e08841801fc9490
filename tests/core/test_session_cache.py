"""SweepCache: the model's answers at the slider's positions, so a frame needs no forward.

A cached FGSM frame must be the frame computed directly (same adversarial image,
probabilities within 1e-5, same answer), for untargeted and targeted sessions and
for a second (compare) model; off the grid, and for BIM/PGD, the forward runs.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fgsm_studio.core.data.images import to_model_input
from fgsm_studio.core.explorer.opening import DIGITS, PHOTOS
from fgsm_studio.core.explorer.session import AttackSession
from fgsm_studio.core.explorer.sweep_cache import SweepCache


class Counting(torch.nn.Module):
    """Wraps a model and counts its forward passes."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net, self.calls = net, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.net(x)


def filled(session: AttackSession, grid: torch.Tensor, **kw) -> SweepCache:
    cache = SweepCache(session, grid, **kw)
    while not cache.complete:
        idx = cache.next_chunk(37, near=0.1)
        cache.fill(idx, cache.compute(idx))
    return cache


@pytest.mark.parametrize("targeted", [False, True])
def test_cached_frame_equals_a_direct_one(trained_cnn, targeted):
    model, test = trained_cnn
    counted = Counting(model).eval()
    x, y = test[4]
    session = AttackSession(counted, x, target=(y + 2) % 10 if targeted else None)
    cache = filled(session, DIGITS.grid())
    flipped = 0
    for i in range(0, DIGITS.positions, 7):
        eps = i * DIGITS.step  # what the slider sets
        counted.calls = 0
        cached = session.frame(eps, cache=cache)
        assert counted.calls == 0  # no forward pass
        direct = session.frame(eps)
        assert torch.equal(cached.adversarial, direct.adversarial)
        assert torch.allclose(cached.probs_adv, direct.probs_adv, atol=1e-5)
        assert cached.pred_adv == direct.pred_adv and cached.flipped == direct.flipped
        flipped += cached.flipped
    assert 0 < flipped  # the grid reaches epsilons where the attack wins


def test_the_sweep_result_is_the_plain_sweep(trained_cnn):
    model, test = trained_cnn
    session = AttackSession(model, test[1][0])
    cache = filled(session, DIGITS.grid())
    plain = session.sweep(DIGITS.grid())
    got = cache.result()
    assert torch.allclose(got.probs, plain.probs, atol=1e-5)
    assert got.flip_epsilon == pytest.approx(plain.flip_epsilon)
    coarse = cache.result(DIGITS.curve_indices())
    assert coarse.probs.shape == (101, 10)
    assert float(coarse.epsilons[-1]) == pytest.approx(0.5)


def test_off_grid_and_unfilled_positions_run_the_forward(trained_cnn):
    model, test = trained_cnn
    counted = Counting(model).eval()
    session = AttackSession(counted, test[0][0])
    cache = SweepCache(session, DIGITS.grid())
    idx = cache.next_chunk(5, near=0.2)
    assert [round(float(cache.epsilons[i]), 3) for i in idx] == [0.198, 0.199, 0.2, 0.201, 0.202]
    cache.fill(idx, cache.compute(idx))
    assert cache.probs_at(0.2) is not None and cache.probs_at(0.3) is None  # not filled
    assert cache.probs_at(0.2005) is None  # between two positions
    assert cache.probs_at(0.037) is None and cache.index(0.037) == 37  # typed in a spin box
    counted.calls = 0
    frame = session.frame(0.2005, cache=cache)
    assert counted.calls == 1
    assert torch.allclose(frame.probs_adv, session.frame(0.2005).probs_adv)


def test_next_chunk_covers_every_position_once_nearest_first():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    session = AttackSession(model, torch.rand(1, 2, 2))
    cache = SweepCache(session, PHOTOS.grid())
    seen: list[int] = []
    near = float(PHOTOS.grid()[10])
    while not cache.complete:
        idx = cache.next_chunk(4, near=near)
        seen += idx.tolist()
        cache.fill(idx, cache.compute(idx))
    assert sorted(seen) == list(range(PHOTOS.positions))
    assert sorted(seen[:4]) == [8, 9, 10, 11] or sorted(seen[:4]) == [9, 10, 11, 12]
    assert cache.next_chunk(4).numel() == 0 and cache.distance(0.0) == float("inf")


def test_a_compare_model_cache_equals_its_direct_answer(trained_cnn):
    model, test = trained_cnn
    torch.manual_seed(1)
    other = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32 * 32, 10)).eval()

    def prepare(advs: torch.Tensor) -> torch.Tensor:  # a model of 32 px images
        return torch.stack([to_model_input(a, 1, 32) for a in advs])

    session = AttackSession(model, test[2][0])
    cache = filled(session, DIGITS.grid(), model=other, prepare=prepare)
    for eps in (0.0, 0.05, 0.3):
        adv = session.frame(eps).adversarial
        with torch.no_grad():
            direct = F.softmax(other(to_model_input(adv, 1, 32)[None]), dim=1)[0]
        assert torch.allclose(cache.probs_at(eps), direct, atol=1e-5)
    with pytest.raises(ValueError, match="another session or model"):
        session.frame(0.1, cache=cache)  # the compare model's answers are not the model's


def test_bim_and_pgd_ignore_the_cache(trained_cnn):
    model, test = trained_cnn
    session = AttackSession(model, test[3][0])
    cache = filled(session, PHOTOS.grid())
    for attack in ("bim", "pgd"):
        torch.manual_seed(0)
        with_cache = session.frame(0.05, attack=attack, steps=3, cache=cache)
        torch.manual_seed(0)
        plain = session.frame(0.05, attack=attack, steps=3)
        assert torch.equal(with_cache.adversarial, plain.adversarial)
        assert torch.allclose(with_cache.probs_adv, plain.probs_adv)


def test_another_sessions_cache_is_refused(trained_cnn):
    model, test = trained_cnn
    a, b = AttackSession(model, test[0][0]), AttackSession(model, test[1][0])
    with pytest.raises(ValueError, match="another session"):
        b.frame(0.1, cache=SweepCache(a, DIGITS.grid()))
    with pytest.raises(ValueError, match="increasing order"):
        SweepCache(a, torch.tensor([0.2, 0.1]))


def test_the_grid_is_the_sliders_positions():
    for scale in (DIGITS, PHOTOS):
        grid = scale.grid()
        assert grid.dtype == torch.float64 and grid.numel() == scale.positions
        assert all(float(grid[i]) == i * scale.step for i in range(scale.positions))
        assert float(grid[-1]) == pytest.approx(scale.maximum)
    assert DIGITS.positions == 501 and PHOTOS.positions == 65
    coarse = DIGITS.curve_indices()
    assert coarse.numel() == 101 and int(coarse[-1]) == 500 and int(coarse[1]) == 5
    assert PHOTOS.curve_indices().tolist() == list(range(65))
