"""The opening screen: which model, image and epsilon the Explorer shows first.

Pure functions, no Qt. ``plan_opening`` reads the command line's choices and the
bundled models and returns an ``Opening``: the model to load, the image to show
(or ``None``: a sample of the model's dataset), the epsilon (or ``None``: keep
the control's), and whether the sample and epsilon are to be *picked* so that the
first frame already shows the attack winning (only when the user gave neither a
model, an image nor an epsilon). ``pick_sample`` makes that pick once the model
is loaded; ``image_after_model`` says what to show when a model of another
dataset comes in; ``epsilon_scale`` gives a model's epsilon range, step, default
and units (photos flip at a few /255, small digits at tenths).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data.images import ImageError, load_image, to_model_input
from ..models.bundled import ModelEntry, Sample, default_model
from ..models.card import ModelCard
from .session import AttackSession

DEFAULT_EPSILON = 0.1
PHOTO_SIZE = 64  # inputs larger than this are photos (ImageNet): epsilon in /255 steps


@dataclass(frozen=True)
class EpsilonScale:
    """The epsilon slider of one kind of model: its range, step and default (pixel units)."""

    maximum: float
    step: float
    default: float
    per_255: bool  # shown and stepped in 1/255 units (photos)
    curve_stride: int = 1  # the curve's first view: every curve_stride-th slider position

    @property
    def positions(self) -> int:
        """How many places the slider has (0 to maximum in steps of ``step``)."""
        return round(self.maximum / self.step) + 1

    def grid(self) -> torch.Tensor:
        """Every slider position's epsilon (float64), as the slider computes it: i * step.

        The sweep computes the model's answer at each, so a frame at a slider position
        needs no forward pass (``core.explorer.sweep_cache``)."""
        return torch.arange(self.positions, dtype=torch.float64) * self.step

    def curve_indices(self) -> torch.Tensor:
        """The grid positions of the curve's first, coarser view (the last one included)."""
        picked = torch.arange(0, self.positions, self.curve_stride)
        if int(picked[-1]) != self.positions - 1:
            picked = torch.cat([picked, torch.tensor([self.positions - 1])])
        return picked


DIGITS = EpsilonScale(
    maximum=0.5, step=0.001, default=DEFAULT_EPSILON, per_255=False, curve_stride=5
)
PHOTOS = EpsilonScale(maximum=16 / 255, step=0.25 / 255, default=2 / 255, per_255=True)


def epsilon_scale(image_size: int) -> EpsilonScale:
    """Photos (ImageNet) flip at 1-4/255, so their slider spans 0-16/255 in quarter
    steps with 2/255 (invisible) by default; small images span 0-0.5 from 0.1."""
    return PHOTOS if image_size > PHOTO_SIZE else DIGITS


@dataclass(frozen=True)
class Opening:
    """What the first screen shows; ``model`` is None when there is no model at all."""

    model: Path | None
    image: Path | None
    epsilon: float | None
    pick_sample: bool


def plan_opening(
    entries: list[ModelEntry],
    *,
    model: Path | None = None,
    image: Path | None = None,
    epsilon: float | None = None,
) -> Opening:
    """The first screen for these command-line choices (each may be None)."""
    if model is None:
        entry = default_model(entries)
        chosen = entry.path if entry is not None else None
    else:
        chosen = Path(model)
    pick = model is None and image is None and epsilon is None
    return Opening(
        model=chosen,
        image=None if image is None else Path(image),
        epsilon=epsilon,
        pick_sample=pick and chosen is not None,
    )


def pick_sample(
    model: torch.nn.Module, card: ModelCard, samples: list[Sample], epsilons: torch.Tensor
) -> tuple[Sample, float]:
    """The sample the model gets right, confidently, that FGSM flips at the smallest
    epsilon (at least 0.02), and that epsilon rounded up a little; else the first
    sample at ``DEFAULT_EPSILON``."""
    if not samples:
        raise ValueError("pick_sample needs at least one sample")
    best = (samples[0], DEFAULT_EPSILON)
    smallest = 1.0
    for s in samples:
        try:
            image = to_model_input(load_image(s.path), card.in_channels, card.image_size)
        except ImageError:
            continue
        session = AttackSession(model, image)
        if s.label is not None and session.pred_clean != s.label:
            continue
        if float(session.probs_clean.max()) < 0.95:  # a confident start makes the flip convincing
            continue
        flip = first_flip(session, epsilons, below=smallest)
        if flip is not None and 0.02 <= flip < smallest:
            smallest = flip
            best = (s, min(0.5, round(flip + 0.015, 2)))
    return best


def first_flip(
    session: AttackSession, epsilons: torch.Tensor, *, below: float = math.inf, chunk: int = 16
) -> float | None:
    """The smallest of ``epsilons`` below ``below`` at which FGSM flips the session's
    model, or None: the sweep's ``flip_epsilon`` (when under ``below``), computed from the
    smallest epsilon up, ``chunk`` at a time, stopping at the first flip (the opening's
    pick needs ~4x fewer forward passes than a full sweep of every sample)."""
    eps = torch.as_tensor(epsilons, dtype=torch.float32).sort().values
    for part in eps[eps < below].split(chunk):
        flip = session.sweep_result(part, session.probs_of(part)).flip_epsilon
        if flip is not None:
            return flip
    return None


def image_after_model(
    old_dataset: str | None, new_dataset: str, samples: list[Sample], *, has_image: bool
) -> Sample | None:
    """The sample to show after a model loads, or None to keep the current image.

    A model of the same dataset keeps the image. A model of another dataset shows
    that dataset's first sample; the very first model shows it only when no image
    has been given yet (a dropped image waits for the model, and stays).
    """
    if new_dataset == old_dataset or not samples:
        return None
    if old_dataset is None and has_image:
        return None
    return samples[0]


def out_of_domain(raw: torch.Tensor, *, in_channels: int, image_size: int) -> bool:
    """Does a colour photo go to a model of small grey images (MNIST, Fashion-MNIST)?

    ``raw`` is the image as loaded, (C, H, W) in [0, 1]. Such a model answers one of
    its few classes whatever it is shown ("7 (45.2%)" for an orange); the caller
    says so. Grey images, and any image for a colour model, are in the domain.
    """
    if in_channels != 1 or image_size > PHOTO_SIZE or raw.shape[0] < 3:
        return False
    rgb = raw[:3].float()
    spread = rgb.amax(0) - rgb.amin(0)  # 0 on grey pixels
    colour = spread > 0.15
    if float(colour.float().mean()) > 0.2:
        return True
    # A colour picture on a plain background (a logo on white): little colour over the
    # whole image, but the picture itself is colour. Its content is what differs from
    # the border's colour; a pen stroke is thin and one hue, a logo is not (issue 24, 12).
    border = torch.cat([rgb[:, 0], rgb[:, -1], rgb[:, :, 0], rgb[:, :, -1]], dim=1)
    paper = border.median(dim=1).values[:, None, None]
    content = (rgb - paper).abs().amax(0) > 0.2
    share = float(content.float().mean())
    if share < 0.01:
        return False
    coloured = colour & content
    if float(coloured.sum()) < 0.5 * float(content.sum()):
        return False  # mostly grey or black ink
    hue = rgb.argmax(0)[coloured]  # the strongest channel: red, green or blue
    hues = sum(int((hue == c).sum()) >= 0.1 * hue.numel() for c in range(3))
    return hues >= 2 or share > 0.25
