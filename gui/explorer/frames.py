"""The Explorer's frame engine: the state's session, epsilon and attack become frames.

``FrameEngine`` is the part of the Explorer that computes. A new model, image,
target, MNIST-style switch or defense gives a new ``AttackSession`` (its
gradient) and starts the epsilon sweep on the ``TaskRunner``, then, once the
sweep is done, the smallest flip (DeepFool, C&W). With Feature Squeezing on, the
session's model is the squeezed one, its detector (the threshold in the card)
flags frames, and the attacker follows either the squeezed model's own (masked)
gradient or, if it knows the defense, BPDA's; then, where that quick frame does
not fool the model, ``core.attacks.squeezing.strongest`` (BPDA-PGD with restarts,
transfer, Square) runs on the runner once per epsilon and its frame is shown
instead (``adaptive.AdaptiveAttack``). A new session, epsilon, attack, step count
or compare model schedules one frame per event-loop turn. FGSM frames use the
session's cached gradient and are computed on the GUI thread; BIM/PGD frames and
the sweep run on the runner, and an answer for a session that is no longer the
state's is dropped. The frame and the compare model's bars go into the
``ExplorerState``; the widgets draw them.

The compare model (the defended twin) is attacked with its **own** gradient by
default: its own ``AttackSession`` on the same image, its own frame beside the
main one (a defense judged on images made against another model, a transfer
attack, looks 5-50 points stronger than it is: issue 24). The "transfer" mode
shows it the main model's adversarial image instead, as a labelled option. With
the noise switch on, each frame also has the random-sign-noise baseline of the
same epsilon (``AttackSession.noise_frame``).

The sweep computes the model's (and the compare model's, under its own attack or
the transfer images) answer at every slider position (``SweepCache``), in chunks of
~0.3 s on the runner, the positions nearest the slider first, after the curve's
coarse view; a new session or compare model starts over. An FGSM frame at a filled
position then needs no forward pass (ResNet50 on digits: ~30 ms a forward, more than
a frame may take); elsewhere it costs one, as before the sweep arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

import torch
from PySide6.QtCore import QObject, QTimer, Signal
from torch import nn

from fgsm_studio.core.attacks.minimal import SmallestFlip, smallest_flip
from fgsm_studio.core.attacks.squeezing import FeatureSqueezing, for_card
from fgsm_studio.core.data.images import to_model_input
from fgsm_studio.core.explorer.opening import epsilon_scale
from fgsm_studio.core.explorer.session import AttackFrame, AttackSession
from fgsm_studio.core.explorer.sweep_cache import SweepCache

from ..workers import TaskRunner
from .adaptive import AdaptiveAttack
from .state import ExplorerState, LoadedModel

CHUNK_SECONDS = 0.3  # a sweep chunk's work: a PGD frame waits about this at most
CHUNK_IMAGES = (8, 128)  # fewest and most images a chunk: batching halves a big net's cost


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
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self._model_input = model_input
        self._scheduled = False
        self._ids = {"attack": -1, "sweep": -1, "flip": -1}
        self._main: SweepCache | None = None  # the session model's answers at the slider's places
        self._compare: SweepCache | None = None  # the compare model's (own attack or transfer)
        self._twin: AttackSession | None = None  # the compare model's own attack ("own" mode)
        self._x: torch.Tensor | None = None  # the session's model input
        self._coarse = torch.zeros(0, dtype=torch.long)  # the curve's first view (indices)
        self._per_image: dict[int, float] = {}  # seconds per image in a chunk, per model (id)
        self._started = 0.0
        self.sweep_seconds: dict[str, float] = {}  # "curve", "model", "compare": since the session
        self.adaptive = AdaptiveAttack(state, runner)  # "attacker knows it": the strongest
        self._flip_for: tuple[object, torch.Tensor] = (None, torch.empty(0))
        # the smallest flip's search, submitted once the sweep is done
        self._flip_job: tuple[AttackSession, nn.Module, torch.Tensor] | None = None
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
        state.noise_changed.connect(self.schedule)
        state.dragging_changed.connect(self._on_state_dragging_changed)
        state.compare_changed.connect(self._on_state_compare_changed)
        state.compare_mode_changed.connect(self._on_state_compare_changed)
        runner.finished.connect(self._on_finished)
        runner.failed.connect(self._on_failed)

    def _on_state_dragging_changed(self, on: bool) -> None:
        if not on:
            self.schedule()  # the release redraws what the drag skipped

    @property
    def scheduled(self) -> bool:
        return self._scheduled

    def new_session(self) -> None:
        """A new gradient for the state's model, image and target; the sweep on the worker."""
        s, card = self.state, self.state.card
        if s.model is None or s.image is None or card is None:
            return
        net, x = s.model.net, self._model_input()
        label = s.true_label(card.num_classes)
        attacker: nn.Module | None = None
        detector: Callable[[torch.Tensor], torch.Tensor] | None = None
        defended: FeatureSqueezing | None = None  # the squeezed model the attacker knows
        if s.squeezing:  # Xu et al.'s squeezer for the card's input, its calibrated threshold
            squeezed = for_card(net, card)
            attacker = squeezed.straight_through_copy() if s.adaptive else squeezed
            detector = squeezed.flags
            net = squeezed
            defended = squeezed if s.adaptive and s.target is None else None
        self.adaptive.reset(defended)
        session = AttackSession(
            net, x, label=label, target=s.target, attacker=attacker, detector=detector
        )
        scale = epsilon_scale(card.image_size)
        s.set_session(session)
        self._x = x
        self._main = SweepCache(session, scale.grid())
        self._coarse = scale.curve_indices()
        self._twin = self._twin_session(s.compare)
        self._compare = self._compare_cache(s.compare)
        self._started, self.sweep_seconds = time.perf_counter(), {}
        # The least change that flips the model the user sees: with Feature Squeezing on,
        # the squeezed one (its rounding has no gradient: DeepFool and C&W follow BPDA's,
        # and every flip is checked on the squeezed model itself). Computed once the
        # sweep is done: the slider comes first. Always untargeted (the label says so).
        flip_net = s.model.net
        if s.squeezing:
            flip_net = for_card(flip_net, card).straight_through_copy()
        key, (last_key, last_x) = (s.model.net, s.squeezing), self._flip_for
        same = key == last_key and torch.equal(x, last_x)
        if not (same and self._ids["flip"] < 0 and self._flip_job is None):
            if not same and self._ids["flip"] >= 0:
                # a search for the old image stops at its next step (it may hold the
                # one-task runner for minutes on a big network): the new sweep goes first
                self.runner.cancel("flip")
                self._ids["flip"] = -1
            self._flip_for = (key, x)
            self._flip_job = (session, flip_net, x)
            s.set_flip_size(None, computing=True)
        self._submit_chunk()  # replaces a chunk of the old session still waiting

    def _twin_session(self, compare: LoadedModel | None) -> AttackSession | None:
        """The compare model's own attack on the same image ("own" mode), else None."""
        s, x = self.state, self._x
        if compare is None or x is None or s.compare_mode != "own":
            return None
        card = compare.card
        xt = to_model_input(x, card.in_channels, card.image_size)
        label = s.true_label(card.num_classes)
        return AttackSession(compare.net, xt, label=label, target=s.target)

    def _compare_cache(self, compare: LoadedModel | None) -> SweepCache | None:
        main = self._main
        if compare is None or main is None or main.session is not self.state.session:
            return None
        if self._twin is not None:  # its answers under its own attack
            return SweepCache(self._twin, main.epsilons)
        card = compare.card

        def prepare(advs: torch.Tensor) -> torch.Tensor:  # as _show prepares one image
            return torch.stack([to_model_input(a, card.in_channels, card.image_size) for a in advs])

        return SweepCache(main.session, main.epsilons, model=compare.net, prepare=prepare)

    def _on_state_compare_changed(self) -> None:
        self._twin = self._twin_session(self.state.compare)
        self._compare = self._compare_cache(self.state.compare)
        self.sweep_seconds.pop("compare", None)
        self.schedule()
        if self._ids["sweep"] == -1:  # else the chunk under way submits the next one
            self._submit_chunk()

    def _next_chunk(self) -> tuple[SweepCache, torch.Tensor] | None:
        """The curve's coarse view first; then whichever model misses a position nearer
        the slider (the model's own first on a tie)."""
        main, eps = self._main, self.state.epsilon
        if main is None or main.session is not self.state.session:
            return None
        caches = [c for c in (main, self._compare) if c is not None and not c.complete]
        if not caches:
            return None
        coarse = main.next_chunk(1, among=self._coarse)
        cache = main if coarse.numel() else min(caches, key=lambda c: c.distance(eps))
        fewest, most = CHUNK_IMAGES
        per_image = self._per_image.get(id(cache.model), CHUNK_SECONDS / fewest)
        size = min(max(round(CHUNK_SECONDS / per_image), fewest), most)
        among = self._coarse if coarse.numel() else None
        return cache, cache.next_chunk(size, near=eps, among=among)

    def _submit_chunk(self) -> None:
        job = self._next_chunk()
        if job is None:
            self.runner.cancel("sweep")
            self._ids["sweep"] = -1
            self._submit_flip()
            return
        cache, indices = job
        owner = self.state.session  # the twin's cache has its own session: judge by the state's
        if owner is None:
            return

        def run() -> tuple[AttackSession, tuple[SweepCache, torch.Tensor, torch.Tensor, float]]:
            t0 = time.perf_counter()
            probs = cache.compute(indices)
            return owner, (cache, indices, probs, time.perf_counter() - t0)

        self._ids["sweep"] = self.runner.submit("sweep", run)

    def _submit_flip(self) -> None:
        """The smallest flip (DeepFool, C&W): seconds for a small CNN, minutes for a big one."""
        if self._flip_job is None:
            return
        session, plain, x = self._flip_job
        self._flip_job = None
        # stoppable: a search of minutes on a big network must not hold up the next image's
        # sweep (the runner does one task at a time) or the window's closing
        self._ids["flip"] = self.runner.submit_stoppable(
            "flip", lambda stop: (session, smallest_flip(plain, x, stop=stop))
        )

    def _on_chunk(self, cache: SweepCache, indices: torch.Tensor, probs, seconds: float) -> None:
        if cache is not self._main and cache is not self._compare:
            return  # the compare model changed meanwhile
        cache.fill(indices, probs)
        self._per_image[id(cache.model)] = seconds / max(1, indices.numel())
        elapsed = time.perf_counter() - self._started
        if cache is self._main and cache.complete:
            self.sweep_seconds.setdefault("curve", elapsed)
            self.sweep_seconds["model"] = elapsed
            self.state.set_sweep(cache.result())  # every position: the exact flip
        elif cache is self._main and "curve" not in self.sweep_seconds:
            if not cache.next_chunk(1, among=self._coarse).numel():
                self.sweep_seconds["curve"] = elapsed
                self.state.set_sweep(cache.result(self._coarse))
        elif cache.complete:
            self.sweep_seconds["compare"] = elapsed
        self._submit_chunk()

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
            main = self._main if self._main is not None and self._main.session is session else None
            self._show(session.frame(eps, cache=main))
        else:
            s.set_status(f"Running {attack.upper()} ({steps} steps)...")
            twin = self._twin

            def run() -> tuple[AttackSession, tuple]:
                frame = session.frame(eps, attack=attack, steps=steps)
                own = None if twin is None else twin.frame(eps, attack=attack, steps=steps)
                return session, (frame, own, twin)

            self._ids["attack"] = self.runner.submit("attack", run)

    def _twin_frame(self, frame: AttackFrame) -> AttackFrame | None:
        """The compare model's own FGSM frame at ``frame``'s epsilon: from its sweep when
        filled, the last one while the slider is held, else one forward pass."""
        twin, cache = self._twin, self._compare
        if twin is None or frame.attack not in ("fgsm", "strongest"):
            return None  # (the strongest attack is the squeezer's: the twin keeps its FGSM)
        cache = cache if cache is not None and cache.session is twin else None
        if cache is not None and cache.probs_at(frame.epsilon) is not None:
            return twin.frame(frame.epsilon, cache=cache)
        last = self.state.compare_frame
        if self.state.dragging and last is not None:
            return last  # while dragging: the release redraws it
        return twin.frame(frame.epsilon)

    def _show(self, frame: AttackFrame, twin_frame: AttackFrame | None = None) -> None:
        """``_put`` the worst of ``frame`` and the strongest attack's (``adaptive``)."""
        main = self._main
        per_image = self._per_image.get(id(main.model)) if main is not None else None
        self._put(self.adaptive.worst_of(frame, per_image), twin_frame)
        if self.adaptive.running:
            self.state.set_status("Trying the strongest attack (BPDA-PGD, transfer, Square)...")

    def _put(self, frame: AttackFrame, twin_frame: AttackFrame | None = None) -> None:
        """Put ``frame`` on screen, with the compare model's belief about its adversarial image.

        From the compare model's sweep when it has this FGSM frame's epsilon; else,
        while the slider is held, the last bars (the release redraws them); else one
        forward pass. The compare forward runs on this thread (measured: on the worker it lowers p50
        but raises p95, since the two threads then contend for the GIL and both cores).
        """
        compare, probs = self.state.compare, None
        session = self.state.session
        noise = None
        if self.state.noise and session is not None:
            noise = session.noise_frame(frame.epsilon)
        if self._twin is not None and compare is not None:  # "own": its own attack
            twin_frame = twin_frame if twin_frame is not None else self._twin_frame(frame)
            probs = None if twin_frame is None else twin_frame.probs_adv
            self.state.set_status("")
            self.state.set_frame(frame, probs, compare_frame=twin_frame, noise_frame=noise)
            self.frame_rendered.emit()
            if probs is not None:
                self.compare_shown.emit()
            return
        cached = self._compare
        if compare is not None and cached is not None and frame.attack == "fgsm":
            if cached.session is self.state.session and cached.model is compare.net:
                probs = cached.probs_at(frame.epsilon)
                compare = None if probs is not None else compare
        if compare is not None and self.state.dragging:
            probs = self.state.compare_probs  # while dragging: the release redraws it
            compare = None
        if compare is not None:
            x = to_model_input(frame.adversarial, compare.card.in_channels, compare.card.image_size)
            with torch.no_grad():
                probs = compare.net(x[None]).softmax(1)[0]
        self.state.set_status("")
        self.state.set_frame(frame, probs, noise_frame=noise)
        self.frame_rendered.emit()
        if probs is not None:
            self.compare_shown.emit()

    def _on_finished(self, channel: str, task_id: int, result: object) -> None:
        if channel == "strong":
            session, strong = cast(tuple[AttackSession, AttackFrame], result)
            if session is self.state.session and self.adaptive.take(task_id, strong):
                shown = self.state.frame
                if shown is not None and abs(shown.epsilon - strong.epsilon) < 1e-9:
                    self._show(shown)
            return
        if channel not in self._ids or task_id != self._ids[channel]:
            return  # a stale answer, or another channel's
        session, answer = cast(tuple[AttackSession, Any], result)
        if channel == "sweep":
            self._ids["sweep"] = -1
            if session is self.state.session:
                self._on_chunk(*answer)
            return
        if session is not self.state.session:
            return
        if channel == "flip":
            self._ids["flip"] = -1
            self.state.set_flip_size(answer)
            return
        self._ids["attack"] = -1
        frame, own, twin = answer
        if twin is not self._twin:
            own = None  # the compare model or its mode changed meanwhile: recomputed below
        self._show(frame, own)

    def _on_failed(self, channel: str, task_id: int, message: str, details: str) -> None:
        if channel == "flip" and task_id == self._ids[channel]:
            self._ids["flip"] = -1
            self.state.set_flip_size(SmallestFlip(None, "", None, ""))  # shown as "not found"
            return
        if channel == "strong" and task_id == self.adaptive.task:
            self.adaptive.task = -1
        elif channel in self._ids and task_id == self._ids[channel]:
            self._ids[channel] = -1
        else:
            return  # a stale answer, or another channel's
        self.state.set_status("")
        self.failed.emit(f"The {channel} computation failed: {message}")
