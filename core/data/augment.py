"""Training-time augmentation on whole batches of tensors, seeded and cheap.

Two kinds, both taking (N, C, H, W) images in [0, 1] and a ``torch.Generator``
(so a run is reproducible) and returning a new batch of the same shape in [0, 1]:

* ``digits``: how handwriting varies: a shift of a few pixels, a small rotation
  and scaling (one ``affine_grid`` + ``grid_sample`` for the whole batch), and
  stroke thickness: a 3x3 max-pool (dilation: a thicker pen) or min-pool
  (erosion: a thinner one), blended in by a random amount per image.
* ``digits-elastic``: ``digits`` followed by an elastic distortion (Simard et
  al. 2003): a random displacement field, smoothed by a Gaussian of ``sigma``
  px and scaled by ``alpha`` px, bends every stroke a little differently, as
  another hand would.
* ``photos``: the usual random crop (zero padding of ``pad`` px, then a crop back
  to the original size) and horizontal flip.

``make(name, dataset)`` returns the function a training run uses (``None`` for
``"none"``); ``"auto"`` picks ``digits`` for MNIST and ``photos`` for the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F

from ..catalogue import resolve_augment as resolve

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def thicken(images: torch.Tensor, amount: torch.Tensor | float = 1.0) -> torch.Tensor:
    """Strokes drawn with a thicker pen: blend toward a 3x3 max-pool (dilation) by ``amount``."""
    dilated = F.max_pool2d(images, 3, stride=1, padding=1)
    return images + _per_image(amount, images) * (dilated - images)


def thin(images: torch.Tensor, amount: torch.Tensor | float = 1.0) -> torch.Tensor:
    """Strokes drawn with a thinner pen: blend toward a 3x3 min-pool (erosion) by ``amount``."""
    eroded = -F.max_pool2d(-images, 3, stride=1, padding=1)
    return images + _per_image(amount, images) * (eroded - images)


def _per_image(amount: torch.Tensor | float, images: torch.Tensor) -> torch.Tensor | float:
    if isinstance(amount, torch.Tensor):
        return amount.to(images.device, images.dtype).view(-1, 1, 1, 1)
    return amount


def affine(
    images: torch.Tensor, degrees: torch.Tensor, scale: torch.Tensor, shift_px: torch.Tensor
) -> torch.Tensor:
    """Rotate by ``degrees``, scale by ``scale`` and shift by ``shift_px`` (N x 2: x, y) per image.

    Pixels that come in from outside the image are 0 (background).
    """
    n, _, h, w = images.shape
    theta = degrees.to(images) * (math.pi / 180)
    inv = 1.0 / scale.to(images)  # the grid maps output to input: the inverse transform
    cos, sin = torch.cos(theta) * inv, torch.sin(theta) * inv
    # affine_grid works in [-1, 1] units: one pixel is 2 / size.
    tx = -shift_px[:, 0].to(images) * 2 / w
    ty = -shift_px[:, 1].to(images) * 2 / h
    mat = torch.stack(
        [torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1
    )  # (N, 2, 3)
    grid = F.affine_grid(mat, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def digits(
    images: torch.Tensor,
    generator: torch.Generator,
    *,
    shift: float = 2.0,
    degrees: float = 10.0,
    scale: float = 0.1,
    stroke: float = 0.5,
) -> torch.Tensor:
    """Random shift (+-``shift`` px), rotation (+-``degrees``), scaling (1 +- ``scale``) and pen.

    ``stroke`` is the probability that an image's pen changes; a changed pen is
    thicker or thinner (even odds): blended toward a 3x3 max-pool by a uniform
    amount in [0, 1], or toward a 3x3 min-pool by one in [0, 0.5].
    """
    n = images.shape[0]
    out = affine(
        images,
        _uniform(n, -degrees, degrees, generator),
        _uniform(n, 1 - scale, 1 + scale, generator),
        torch.stack([_uniform(n, -shift, shift, generator) for _ in range(2)], 1),
    )
    amount = torch.rand(n, generator=generator) * (torch.rand(n, generator=generator) < stroke)
    thicker = torch.rand(n, generator=generator) < 0.5
    out = thicken(out, amount * thicker)
    out = thin(out, 0.5 * amount * ~thicker)  # a full 3x3 erosion wipes out a 2 px stroke
    return out.clamp(0, 1)


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    return k / k.sum()


def elastic(
    images: torch.Tensor,
    generator: torch.Generator,
    *,
    alpha: float = 34.0,
    sigma: float = 4.0,
) -> torch.Tensor:
    """Simard et al.'s elastic distortion: each pixel moves by a smoothed random field.

    The field is uniform in [-1, 1] per pixel and direction, blurred by a Gaussian
    of ``sigma`` px (separable, zero padded) and scaled by ``alpha`` px (the
    paper's MNIST values: sigma 4, alpha 34); ``alpha = 0`` returns the images.
    """
    n, _, h, w = images.shape
    field = torch.rand(n, 2, h, w, generator=generator) * 2 - 1
    k = _gaussian_kernel(sigma)
    r = len(k) // 2
    field = F.conv2d(F.pad(field, (r, r, 0, 0)), k.view(1, 1, 1, -1).expand(2, 1, 1, -1), groups=2)
    field = F.conv2d(F.pad(field, (0, 0, r, r)), k.view(1, 1, -1, 1).expand(2, 1, -1, 1), groups=2)
    field = field.to(images) * alpha  # (N, 2, H, W) in px: dx, dy
    ys, xs = torch.meshgrid(
        torch.arange(h, device=images.device, dtype=images.dtype),
        torch.arange(w, device=images.device, dtype=images.dtype),
        indexing="ij",
    )
    # grid_sample's units with align_corners=False: pixel centre i is (2 i + 1) / size - 1
    gx = (2 * (xs + field[:, 0]) + 1) / w - 1
    gy = (2 * (ys + field[:, 1]) + 1) / h - 1
    grid = torch.stack([gx, gy], -1)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.clamp(0, 1)


def digits_elastic(
    images: torch.Tensor, generator: torch.Generator, **options: Any
) -> torch.Tensor:
    """``digits`` (shift, rotation, scale, pen), then ``elastic`` (Simard et al. 2003)."""
    return elastic(digits(images, generator, **options), generator)


def photos(
    images: torch.Tensor, generator: torch.Generator, *, pad: int = 4, flip: bool = True
) -> torch.Tensor:
    """Random crop after ``pad`` px of zero padding, and a horizontal flip half of the time."""
    n, c, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(images.device)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(images.device)
    rows = oy[:, None] + torch.arange(h, device=images.device)  # (N, H)
    cols = ox[:, None] + torch.arange(w, device=images.device)  # (N, W)
    if flip:
        flipped = (torch.rand(n, generator=generator) < 0.5).to(images.device)
        cols = torch.where(flipped[:, None], cols.flip(1), cols)
    batch = torch.arange(n, device=images.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def make(name: str, dataset: str = "", **options: Any) -> Augment | None:
    """The batch function for ``name`` (``None`` for ``"none"``), with ``options`` bound."""
    kind = resolve(name, dataset)
    if kind == "none":
        return None
    fns: dict[str, Callable[..., torch.Tensor]] = {
        "digits": digits,
        "digits-elastic": digits_elastic,
        "photos": photos,
    }
    fn = fns[kind]
    return partial(fn, **options)
