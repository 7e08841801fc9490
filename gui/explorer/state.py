"""The Explorer's state, in one place: ``ExplorerState``.

Everything the Explorer shows lives here: the model under attack and its card,
the compare model, the image (its name and true label), the attack, its steps,
the target, epsilon, the MNIST-style switch, the Feature Squeezing defense (and
whether the attacker knows it), the attack session, the FGSM sweep, the smallest
flip DeepFool and C&W found, the last frame (with the compare model's belief
about it: by default the compare model attacked with its own gradient, its own
frame; or, as a labelled option, "transfer": its answer on the main model's
adversarial image), the random-noise baseline switch and its frame, what is
loading, the status line, the epsilon scale of the model's kind (the slider's range
and step), whether the slider is held, the banner's message, and presenter mode
(with the curve shown in it or not), the samples of the model's dataset and which of
them is on screen, the model catalogue (the bundled models and those opened in this
window) and the Recent list of model files. The lists (``lists.ExplorerLists``) and
how it is on screen (``screen_state.ExplorerScreen``) are its bases, each in its own
module. Nothing else holds a copy. It changes only through the ``set_*``
methods; each emits the signal of what changed, once, and only if the value
really changed (setting a value to what it already is emits nothing). Widgets
draw from these signals and send the user's intent to the methods; the
controller (``ExplorerView``) turns changes into computations (ndv's model /
controller / view split; superqt's evented models).

Qt signals on a ``QObject``, not psygnal: the state lives on the GUI thread with
the widgets it feeds, Qt is already a dependency, and results from worker
threads arrive as queued Qt signals anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from PySide6.QtCore import QObject, Signal

from fgsm_studio.core.attacks.minimal import SmallestFlip
from fgsm_studio.core.catalogue import EXPLORER_ATTACKS
from fgsm_studio.core.explorer.opening import DIGITS, EpsilonScale
from fgsm_studio.core.explorer.session import AttackFrame, AttackSession, SweepResult
from fgsm_studio.core.models.card import ModelCard

from .screen_state import ExplorerScreen

MAX_EPS = 0.5
ATTACKS = EXPLORER_ATTACKS  # core.catalogue: fgsm, bim, pgd, apgd-ce
MAX_STEPS = 200
COMPARE_MODES = ("own", "transfer")


@dataclass(frozen=True)
class LoadedModel:
    """A model in memory: where it came from (a file or ``imagenet:<arch>``) and its card."""

    path: Path
    net: torch.nn.Module
    card: ModelCard
    source: Path | str


@dataclass(frozen=True)
class Image:
    """The image under attack as loaded (any size), its name and true label (if known)."""

    raw: torch.Tensor
    name: str
    label: int | None
    notes: tuple[str, ...] = ()  # how it was read (e.g. a float image scaled by its range)


class ExplorerState(ExplorerScreen):
    """The Explorer's one state (the module's docstring). Its bases hold how it is on
    screen (``ExplorerScreen``: status, banner, presenter mode, the slider held) and what
    it offers to choose from (``ExplorerLists``: models, Recent files, samples)."""

    model_changed = Signal()
    compare_changed = Signal()
    image_changed = Signal()
    epsilon_changed = Signal(float)
    attack_changed = Signal(str)
    steps_changed = Signal(int)
    target_changed = Signal(object)  # int or None
    mnist_style_changed = Signal(bool)
    defense_changed = Signal()  # Feature Squeezing on/off, or the attacker's knowledge of it
    flip_size_changed = Signal()
    session_changed = Signal()
    sweep_changed = Signal()
    frame_changed = Signal()
    compare_mode_changed = Signal(str)  # "own" (each model its own attack) or "transfer"
    noise_changed = Signal(bool)  # the random-noise baseline shown beside the attack
    loading_changed = Signal(str, object)  # "model" or "compare", the source or None
    scale_changed = Signal()  # the epsilon slider's range and step (digits or photos)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model: LoadedModel | None = None
        self._compare: LoadedModel | None = None
        self._image: Image | None = None
        self._epsilon = 0.1
        self._attack = "fgsm"
        self._steps = 10
        self._target: int | None = None
        self._mnist_style = True
        self._squeezing = False
        self._adaptive = False
        self._flip_size: SmallestFlip | None = None
        self._flip_computing = False
        self._session: AttackSession | None = None
        self._sweep: SweepResult | None = None
        self._frame: AttackFrame | None = None
        self._compare_probs: torch.Tensor | None = None
        self._compare_frame: AttackFrame | None = None
        self._compare_mode = "own"
        self._noise = False
        self._noise_frame: AttackFrame | None = None
        self._loading: dict[str, Path | str | None] = {"model": None, "compare": None}
        self._scale = DIGITS

    # ------------------------------------------------------------------ reading
    @property
    def model(self) -> LoadedModel | None:
        return self._model

    @property
    def compare(self) -> LoadedModel | None:
        return self._compare

    @property
    def image(self) -> Image | None:
        return self._image

    @property
    def epsilon(self) -> float:
        return self._epsilon

    @property
    def attack(self) -> str:
        return self._attack

    @property
    def steps(self) -> int:
        return self._steps

    @property
    def target(self) -> int | None:
        return self._target

    @property
    def mnist_style(self) -> bool:
        return self._mnist_style

    @property
    def squeezing(self) -> bool:
        """Does the model see squeezed inputs (Feature Squeezing on)?"""
        return self._squeezing

    @property
    def adaptive(self) -> bool:
        """Does the attacker know the squeezer (BPDA gradient through it)?"""
        return self._adaptive

    @property
    def flip_size(self) -> SmallestFlip | None:
        """The smallest flip found for the session's image (None: none asked for or computing)."""
        return self._flip_size

    @property
    def flip_computing(self) -> bool:
        return self._flip_computing

    @property
    def session(self) -> AttackSession | None:
        return self._session

    @property
    def sweep(self) -> SweepResult | None:
        return self._sweep

    @property
    def frame(self) -> AttackFrame | None:
        return self._frame

    @property
    def compare_probs(self) -> torch.Tensor | None:
        return self._compare_probs

    @property
    def compare_frame(self) -> AttackFrame | None:
        """The compare model's own attacked frame ("own" mode; None in "transfer" mode)."""
        return self._compare_frame

    @property
    def compare_mode(self) -> str:
        """ "own": the compare model is attacked with its own gradient; "transfer": it is
        shown the image crafted against the model under attack."""
        return self._compare_mode

    @property
    def noise(self) -> bool:
        """Is random sign noise of the same epsilon shown beside the attack?"""
        return self._noise

    @property
    def noise_frame(self) -> AttackFrame | None:
        return self._noise_frame

    @property
    def scale(self) -> EpsilonScale:
        """The epsilon slider's range, step and default for the model's kind of input."""
        return self._scale

    @property
    def card(self) -> ModelCard | None:
        return None if self._model is None else self._model.card

    def loading(self, what: str) -> Path | str | None:
        return self._loading[what]

    def _shown_name(self) -> str | None:
        return None if self._image is None else self._image.name

    def true_label(self, num_classes: int) -> int | None:
        """The image's true class, if known and a class of a model with ``num_classes``."""
        label = None if self._image is None else self._image.label
        return label if label is not None and 0 <= label < num_classes else None

    # ------------------------------------------------------------------ changing
    def set_model(self, model: LoadedModel) -> None:
        """A new model under attack; a target it does not have is dropped."""
        if model is self._model:
            return
        self._model = model
        self.model_changed.emit()
        if self._target is not None and self._target >= model.card.num_classes:
            self.set_target(None)

    def set_compare(self, compare: LoadedModel | None) -> None:
        if compare is self._compare:
            return
        self._compare = compare
        self.compare_changed.emit()

    def set_image(self, image: Image) -> None:
        if image is self._image:
            return
        self._image = image
        self.image_changed.emit()
        self._set_current_sample(self._sample_called(image.name))

    def set_epsilon(self, epsilon: float) -> None:
        """Epsilon in pixel units, clamped to [0, MAX_EPS]; NaN and infinity are refused."""
        if not math.isfinite(epsilon):
            raise ValueError(f"epsilon must be a finite number, not {epsilon}")
        epsilon = min(max(float(epsilon), 0.0), MAX_EPS)
        if epsilon != self._epsilon:
            self._epsilon = epsilon
            self.epsilon_changed.emit(epsilon)

    def set_attack(self, attack: str) -> None:
        if attack not in ATTACKS:
            raise ValueError(f"unknown attack {attack!r}: choose one of {', '.join(ATTACKS)}")
        if attack != self._attack:
            self._attack = attack
            self.attack_changed.emit(attack)

    def set_steps(self, steps: int) -> None:
        steps = min(max(int(steps), 1), MAX_STEPS)
        if steps != self._steps:
            self._steps = steps
            self.steps_changed.emit(steps)

    def set_target(self, target: int | None) -> None:
        """The class a targeted attack aims for, or None for an untargeted attack."""
        if target is not None:
            target = int(target)
            card = self.card
            if target < 0 or (card is not None and target >= card.num_classes):
                raise ValueError(f"class {target} is not a class of this model")
        if target != self._target:
            self._target = target
            self.target_changed.emit(target)

    def set_mnist_style(self, on: bool) -> None:
        if bool(on) != self._mnist_style:
            self._mnist_style = bool(on)
            self.mnist_style_changed.emit(self._mnist_style)

    def set_defense(self, *, squeezing: bool | None = None, adaptive: bool | None = None) -> None:
        """Feature Squeezing on or off, and whether the attacker knows it (None: unchanged)."""
        new = (
            self._squeezing if squeezing is None else bool(squeezing),
            self._adaptive if adaptive is None else bool(adaptive),
        )
        if new != (self._squeezing, self._adaptive):
            self._squeezing, self._adaptive = new
            self.defense_changed.emit()

    def set_flip_size(self, size: SmallestFlip | None, *, computing: bool = False) -> None:
        """The smallest flip found (or None), and whether a new one is being computed."""
        if size is not self._flip_size or computing != self._flip_computing:
            self._flip_size, self._flip_computing = size, computing
            self.flip_size_changed.emit()

    def set_session(self, session: AttackSession | None) -> None:
        """A new attack session (its gradient); the sweep of the old one no longer applies.

        None (a new model is coming) also drops the frame: the old model's verdict is
        never shown under the new model's name."""
        if session is self._session:
            return
        self._session = session
        self.session_changed.emit()
        if session is None and self._frame is not None:
            self._frame = self._compare_probs = self._compare_frame = self._noise_frame = None
            self.frame_changed.emit()

    def set_sweep(self, sweep: SweepResult) -> None:
        if sweep is not self._sweep:
            self._sweep = sweep
            self.sweep_changed.emit()

    def set_frame(
        self,
        frame: AttackFrame,
        compare_probs: torch.Tensor | None = None,
        *,
        compare_frame: AttackFrame | None = None,
        noise_frame: AttackFrame | None = None,
    ) -> None:
        """The frame on screen, the compare model's probabilities (on its own attacked
        image ``compare_frame`` in "own" mode, else on ``frame``'s) and the noise baseline."""
        new = (frame, compare_probs, compare_frame, noise_frame)
        if all(a is b for a, b in zip(new, self._frame_parts(), strict=True)):
            return
        self._frame, self._compare_probs, self._compare_frame, self._noise_frame = new
        self.frame_changed.emit()

    def _frame_parts(self) -> tuple:
        return (self._frame, self._compare_probs, self._compare_frame, self._noise_frame)

    def set_compare_mode(self, mode: str) -> None:
        if mode not in COMPARE_MODES:
            raise ValueError(f"unknown compare mode {mode!r}: choose one of {COMPARE_MODES}")
        if mode != self._compare_mode:
            self._compare_mode = mode
            self.compare_mode_changed.emit(mode)

    def set_noise(self, on: bool) -> None:
        if bool(on) != self._noise:
            self._noise = bool(on)
            self.noise_changed.emit(self._noise)

    def set_loading(self, what: str, source: Path | str | None) -> None:
        """``source`` is being loaded as the model or the compare model (None: done)."""
        if what not in self._loading:
            raise ValueError(f"nothing called {what!r} is loaded")
        if source != self._loading[what]:
            self._loading[what] = source
            self.loading_changed.emit(what, source)

    def set_scale(self, scale: EpsilonScale) -> None:
        """The epsilon slider's range and step (the model's kind: digits or photos)."""
        if scale != self._scale:
            self._scale = scale
            self.scale_changed.emit()
