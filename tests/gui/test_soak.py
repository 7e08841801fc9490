"""Long session: thousands of random user actions on the real Explorer, offscreen.

Slider moves, image and model switches, attack and target switches, in a seeded
random order. After a warm-up, resident memory must stay flat and no tensor may
be kept alive per frame. The default suite runs 300 actions (one tensor kept per
frame would leave 240 after the warm-up, the test allows 30); the long soak of 1500
is marked slow. ``FGSM_SOAK_ACTIONS`` sets its length; run with ``-s`` to see the
figures.
"""

from __future__ import annotations

import gc
import os
import random
from pathlib import Path

import pytest
import torch

LONG = int(os.environ.get("FGSM_SOAK_ACTIONS", "1500"))


def _rss_mb() -> float:
    statm = Path("/proc/self/statm")
    if not statm.exists():
        pytest.skip("needs /proc to read resident memory")
    return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _tensors() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))


@pytest.mark.parametrize(
    "actions", [pytest.param(300, id="300"), pytest.param(LONG, id="long", marks=pytest.mark.slow)]
)
def test_soak_random_actions(explorer, qtbot, actions):
    rng = random.Random(1234)
    samples = [
        explorer.sidebar.gallery.item(i).data(256) for i in range(explorer.sidebar.gallery.count())
    ]
    models = [
        e.path
        for e in explorer.entries
        if e.card.dataset == "mnist-5k" and e.card.arch == "small_cnn"
    ]
    counts: dict[str, int] = {}
    marks = {}

    def settle() -> None:
        qtbot.waitUntil(lambda: explorer.idle, timeout=60000)

    for i in range(actions):
        action = rng.choices(
            ["slider", "image", "model", "attack", "target"], weights=[80, 8, 2, 5, 5]
        )[0]
        counts[action] = counts.get(action, 0) + 1
        if action == "slider":
            explorer.epsilon.slider.setValue(rng.randrange(0, 500))
        elif action == "image":
            path, label = rng.choice(samples)
            explorer.set_image(path, label)
        elif action == "model":
            with qtbot.waitSignal(explorer.model_loaded, timeout=60000):
                explorer.load_model(rng.choice(models))
        elif action == "attack":
            explorer.state.set_attack(rng.choice(["fgsm", "fgsm", "bim"]))
            explorer.state.set_steps(rng.choice([2, 3]))
        else:
            explorer.state.set_target(rng.choice([None, rng.randrange(10)]))
        settle()
        if i + 1 in (actions // 5, actions):  # after warm-up, and at the end
            marks[i + 1] = (_rss_mb(), _tensors())
    (rss0, t0), (rss1, t1) = marks[actions // 5], marks[actions]
    print(
        f"\nsoak: {actions} actions {counts}; resident memory {rss0:.1f} -> {rss1:.1f} MB "
        f"({rss1 - rss0:+.1f} MB after warm-up); live tensors {t0} -> {t1}"
    )
    assert rss1 - rss0 < 40, "memory grows over the session"
    assert t1 - t0 < 30, "tensors are kept alive per frame"
