"""Extra training images mixed into a run's training part (issue 22, item 2).

Generated or rendered images (``fgsm-studio-cli generate`` writes them) join the
training part of a run, never its validation or held-out part, and never the
other-writers sets. The file is an ``.npz`` holding ``images`` (uint8, N x H x W or
N x C x H x W), ``labels`` (whole numbers, one per image) and, optionally,
``about`` (a JSON string saying how they were made, copied into the card).
The file is checked against the run's data before training starts: same image
size and channels, labels within its classes.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from .dataset import DatasetError, ImageDataset
from .images import display_name

MAX_EXTRA_IMAGES = 2_000_000
MAX_EXTRA_BYTES = 4 << 30


def file_digest(path: str | os.PathLike) -> str:
    """The sha256 of the file (a run's key names the extra images by their content)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_DIGESTS: dict[tuple[str, int, int], str] = {}


def extra_digest(path: str | os.PathLike) -> str:
    """``file_digest``, remembered while the file is unchanged; "missing" when it is gone
    (a record of a run whose extra images were deleted still has a key)."""
    p = Path(path).expanduser().resolve()
    try:
        st = p.stat()
    except OSError:
        return "missing"
    key = (str(p), st.st_mtime_ns, st.st_size)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_digest(p)
    return _DIGESTS[key]


def _about(raw: np.ndarray | None) -> dict:
    if raw is None:
        return {}
    try:
        about = json.loads(str(raw.item() if raw.shape == () else raw))
    except (ValueError, TypeError):
        return {}
    return about if isinstance(about, dict) else {}


def load_extra(path: str | os.PathLike, like: ImageDataset) -> tuple[ImageDataset, dict]:
    """The extra images of ``path`` as a dataset shaped like ``like``, and their ``about``.

    Raises ``DatasetError`` with one sentence saying what is wrong with the file.
    """
    path = Path(path)
    name = display_name(path)
    if not path.is_file():
        raise DatasetError(f"The extra training images {name} are not a file.")
    if path.stat().st_size > MAX_EXTRA_BYTES:
        raise DatasetError(f"{name} is larger than {MAX_EXTRA_BYTES >> 30} GB.")
    try:  # allow_pickle=False: a hostile file cannot run code
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("images", "labels") if k not in npz.files]
            if missing:
                raise DatasetError(
                    f"{name} holds no '{missing[0]}' array: expected an .npz with 'images' "
                    "(uint8) and 'labels', as `fgsm-studio-cli generate` writes."
                )
            images, labels = npz["images"], npz["labels"]
            about = _about(npz["about"] if "about" in npz.files else None)
    except DatasetError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{name} is not a readable .npz file ({exc}).") from None
    if images.dtype != np.uint8:
        raise DatasetError(f"{name}: 'images' must be uint8 (0-255), not {images.dtype}.")
    if images.ndim == 3:
        images = images[:, None]
    want = (like.channels, like.image_size, like.image_size)
    if images.ndim != 4 or tuple(images.shape[1:]) != want:
        raise DatasetError(
            f"{name}: images of shape {tuple(images.shape[1:])} do not fit {like.name}, "
            f"whose images are {want} (channels, height, width)."
        )
    if not 0 < len(images) <= MAX_EXTRA_IMAGES:
        raise DatasetError(f"{name}: expected 1 to {MAX_EXTRA_IMAGES:,} images, not {len(images)}.")
    if labels.ndim != 1 or len(labels) != len(images) or labels.dtype.kind not in "iu":
        raise DatasetError(f"{name}: 'labels' must be one whole number per image.")
    n_classes = len(like.class_names)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DatasetError(
            f"{name}: a label is outside 0-{n_classes - 1} ({like.name} has {n_classes} classes)."
        )
    data = ImageDataset(
        torch.from_numpy(np.ascontiguousarray(images)),
        torch.from_numpy(labels.astype(np.int64)),
        list(like.class_names),
        f"{like.name}+extra",
    )
    return data, about


def mixed(train: ImageDataset, extra: ImageDataset) -> ImageDataset:
    """The training part and the extra images as one dataset (the real images first)."""
    return ImageDataset(
        torch.cat([train.images, extra.images]),
        torch.cat([train.labels, extra.labels]),
        list(train.class_names),
        f"{train.name}+extra",
    )


def save_extra(path: str | os.PathLike, data: ImageDataset, about: dict) -> None:
    """Write ``data`` as an extra-images file (atomically: whole or not at all)."""
    import io

    from ..atomic import write_atomic

    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        images=data.images.numpy(),
        labels=data.labels.numpy(),
        about=np.array(json.dumps(about, sort_keys=True)),
    )
    write_atomic(path, buffer.getvalue(), f"the extra images {display_name(Path(path))}")
