"""The Explorer's frame engine: the state's session, epsilon and attack become frames.

``FrameEngine`` is the part of the Explorer that computes. A new model, image,
target, MNIST-style switch or defense gives a new ``AttackSession`` (its
gradient) and starts the epsilon sweep and the smallest flip (DeepFool, C&W) on
the ``TaskRunner``; with Feature Squeezing on, the session's model is the
squeezed one, its detector flags frames, and the attacker follows either the
squeezed model's own (masked) gradient or, if it knows the defense, BPDA's; a new session, epsilon, attack,
step count or compare model schedules one frame per event-loop turn. FGSM
frames use the session's cached gradient and are computed on the GUI thread
(one forward pass); BIM/PGD frames and the sweep run on the runner, and an
answer for a session that is no longer the state's is dropped. The frame and
the compare model's bars go into the ``ExplorerState``; the widgets draw them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PySide6.QtCore import QObject, QTimer, Signal

from fgsm_studio.core.images import to_model_input
from fgsm_studio.core.minimal import SmallestFlip, smallest_flip
from fgsm_studio.core.opening import epsilon_scale
from fgsm_studio.core.session import AttackFrame, AttackSession
from fgsm_studio.core.squeezing import FeatureSqueezing, squeezer_for
from fgsm_studio.gui.explorer_state import ExplorerState
from fgsm_studio.gui.workers import TaskRunner


class FrameEngine(QObject):
    frame_rendered = Signal()
    compare_shown = Signal()  # the compare model's bars were updated
    failed = Signal(str)  # a computation on the runner failed: a sentence for the banner

    def __init__(
        self,
        state: ExplorerState,
        runner: TaskRunner,
        *,
        model_input: Callable[[], torch.Tensor],
        dragging: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self._model_input, self._dragging = model_input, dragging
        self._scheduled = False
        self._flip_for: tuple[object, torch.Tensor] = (None, torch.empty(0))
        self._ids = {"attack": -1, "sweep": -1, "flip": -1}
        for changed in (
            state.image_changed,
            state.target_changed,
            state.mnist_style_changed,
            state.defense_changed,
        ):
            changed.connect(self.new_session)
        for changed in (
            state.session_changed,
            state.epsilon_changed,
            state.attack_changed,
            state.steps_changed,
            state.compare_changed,
        ):
            changed.connect(self.schedule)
        runner.finished.connect(self._on_finished)
        runner.failed.connect(self._on_failed)

    @property
    def scheduled(self) -> bool:
        return self._scheduled

    def new_session(self) -> None:
        """A new gradient for the state's model, image and target; the sweep on the worker."""
        s = self.state
        if s.model is None or s.image is None:
            return
        net, card, x = s.model.net, s.card, self._model_input()
        label = s.true_label(card.num_classes)
        defense = {}
        if s.squeezing:
            squeezed = FeatureSqueezing(net, **squeezer_for(card.in_channels, card.image_size))
            attacker = squeezed.straight_through_copy() if s.adaptive else squeezed
            defense = dict(attacker=attacker, detector=squeezed.flags)
            net = squeezed
        session = AttackSession(net, x, label=label, target=s.target, **defense)
        grid = epsilon_scale(card.image_size).grid()
        s.set_session(session)
        self._ids["sweep"] = self.runner.submit(
            "sweep", lambda: (session, session.sweep(grid, chunk=16))
        )
        # The least change that flips the model itself (the squeezer's rounding has no gradient).
        plain, (last_net, last_x) = s.model.net, self._flip_for
        if plain is last_net and torch.equal(x, last_x) and self._ids["flip"] < 0:
            return  # the same model and image (a defense toggled): the same smallest flip
        self._flip_for = (plain, x)
        s.set_flip_size(None, computing=True)
        self._ids["flip"] = self.runner.submit("flip", lambda: (session, smallest_flip(plain, x)))

    def schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self._render)

    def _render(self) -> None:
        self._scheduled = False
        s = self.state
        session, eps, attack, steps = s.session, s.epsilon, s.attack, s.steps
        if session is None:
            return
        if attack == "fgsm":
            self.runner.cancel("attack")
            self._show(session.frame(eps))
        else:
            s.set_status(f"Running {attack.upper()} ({steps} steps)...")
            self._ids["attack"] = self.runner.submit(
                "attack", lambda: (session, session.frame(eps, attack=attack, steps=steps))
            )

    def _show(self, frame: AttackFrame) -> None:
        """Put ``frame`` on screen, with the compare model's belief about its adversarial image.

        The compare forward runs on this thread (measured: on the worker it lowers p50
        but raises p95, since the two threads then contend for the GIL and both cores).
        """
        compare, probs = self.state.compare, None
        if compare is not None and self._dragging():
            probs = self.state.compare_probs  # while dragging: the release redraws it
            compare = None
        if compare is not None:
            x = to_model_input(frame.adversarial, compare.card.in_channels, compare.card.image_size)
            with torch.no_grad():
                probs = compare.net(x[None]).softmax(1)[0]
        self.state.set_status("")
        self.state.set_frame(frame, probs)
        self.frame_rendered.emit()
        if probs is not None:
            self.compare_shown.emit()

    def _on_finished(self, channel: str, task_id: int, result: object) -> None:
        if channel not in self._ids or task_id != self._ids[channel]:
            return  # a stale answer, or another channel's
        session, answer = result
        if session is not self.state.session:
            return
        if channel == "attack":
            self._show(answer)
        elif channel == "flip":
            self._ids["flip"] = -1
            self.state.set_flip_size(answer)
        else:
            self.state.set_sweep(answer)

    def _on_failed(self, channel: str, task_id: int, message: str, details: str) -> None:
        if channel == "flip" and task_id == self._ids[channel]:
            self._ids["flip"] = -1
            self.state.set_flip_size(SmallestFlip(None, "", None, ""))  # shown as "not found"
        elif channel in self._ids and task_id == self._ids[channel]:
            self.state.set_status("")
            self.failed.emit(f"The {channel} computation failed: {message}")
