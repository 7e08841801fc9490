"""Feature Squeezing (Xu et al., 2018) as an input-side defense, and the attack that defeats it.

``FeatureSqueezing(model, bits=1, median=2)`` classifies ``squeeze(x)``: the
image with its colour depth reduced to ``bits`` bits, then a ``median`` x
``median`` median filter (Xu et al.'s MNIST setting: 1 bit, 2x2). Rounding has a
zero gradient almost everywhere, so gradient attacks on the wrapped model find
nothing to follow and the defense *looks* strong: gradient masking.

The adaptive attack is BPDA (Athalye et al., 2018, "Obfuscated gradients give a
false sense of security"): on the forward pass the squeezer runs as it is, on the
backward pass it is treated as the identity (straight-through), so PGD follows
the model's gradient at the squeezed image. ``bpda_pgd`` runs it; with
``straight_through=True`` the wrapper itself behaves this way.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from fgsm_studio.core.attacks import pgd


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


def squeeze(images: torch.Tensor, bits: int = 1, median: int = 2) -> torch.Tensor:
    return median_filter(reduce_bits(images, bits), median)


class FeatureSqueezing(nn.Module):
    """``model(squeeze(x))``; with ``straight_through`` the squeezer passes gradients unchanged."""

    def __init__(
        self, model: nn.Module, *, bits: int = 1, median: int = 2, straight_through: bool = False
    ) -> None:
        super().__init__()
        reduce_bits(torch.zeros(1), bits)  # validates bits
        self.model = model
        self.bits = bits
        self.median = median
        self.straight_through = straight_through

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = squeeze(x, self.bits, self.median)
        if self.straight_through:
            squeezed = x + (squeezed - x).detach()  # forward: squeezed; backward: identity
        return self.model(squeezed)

    @contextmanager
    def bpda(self):
        """Within this block the squeezer is straight-through (for the adaptive attack)."""
        before, self.straight_through = self.straight_through, True
        try:
            yield self
        finally:
            self.straight_through = before


def bpda_pgd(
    defended: FeatureSqueezing,
    images: torch.Tensor,
    labels: torch.Tensor,
    epsilon: float,
    *,
    steps: int = 40,
) -> torch.Tensor:
    """PGD through the squeezer with a straight-through gradient: the attack that defeats it."""
    with defended.bpda():
        return pgd(defended, images, labels, epsilon, steps=steps)
