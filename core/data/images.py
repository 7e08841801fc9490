"""Image files in, validated float tensors out.

``load_image`` turns a path or raw bytes into a (C, H, W) float32 tensor in
[0, 1] with C = 1 (grey) or 3 (RGB): PNG, JPEG, BMP, GIF (first frame), WebP
and TIFF; 8- and 16-bit; grey, RGB, RGBA, palette and CMYK. Transparent pixels
are composited on **white** by default (``background="black"`` for the other
choice), because a transparent sticker or a drawn digit is meant to be seen on
paper. EXIF orientation is applied. Anything that cannot be read raises
``ImageError`` with a sentence a non-programmer understands. Files are read and
handed to Pillow by ``core.data.image_files`` (regular files only, a decoder
allow-list, bombs and forged headers refused before decoding). An image far
larger than any model's input is decoded reduced (Pillow's ``draft`` for JPEG,
which scales in the DCT) and then reduced to ``MAX_WORK_SIDE`` on its longer
side, so the float tensor never holds more than ~50 MB. Float and 32-bit
images are scaled by their own range; ``read_image`` returns a note saying so.

``to_model_input`` then makes the image what a model expects: the right number
of channels (grey -> RGB by copying; RGB -> grey by ITU-R 601 luma) and the
right size. The size policy is **centre-crop** by default (the ImageNet
convention: keep the middle square, lose the edges of long images) or
``fit="pad"`` (keep everything, fill the margins with the mean colour of the
image's border so the padding looks like background).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from .image_files import (
    FORMATS,
    MAX_FILE_BYTES,
    MAX_PIXELS,
    SUPPORTED,
    ImageError,
    Source,
    bomb,
    display_name,
    open_image,
    quiet_pillow,
    read_regular_file,
    read_source,
    text_bomb,
    text_too_large,
)

# Four times the largest model input (512 px) on the longer side: the image keeps all
# the detail any model sees, and its float tensor stays under 50 MB.
MAX_WORK_SIDE = 2048

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "SUPPORTED",
    "ImageError",
    "LoadedImage",
    "display_name",
    "load_image",
    "read_image",
    "read_regular_file",
    "to_channels",
    "to_mnist_style",
    "to_model_input",
]


def _to_array(img: Image.Image, background: float, notes: list[str]) -> np.ndarray:
    """Decoded PIL image -> float32 array (H, W, C) in [0, 1], C in {1, 3}."""
    mode = img.mode
    if mode in ("1", "L"):
        return np.asarray(img.convert("L"), dtype=np.float32)[..., None] / 255.0
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _scale_wide(np.asarray(img, dtype=np.float64), mode, notes)[..., None]
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode in ("LA", "La", "PA"):
        img = img.convert("LA")
    elif mode in ("RGBa",):
        img = img.convert("RGBA")
    elif mode not in ("RGB", "RGBA", "LA"):
        try:
            img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX, ...
        except ValueError:
            raise ImageError(f"This image's colour mode ({mode}) is not supported.") from None
    arr = np.asarray(img, dtype=np.float32) / 255.0
    if img.mode in ("RGBA", "LA"):
        alpha = arr[..., -1:]
        arr = arr[..., :-1] * alpha + background * (1.0 - alpha)
    return arr if arr.ndim == 3 else arr[..., None]


def _scale_wide(arr: np.ndarray, mode: str, notes: list[str]) -> np.ndarray:
    """16-bit, 32-bit integer and float images -> [0, 1].

    16-bit images use their full range (0-65535). Float and 32-bit integer
    images have no fixed range: values already in [0, 1] are kept; otherwise the
    image is scaled by its own minimum and maximum, and ``notes`` says so. A
    NaN or infinite pixel has no brightness, so such an image is refused.
    """
    if not np.isfinite(arr).all():
        bad = int(arr.size - np.isfinite(arr).sum())
        raise ImageError(
            f"This image has {bad} pixel(s) that are not numbers (NaN or infinity), "
            "so it cannot be shown or classified."
        )
    if mode.startswith("I;16"):
        return (arr / 65535.0).astype(np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    if lo >= 0.0 and hi <= 1.0 and mode == "F":
        return arr.astype(np.float32)
    if hi > lo:
        notes.append(
            f"This {'float' if mode == 'F' else '32-bit'} image's values run from {lo:g} to "
            f"{hi:g}; they were scaled to 0-1 by that range."
        )
        return ((arr - lo) / (hi - lo)).astype(np.float32)
    notes.append(f"Every pixel of this image has the value {lo:g}; it is shown as mid-grey.")
    return np.full(arr.shape, 0.5, dtype=np.float32)


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image and what the user should be told about how it was read."""

    tensor: torch.Tensor  # (C, H, W) float32 in [0, 1]
    notes: tuple[str, ...] = ()


def load_image(source: Source, *, background: Literal["white", "black"] = "white") -> torch.Tensor:
    """Read an image file (path or bytes) into a (C, H, W) float32 tensor in [0, 1].

    Raises ``ImageError`` for anything unusable: missing, empty, truncated,
    not an image, an unsupported mode, or more than ``MAX_PIXELS`` pixels.
    ``read_image`` does the same and also returns notes for the user.
    """
    return read_image(source, background=background).tensor


def read_image(source: Source, *, background: Literal["white", "black"] = "white") -> LoadedImage:
    """``load_image`` plus notes (e.g. how a float image was scaled) to show the user."""
    data, name = read_source(source)
    img = open_image(data, name)
    try:
        with quiet_pillow():
            img.seek(0)  # first frame of an animated GIF / WebP / multi-page TIFF
            _draft(img)
            img.load()
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise bomb(name, img.size) from None
    except Exception as exc:  # noqa: BLE001 (OSError, SyntaxError, EOFError, zlib.error, ...)
        if text_bomb(exc):  # text chunks after the image data are read by load()
            raise text_too_large(name) from None
        raise ImageError(
            f"{name} is damaged or incomplete and cannot be decoded ({exc})."[:300]
        ) from None
    try:
        with quiet_pillow():
            img = ImageOps.exif_transpose(img) or img
    except Exception:  # noqa: BLE001 (a broken EXIF block must not lose a readable image)
        pass
    img = _reduce(img)
    notes: list[str] = []
    try:
        arr = _to_array(img, 1.0 if background == "white" else 0.0, notes)
    except ImageError as exc:
        raise ImageError(str(exc).replace("This image", name, 1)) from None
    except (ValueError, OSError, MemoryError) as exc:
        raise ImageError(f"{name} could not be converted ({type(exc).__name__}: {exc}).") from None
    tensor = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    return LoadedImage(tensor, tuple(n.replace("This", f"{name}: this", 1) for n in notes))


def _draft(img: Image.Image) -> None:
    """Ask a large JPEG to decode at 1/2, 1/4 or 1/8 scale, still >= MAX_WORK_SIDE."""
    w, h = img.size
    if img.format in ("JPEG", "MPO") and max(w, h) > MAX_WORK_SIDE:
        scale = MAX_WORK_SIDE / max(w, h)
        img.draft(img.mode, (max(1, int(w * scale)), max(1, int(h * scale))))


def _reduce(img: Image.Image) -> Image.Image:
    """Shrink by a whole factor (box filter) so the longer side is at most MAX_WORK_SIDE."""
    factor = -(-max(img.size) // MAX_WORK_SIDE)
    if factor <= 1:
        return img
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode == "1":
        img = img.convert("L")
    elif img.mode.startswith("I;16"):  # through 32-bit and back: still scaled by 65535
        return img.convert("I").reduce(factor).convert("I;16")
    return img.reduce(factor)


def to_channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    """Grey -> RGB by copying the channel; RGB -> grey by ITU-R 601 luma."""
    c = image.shape[0]
    if c == channels:
        return image
    if c == 1 and channels == 3:
        return image.expand(3, -1, -1).clone()
    if c == 3 and channels == 1:
        w = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype).view(3, 1, 1)
        return (image * w).sum(0, keepdim=True)
    raise ImageError(f"Cannot turn a {c}-channel image into {channels} channels.")


def to_model_input(
    image: torch.Tensor,
    channels: int,
    size: int | tuple[int, int],
    *,
    fit: Literal["crop", "pad"] = "crop",
) -> torch.Tensor:
    """Convert a (C, H, W) image in [0, 1] to ``channels`` x ``size`` (see module doc)."""
    th, tw = (size, size) if isinstance(size, int) else size
    image = to_channels(image.float(), channels)
    _, h, w = image.shape
    if h * tw != w * th:
        if fit == "crop":
            if w * th > h * tw:  # too wide
                nw = max(1, round(h * tw / th))
                x0 = (w - nw) // 2
                image = image[:, :, x0 : x0 + nw]
            else:
                nh = max(1, round(w * th / tw))
                y0 = (h - nh) // 2
                image = image[:, y0 : y0 + nh, :]
        else:
            border = torch.cat(
                [image[:, 0, :], image[:, -1, :], image[:, :, 0], image[:, :, -1]], dim=1
            ).mean(dim=1)
            nh, nw = max(h, round(w * th / tw)), max(w, round(h * tw / th))
            canvas = border.view(-1, 1, 1).expand(-1, nh, nw).clone()
            y0, x0 = (nh - h) // 2, (nw - w) // 2
            canvas[:, y0 : y0 + h, x0 : x0 + w] = image
            image = canvas
    if image.shape[1:] != (th, tw):
        image = F.interpolate(
            image[None], size=(th, tw), mode="bilinear", antialias=True, align_corners=False
        )[0]
    return image.clamp(0, 1).contiguous()


def looks_like_paper(image: torch.Tensor) -> bool:
    """True when the image's border is light: dark ink on light paper."""
    grey = to_channels(image, 1)[0]
    border = torch.cat([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(border.mean()) > 0.5


def to_mnist_style(image: torch.Tensor, size: int = 28) -> torch.Tensor:
    """A digit photo or drawing -> an MNIST-style (1, size, size) image.

    As MNIST was made: white ink on black (inverted if the paper is light), the
    ink's bounding box scaled so its longer side is 20/28 of the image, then
    centred by its centre of mass.
    """
    grey = to_channels(image.float(), 1)[0]
    if looks_like_paper(image):
        grey = 1.0 - grey
    lo = float(torch.quantile(grey.flatten(), 0.5))  # the paper's level
    ink = (grey - lo).clamp_min(0)
    if float(ink.max()) <= 1e-3:
        return torch.zeros(1, size, size)
    ink = ink / ink.max()
    ys, xs = torch.nonzero(ink > 0.25, as_tuple=True)
    crop = ink[int(ys.min()) : int(ys.max()) + 1, int(xs.min()) : int(xs.max()) + 1]
    h, w = crop.shape
    box = round(size * 20 / 28)
    scale = box / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = F.interpolate(
        crop[None, None], size=(nh, nw), mode="bilinear", antialias=True, align_corners=False
    )[0, 0]
    total = float(small.sum()) or 1.0
    cy = float((small.sum(1) * torch.arange(nh)).sum()) / total
    cx = float((small.sum(0) * torch.arange(nw)).sum()) / total
    y0 = min(max(round(size / 2 - cy), 0), size - nh)
    x0 = min(max(round(size / 2 - cx), 0), size - nw)
    out = torch.zeros(size, size)
    out[y0 : y0 + nh, x0 : x0 + nw] = small
    return out.clamp(0, 1)[None]


def save_adversarial(image: torch.Tensor, path: str | os.PathLike) -> tuple[Path, Path]:
    """Save a (C, H, W) image in [0, 1] as a lossless 8-bit PNG and its exact floats as .npy."""
    png, npy = Path(path).with_suffix(".png"), Path(path).with_suffix(".npy")
    arr = (image.detach().clamp(0, 1).cpu().numpy() * 255).round().astype(np.uint8)
    Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)).save(png)
    np.save(npy, image.detach().cpu().numpy())
    return png, npy
