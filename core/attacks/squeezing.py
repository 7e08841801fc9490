"""Feature Squeezing (Xu et al., 2018) as an input-side defense, and the attack that defeats it.

``FeatureSqueezing(model, bits=1, median=2)`` classifies ``squeeze(x)``: the
image with its colour depth reduced to ``bits`` bits, then a ``median`` x
``median`` median filter (Xu et al.'s MNIST setting: 1 bit, 2x2). Rounding has a
zero gradient almost everywhere, so gradient attacks on the wrapped model find
nothing to follow and the defense *looks* strong: gradient masking.

The adaptive attack is BPDA (Athalye et al., 2018, "Obfuscated gradients give a
false sense of security"): on the forward pass the squeezer runs as it is, on the
backward pass it is treated as the identity (straight-through), so PGD follows
the model's gradient at the squeezed image. ``straight_through_copy()`` is that
attacker's view of the defense (the one way to get it): attack the copy, judge with
the original, e.g. ``pgd(defended.straight_through_copy(), x, y, eps)``.

BPDA alone is not the strongest attack on it: on other writers' digits FGSM
transferred from the plain model did as well, and Square (no gradient at all) far
better, so a BPDA figure alone still flatters the defense. ``strongest`` is the
adaptive attack the app runs and reports: per image, BPDA-PGD with random restarts,
FGSM and PGD transferred from the plain model, then Square on the images those
left standing; the first that fools the squeezed model wins (``Strongest.by``).

Detection (Xu et al.): an image is flagged when the model's answers on it and on
its squeezed copy differ by more than a threshold in L1 distance of the
probabilities (``FeatureSqueezing.l1_gap`` / ``flags``). Xu et al. set the
threshold for 5% false alarms on clean images; ``calibrate`` does the same per
model on the validation part of its own 5,000 digits (never on the other-writers
sets, which are only measured on), and ``for_card`` reads the threshold stored in
the card (``metrics["feature_squeezing"]``, written by ``fgsm-studio-cli
squeezing --update-card``); a model without one gets ``DETECT_THRESHOLD`` and says so.
``squeezer_for`` gives Xu et al.'s setting for a kind of input: 1 bit and a 2x2
median for 28 px grey digits, 5 bits and a 2x2 median otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .gradient import evaluating, fgsm, pgd, square


def reduce_bits(images: torch.Tensor, bits: int) -> torch.Tensor:
    """Round [0, 1] images to 2**bits levels (bits=1: black or white)."""
    if not 1 <= bits <= 8:
        raise ValueError(f"bits must be 1 to 8, not {bits}")
    levels = 2**bits - 1
    return torch.round(images * levels) / levels


def median_filter(images: torch.Tensor, size: int) -> torch.Tensor:
    """``size`` x ``size`` median of each pixel's neighbourhood (reflected at the edges)."""
    if size <= 1:
        return images
    n, c, h, w = images.shape
    before, after = (size - 1) // 2, size // 2  # an even window leans right/down, as scipy's
    padded = F.pad(images, (before, after, before, after), mode="reflect")
    patches = F.unfold(padded, size)  # (N, C * size * size, H * W)
    patches = patches.view(n, c, size * size, h * w)
    return patches.median(dim=2).values.view(n, c, h, w)


DETECT_THRESHOLD = 1.0  # for a model whose card has no calibrated threshold
FALSE_ALARM = 0.05  # Xu et al.'s target: 5% of clean images flagged
CARD_KEY = "feature_squeezing"  # where a card keeps the calibration and the clean cost


def squeezer_for(in_channels: int, image_size: int) -> dict[str, int]:
    """Xu et al.'s squeezer for this kind of input: ``{"bits": ..., "median": ...}``."""
    if in_channels == 1 and image_size <= 32:
        return {"bits": 1, "median": 2}
    return {"bits": 5, "median": 2}


def squeeze(images: torch.Tensor, bits: int = 1, median: int = 2) -> torch.Tensor:
    return median_filter(reduce_bits(images, bits), median)


class FeatureSqueezing(nn.Module):
    """``model(squeeze(x))``; with ``straight_through`` the squeezer passes gradients unchanged."""

    def __init__(
        self,
        model: nn.Module,
        *,
        bits: int = 1,
        median: int = 2,
        straight_through: bool = False,
        threshold: float = DETECT_THRESHOLD,
    ) -> None:
        super().__init__()
        reduce_bits(torch.zeros(1), bits)  # validates bits
        self.model = model
        self.bits = bits
        self.median = median
        self.straight_through = straight_through
        self.threshold = float(threshold)
        self.training = model.training  # the wrapper adds no train/eval behaviour of its own

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = squeeze(x, self.bits, self.median)
        if self.straight_through:
            squeezed = x + (squeezed - x).detach()  # forward: squeezed; backward: identity
        return self.model(squeezed)

    def straight_through_copy(self) -> FeatureSqueezing:
        """The same squeezer on the same model, with a straight-through gradient (BPDA)."""
        return FeatureSqueezing(
            self.model,
            bits=self.bits,
            median=self.median,
            straight_through=True,
            threshold=self.threshold,
        )

    @torch.no_grad()
    def l1_gap(self, x: torch.Tensor) -> torch.Tensor:
        """Per image: L1 distance between the model's probabilities on ``x`` and on ``squeeze(x)``."""
        with evaluating(self.model):
            plain = self.model(x).softmax(1)
            squeezed = self.model(squeeze(x, self.bits, self.median)).softmax(1)
        return (plain - squeezed).abs().sum(1)

    def flags(self, x: torch.Tensor, threshold: float | None = None) -> torch.Tensor:
        """Per image: does the detector call it adversarial (the L1 gap above the threshold,
        the squeezer's own unless one is given)?"""
        return self.l1_gap(x) > (self.threshold if threshold is None else threshold)


def gaps(squeezer: FeatureSqueezing, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """``l1_gap`` of every image, ``batch`` at a time."""
    return torch.cat([squeezer.l1_gap(images[i : i + batch]) for i in range(0, len(images), batch)])


def calibrate(
    squeezer: FeatureSqueezing, clean: torch.Tensor, false_alarm: float = FALSE_ALARM
) -> float:
    """The threshold that flags a ``false_alarm`` share of these clean images (Xu et al.):
    the (1 - false_alarm) quantile of their L1 gaps. Use images of the model's own
    distribution that it was not trained on (its validation part), never a test set."""
    if not 0 < false_alarm < 1:
        raise ValueError(f"the false-alarm rate is a fraction between 0 and 1, not {false_alarm}")
    if len(clean) == 0:
        raise ValueError("there are no clean images to calibrate the detector on")
    return float(torch.quantile(gaps(squeezer, clean).double(), 1 - false_alarm))


def calibration(card: Any) -> dict | None:
    """The card's Feature Squeezing record (threshold, where calibrated, clean cost), or None."""
    record = getattr(card, "metrics", {}).get(CARD_KEY)
    if isinstance(record, dict) and isinstance(record.get("threshold"), (int, float)):
        return record
    return None


def for_card(model: nn.Module, card: Any) -> FeatureSqueezing:
    """Xu et al.'s squeezer for this model's inputs, with the threshold its card was
    calibrated to (``DETECT_THRESHOLD`` if it has none)."""
    record = calibration(card)
    threshold = DETECT_THRESHOLD if record is None else float(record["threshold"])
    settings = squeezer_for(card.in_channels, card.image_size)
    return FeatureSqueezing(
        model, bits=settings["bits"], median=settings["median"], threshold=threshold
    )


# The strongest adaptive attack, in the order it runs (the first that fools an image wins).
STRONGEST = ("bpda-pgd", "transfer-fgsm", "transfer-pgd", "square")


@dataclass(frozen=True)
class Strongest:
    """Per image the adversarial image of the strongest attack and which one fooled it."""

    adversarial: torch.Tensor  # (N, C, H, W)
    fooled: torch.Tensor  # (N,) bool: the squeezed model is wrong on it
    by: list[str]  # per image: the attack of STRONGEST that fooled it, "" if none did
    settings: dict


def strongest(
    defended: FeatureSqueezing,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
    *,
    restarts: int = 3,
    steps: int = 40,
    queries: int = 1000,
) -> Strongest:
    """The adaptive attack on Feature Squeezing: BPDA-PGD (``steps``, ``restarts`` random
    starts), FGSM and PGD transferred from the plain model, then Square (``queries``, no
    gradient; 0: none) on the images still standing. Judged by ``defended`` itself."""
    attacker, plain = defended.straight_through_copy(), defended.model
    x, y = images.detach(), labels
    with evaluating(plain), torch.no_grad():
        adv = x.clone()
        fooled = defended(x).argmax(1) != y  # wrong clean: nothing to attack
    by = ["clean" if f else "" for f in fooled.tolist()]

    def attempt(name: str, make) -> None:
        idx = (~fooled).nonzero().flatten()
        if not len(idx):
            return
        candidate = make(x[idx], y[idx])
        with evaluating(plain), torch.no_grad():
            hit = defended(candidate).argmax(1) != y[idx]
        adv[idx] = candidate  # the last attempt stands where nothing fooled it
        fooled[idx[hit]] = True
        for i in idx[hit].tolist():
            by[i] = name

    for _ in range(restarts):
        attempt("bpda-pgd", lambda a, b: pgd(attacker, a, b, epsilon, steps=steps))
    attempt("transfer-fgsm", lambda a, b: fgsm(plain, a, b, epsilon))
    attempt("transfer-pgd", lambda a, b: pgd(plain, a, b, epsilon, steps=steps))
    if queries:
        attempt("square", lambda a, b: square(defended, a, b, epsilon, queries=queries))
    settings = dict(restarts=restarts, steps=steps, queries=queries)
    return Strongest(adv.detach(), fooled.clone(), by, settings)


def strongest_words(settings: dict) -> str:
    """What ``strongest`` ran, in words, e.g. for the window and the report."""
    words = (
        f"BPDA-PGD-{settings['steps']} ({settings['restarts']} random starts), FGSM and "
        f"PGD-{settings['steps']} transferred from the plain model"
    )
    if settings.get("queries"):
        return f"{words}, then Square ({settings['queries']} queries, no gradient)"
    return f"{words} (no Square)"


def cost_words(card: Any) -> str:
    """What squeezing costs this model on clean images, from its card, in one phrase."""
    record = calibration(card)
    if record is None:
        return (
            f"squeezing's clean cost was not measured for this model (detector threshold "
            f"{DETECT_THRESHOLD:g}, not calibrated)"
        )
    parts = []
    for name, c in record["clean"].items():
        where = "its own test digits" if name == "own" else name
        parts.append(
            f"{100 * c['squeezed']:.1f}% vs {100 * c['plain']:.1f}% on {where} (n={c['n']})"
        )
    return "squeezed, it reads " + ", ".join(parts[:2])
