"""Issue 13.12 on the real Explorer: once the sweep is in, a slider move needs no forward.

The sweep fills the model's and the compare model's answers at every slider
position; the frames drawn from them must be the frames computed directly, for
FGSM (untargeted and targeted), and BIM/PGD and a new compare model must still
work. A new image stops the old image's sweep. Speed itself is measured in
``benchmarks/bench_explorer.py``, not here.
"""

from __future__ import annotations

import torch

from fgsm_studio.core.data.images import to_model_input
from fgsm_studio.core.explorer.sweep_cache import SweepCache
from fgsm_studio.core.models.bundled import samples_for


def wait_cached(explorer, qtbot):
    """Until the model's and the compare model's answers are in at every position."""
    frames = explorer.frames
    qtbot.waitUntil(
        lambda: explorer.idle and {"model", "compare"} <= frames.sweep_seconds.keys(),
        timeout=60000,
    )


def count_forwards(*nets):
    calls = []
    for net in nets:
        net.register_forward_hook(lambda *_: calls.append(1))
    return calls


def direct(net, card, adversarial):
    with torch.no_grad():
        return net(to_model_input(adversarial, card.in_channels, card.image_size)[None]).softmax(1)[
            0
        ]


def check_against_direct(explorer):
    s = explorer.state
    frame = s.frame
    assert torch.allclose(
        frame.probs_adv, direct(s.model.net, s.card, frame.adversarial), atol=1e-5
    )
    # the compare model's answer on its own attacked image (issue 24, 1)
    own = s.compare_frame
    assert own is not None and own.epsilon == frame.epsilon and own.attack == frame.attack
    expected = direct(s.compare.net, s.compare.card, own.adversarial)
    assert torch.allclose(s.compare_probs, expected, atol=1e-5)
    assert int(s.compare_probs.argmax()) == int(expected.argmax())


def move(explorer, qtbot, value):
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.epsilon.slider.setValue(value)


def test_after_the_sweep_a_drag_and_its_release_need_no_forward(explorer, qtbot):
    wait_cached(explorer, qtbot)
    s, slider = explorer.state, explorer.epsilon.slider
    calls = count_forwards(s.model.net, s.compare.net)
    slider.setSliderDown(True)
    for value in (3, 77, 150, 222, 499):
        move(explorer, qtbot, value)
    slider.setSliderDown(False)
    move(explorer, qtbot, 320)  # a settled frame: the compare model's bars are its own
    assert calls == []
    assert s.frame.epsilon == 320 * explorer.state.scale.step
    check_against_direct(explorer)
    assert len(s.sweep.epsilons) == 501  # the curve's points: every slider position


def test_targeted_and_bim_frames_stay_true(explorer, qtbot):
    s = explorer.state
    s.set_target((s.frame.pred_clean + 1) % 10)
    wait_cached(explorer, qtbot)
    move(explorer, qtbot, 180)
    assert s.frame.target == s.target
    check_against_direct(explorer)
    with qtbot.waitSignal(explorer.frame_rendered, timeout=20000):
        s.set_attack("bim")
    assert s.frame.attack == "bim" and s.frame.epsilon == 180 * explorer.state.scale.step
    check_against_direct(explorer)  # computed for the BIM image, not taken from the sweep


def test_a_new_compare_model_gets_its_own_answers(explorer, qtbot):
    wait_cached(explorer, qtbot)
    s = explorer.state
    other = next(
        e for e in explorer.entries if e.card.dataset == "mnist-5k" and "pgd" in e.path.name
    )
    with qtbot.waitSignal(s.compare_changed, timeout=30000):
        explorer.load_compare(other.path)
    assert "compare" not in explorer.frames.sweep_seconds
    wait_cached(explorer, qtbot)
    calls = count_forwards(s.compare.net)
    move(explorer, qtbot, 260)
    assert calls == []
    check_against_direct(explorer)


def test_a_new_image_stops_the_old_images_sweep(explorer, qtbot, monkeypatch):
    computed = []
    real = SweepCache.compute

    def compute(cache, indices):
        computed.append(cache.session)
        return real(cache, indices)

    monkeypatch.setattr(SweepCache, "compute", compute)
    sample = samples_for("mnist-5k")[5]
    with qtbot.waitSignal(explorer.state.session_changed, timeout=10000):
        explorer.set_image(sample.path, sample.label)
    old = explorer.state.session
    with qtbot.waitSignal(explorer.state.session_changed, timeout=10000):
        explorer.set_image(samples_for("mnist-5k")[6].path, samples_for("mnist-5k")[6].label)
    after = len(computed)
    wait_cached(explorer, qtbot)
    assert computed[after:].count(old) <= 1  # at most the chunk under way when it changed
    new = explorer.state.session
    assert explorer.frames._main.session is new and explorer.frames._main.complete
    expected = new.sweep(explorer.state.scale.grid()).probs
    assert torch.allclose(explorer.state.sweep.probs, expected, atol=1e-5)


def test_the_perturbation_colours_are_the_exact_map_to_within_one_level():
    import numpy as np

    from fgsm_studio.gui.explorer.panels import diverging

    torch.manual_seed(0)
    p = (torch.rand(3, 40, 40) * 2 - 1) * 0.05
    p[:, 0, :3] = torch.tensor([0.0, 0.05, -0.05])[None]  # white, full red, full blue
    got = diverging(p, 0.05).astype(int)
    t = np.clip(p.mean(0).numpy().astype(np.float64) / 0.05, -1, 1)[..., None]
    red, blue = np.array([0.84, 0.15, 0.16]), np.array([0.12, 0.47, 0.71])
    exact = np.where(t >= 0, 1 + t * (red - 1), 1 - t * (blue - 1)) * 255
    assert got.shape == (40, 40, 3) and np.abs(got - exact).max() <= 1
    assert got[0, :3].tolist() == [[255, 255, 255], [214, 38, 41], [31, 120, 181]]
