"""ExplorerState transitions: each method emits exactly what changed, once; no-ops emit nothing.

And the controls bound to it: a change made anywhere (the command line, another
widget, a test) is drawn by every control, with no slot called by hand.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from fgsm_studio.core.explorer.session import AttackSession
from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.paths import resource_path
from fgsm_studio.gui.explorer.state import ExplorerState, Image, LoadedModel

SIGNALS = (
    "model_changed",
    "compare_changed",
    "image_changed",
    "epsilon_changed",
    "attack_changed",
    "steps_changed",
    "target_changed",
    "mnist_style_changed",
    "session_changed",
    "sweep_changed",
    "frame_changed",
    "loading_changed",
    "status_changed",
    "scale_changed",
    "dragging_changed",
    "message_changed",
    "presenter_changed",
    "curve_in_presenter_changed",
    "samples_changed",
    "current_sample_changed",
    "catalogue_changed",
    "recent_changed",
)
MNIST = resource_path("models", "mnist_small_cnn_standard.safetensors")


class Spy:
    """Every signal the state emits, in order, with its arguments."""

    def __init__(self, state: ExplorerState) -> None:
        self.seen: list[tuple] = []
        for name in SIGNALS:
            getattr(state, name).connect(lambda *args, name=name: self.seen.append((name, *args)))

    def take(self) -> list[tuple]:
        seen, self.seen = self.seen, []
        return seen


@pytest.fixture
def state(qtbot):
    return ExplorerState()


@pytest.fixture(scope="module")
def mnist():
    net, card = load(MNIST)
    return LoadedModel(MNIST, net, card, MNIST)


def test_each_setter_emits_its_signal_once_and_a_repeat_emits_nothing(state, mnist):
    spy = Spy(state)
    image = Image(torch.rand(1, 28, 28), "x.png", 3)
    session = AttackSession(mnist.net, image.raw)
    frame = session.frame(0.2)
    calls = [
        (state.set_model, mnist, [("model_changed",)]),
        (state.set_compare, mnist, [("compare_changed",)]),
        (state.set_image, image, [("image_changed",)]),
        (state.set_epsilon, 0.25, [("epsilon_changed", 0.25)]),
        (state.set_attack, "pgd", [("attack_changed", "pgd")]),
        (state.set_steps, 7, [("steps_changed", 7)]),
        (state.set_target, 4, [("target_changed", 4)]),
        (state.set_mnist_style, False, [("mnist_style_changed", False)]),
        (state.set_session, session, [("session_changed",)]),
        (state.set_sweep, session.sweep([0.0, 0.1]), [("sweep_changed",)]),
        (state.set_frame, frame, [("frame_changed",)]),
        (state.set_status, "Loading...", [("status_changed", "Loading...")]),
    ]
    for setter, value, expected in calls:
        setter(value)
        assert spy.take() == expected, setter.__name__
        setter(value)  # the same value again: nothing changed, nothing said
        assert spy.take() == [], setter.__name__
    state.set_loading("model", "imagenet:resnet50")
    assert spy.take() == [("loading_changed", "model", "imagenet:resnet50")]
    state.set_loading("model", "imagenet:resnet50")
    assert spy.take() == []
    assert (state.epsilon, state.attack, state.steps, state.target) == (0.25, "pgd", 7, 4)
    assert state.frame is frame and state.session is session and state.image is image


def test_what_widgets_used_to_hold_is_state_too(state):
    """Issue 23, 4: the epsilon scale, the slider's drag, the banner's message: no widget
    is read back; this drives the state alone, with no widget made."""
    from fgsm_studio.core.explorer.opening import DIGITS, PHOTOS

    spy = Spy(state)
    assert state.scale is DIGITS and not state.dragging and state.message == ("", "error")
    state.set_scale(PHOTOS)
    state.set_scale(PHOTOS)
    state.set_dragging(True)
    state.set_dragging(True)
    state.set_dragging(False)
    state.clear_message()  # nothing shown: nothing said
    state.show_message("Saved x.png", "info")
    state.show_message("Saved x.png", "info")  # again: shown again (its time restarts)
    state.clear_message()
    assert spy.take() == [
        ("scale_changed",),
        ("dragging_changed", True),
        ("dragging_changed", False),
        ("message_changed", "Saved x.png", "info"),
        ("message_changed", "Saved x.png", "info"),
        ("message_changed", "", "info"),
    ]
    with pytest.raises(ValueError, match="unknown message kind"):
        state.show_message("x", "warning")
    assert state.scale is PHOTOS and state.message == ("", "info")


def test_presenter_mode_and_the_samples_are_state(state):
    """Presenter mode (was a flag in two classes pushed to the widgets) and the samples
    with the current one (were read back from the gallery), driven with no widget."""
    from fgsm_studio.core.models.bundled import samples_for

    spy = Spy(state)
    state.set_presenter(True)
    state.set_presenter(True)
    state.set_curve_in_presenter(True)
    assert spy.take() == [("presenter_changed", True), ("curve_in_presenter_changed", True)]
    samples = samples_for("mnist-5k")[:3]
    state.set_image(Image(torch.zeros(1, 28, 28), samples[1].path.name, 1))
    spy.take()
    state.set_samples(samples)  # the image on screen is the second of them
    state.set_samples(list(samples))
    assert spy.take() == [("samples_changed",), ("current_sample_changed", 1)]
    assert state.step_sample(1) == samples[2] and state.step_sample(1) == samples[0]
    assert state.step_sample(-1) == samples[2] and state.current_sample == 2
    assert spy.take() == [("current_sample_changed", i) for i in (2, 0, 2)]
    state.set_image(Image(torch.zeros(1, 28, 28), "drawn.png", None))  # not a sample
    assert state.current_sample == -1 and state.step_sample(-1) == samples[2]
    assert state.choose_sample(0) == samples[0]
    with pytest.raises(ValueError, match="no sample 3"):
        state.choose_sample(3)
    state.set_samples([])
    assert state.step_sample(1) is None and state.current_sample == -1


def test_the_model_list_and_the_recent_files_are_state(state, mnist):
    """The model catalogue and the Recent list (were held by the model panel)."""
    from fgsm_studio.core.models.bundled import ModelEntry, bundled_models

    spy = Spy(state)
    entries = bundled_models()
    state.set_catalogue(entries)
    state.set_catalogue(list(entries))
    opened = ModelEntry(Path("/tmp/mine.safetensors"), mnist.card)
    state.add_opened(opened)
    state.add_opened(opened)  # listed already
    state.add_opened(entries[0])  # a bundled one is listed already
    state.set_recent(["/tmp/mine.safetensors"])
    state.set_recent(("/tmp/mine.safetensors",))
    assert spy.take() == [("catalogue_changed",), ("catalogue_changed",), ("recent_changed",)]
    assert state.opened == (opened,) and state.listed(entries[0].path)
    assert state.listed("/tmp/mine.safetensors") and not state.listed("/tmp/other.safetensors")


def test_epsilon_is_clamped_and_nan_is_refused(state):
    spy = Spy(state)
    state.set_epsilon(3.0)
    state.set_epsilon(0.7)  # clamps to the same 0.5: no second signal
    state.set_epsilon(-1)
    assert spy.take() == [("epsilon_changed", 0.5), ("epsilon_changed", 0.0)]
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite"):
            state.set_epsilon(bad)
    assert state.epsilon == 0.0 and spy.take() == []


def test_bad_values_are_refused_and_change_nothing(state, mnist):
    state.set_model(mnist)
    spy = Spy(state)
    with pytest.raises(ValueError, match="unknown attack"):
        state.set_attack("cw")
    with pytest.raises(ValueError, match="not a class"):
        state.set_target(10)
    with pytest.raises(ValueError, match="nothing called"):
        state.set_loading("image", "x")
    state.set_steps(0)  # clamped to 1
    assert spy.take() == [("steps_changed", 1)] and state.attack == "fgsm" and state.target is None


def test_a_model_without_the_target_class_drops_the_target(state, mnist):
    state.set_model(mnist)
    state.set_target(7)
    spy = Spy(state)
    three = replace(mnist.card, num_classes=3, class_names=["a", "b", "c"])
    state.set_model(LoadedModel(Path("three.safetensors"), mnist.net, three, "three"))
    assert spy.take() == [("model_changed",), ("target_changed", None)]
    state.set_model(mnist)
    state.set_target(2)
    spy.take()
    state.set_model(LoadedModel(Path("three.safetensors"), mnist.net, three, "three"))
    assert spy.take() == [("model_changed",)] and state.target == 2  # class 2 exists: kept


def test_true_label_only_when_it_is_a_class_of_the_model(state):
    assert state.true_label(10) is None
    state.set_image(Image(torch.zeros(1, 28, 28), "a.png", 7))
    assert state.true_label(10) == 7 and state.true_label(5) is None


def test_controls_draw_the_state_whoever_changes_it(state, mnist, qtbot):
    from fgsm_studio.gui.explorer.controls import AttackControls, EpsilonControl

    eps, attack = EpsilonControl(state), AttackControls(state)
    qtbot.addWidget(eps)
    qtbot.addWidget(attack)
    state.set_model(mnist)
    state.set_epsilon(0.123)  # e.g. --epsilon on the command line
    assert eps.slider.value() == 123 and eps.spin.value() == pytest.approx(0.123)
    assert eps.units.text().startswith("0.123")
    state.set_target(3)  # e.g. --target: no slot to call by hand afterwards
    assert attack.targeted.isChecked() and attack.target.isEnabled()
    assert attack.target.currentData() == 3
    state.set_attack("bim")
    assert attack.attack.currentData() == "bim" and not attack.steps.isHidden()
    # And the other way: the user's edits reach the state, and only the state.
    eps.spin.setValue(0.2)
    assert state.epsilon == pytest.approx(0.2) and eps.slider.value() == 200
    attack.targeted.setChecked(False)
    assert state.target is None and not attack.target.isEnabled()
    attack.steps.setValue(25)
    assert state.steps == 25
