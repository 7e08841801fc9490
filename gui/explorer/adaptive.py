"""The strongest attack on Feature Squeezing, when the attacker knows it: ``AdaptiveAttack``.

With Feature Squeezing on and "attacker knows it", a quick frame (the chosen attack
through BPDA's gradient) that does not fool the squeezed model is not the last word:
``core.attacks.squeezing.strongest`` (BPDA-PGD with restarts, transfer from the plain
model, Square) runs on the ``TaskRunner``, once per epsilon and session, while the
quick frame shows; the window then shows the worse of the two for the model
(``worst_of``). The same image and epsilon always give the same frame (a fixed seed).
Square's queries are fewer where a forward pass of the network is slow, so that its
share of such a frame stays about ``SQUARE_SECONDS``. The ``FrameEngine`` owns one,
resets it with each session, and hands it the runner's answers on the "strong" channel.
"""

from __future__ import annotations

import torch

from fgsm_studio.core.attacks.squeezing import FeatureSqueezing, strongest, strongest_short
from fgsm_studio.core.explorer.session import AttackFrame, AttackSession

from ..workers import TaskRunner
from .state import ExplorerState

# "attacker knows it": the strongest adaptive attack (core.attacks.squeezing.strongest) per epsilon
STRONG = dict(restarts=3, steps=40)
SQUARE_QUERIES = (100, 1000)  # fewest and most; fewer where a forward pass is slow
SQUARE_SECONDS = 5.0  # Square's share of a frame of the strongest attack, at most about this


class AdaptiveAttack:
    """The strongest attack's frames for the state's session (see the module docstring)."""

    def __init__(self, state: ExplorerState, runner: TaskRunner) -> None:
        self.state, self.runner = state, runner
        self.defended: FeatureSqueezing | None = None  # with "attacker knows it" on
        self.frames: dict[float, AttackFrame] = {}  # the strongest attack's frame per epsilon
        self.task = -1  # the runner's task id of the one being computed, -1: none

    @property
    def running(self) -> bool:
        return self.task != -1

    def reset(self, defended: FeatureSqueezing | None) -> None:
        """A new session: ``defended`` is the squeezed model the attacker knows (or None);
        the frames found for the old session go, a computation for it is dropped."""
        self.defended, self.frames = defended, {}
        self.runner.cancel("strong")
        self.task = -1

    def worst_of(self, frame: AttackFrame, per_image: float | None) -> AttackFrame:
        """The strongest attack's frame at ``frame``'s epsilon where ``frame`` does not fool
        the model (asked for on the runner if not computed yet: ``frame`` meanwhile);
        ``per_image``: seconds of a forward pass per image of the model, if measured."""
        if self.defended is None or frame.attack == "strongest" or frame.flipped:
            return frame
        strong = self.frames.get(round(frame.epsilon, 6))
        if strong is None:
            self._submit(frame.epsilon, per_image)
            return frame
        return strong

    def take(self, task_id: int, answer: AttackFrame) -> bool:
        """The runner's answer for the session on screen: kept if it is the awaited one."""
        if task_id != self.task:
            return False
        self.task = -1
        self.frames[round(answer.epsilon, 6)] = answer
        return True

    def _queries(self, per_image: float | None) -> int:
        """Square's queries: all where a forward pass is quick, fewer for a big network."""
        fewest, most = SQUARE_QUERIES
        if per_image is None:
            return most
        return int(min(max(SQUARE_SECONDS / (4 * per_image), fewest), most))  # 1 image: ~4x

    def _submit(self, eps: float, per_image: float | None) -> None:
        session, defended = self.state.session, self.defended
        if session is None or defended is None or self.state.dragging:
            return  # while dragging: the release asks again
        label = torch.tensor([session.label], device=session.device)
        options = dict(STRONG, queries=self._queries(per_image))

        def run() -> tuple[AttackSession, AttackFrame]:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)  # the same frame for the same image and epsilon
                r = strongest(defended, session.x, label, eps, **options)
            how = strongest_short(r.settings)
            return session, session.judge(eps, "strongest", r.adversarial, by=r.by[0], how=how)

        self.task = self.runner.submit("strong", run)
