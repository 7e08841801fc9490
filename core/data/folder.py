"""Class-per-folder image datasets (like MICAHandPose), read safely.

``load_folder(root)`` reads ``root/<class>/.../<image>`` through
``core.data.images.load_image`` (the formats allow-list, regular files only),
resizes with padding to ``image_size`` and finds a subject per image from a
sub-folder (``class/subject/img.png``) or a file-name prefix
(``subject_img.png``). Unreadable files are skipped and named; a class with no
readable image is refused; a folder that changes while it is read is refused.
Symbolic links that lead out of the dataset folder (a class folder linked to
``/``, a file linked to ``~/.ssh/id_rsa``) are not followed, and counted.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from ..names import strip_bidi
from .dataset import DatasetError, ImageDataset
from .images import ImageError, display_name, load_image, to_model_input

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def load_folder(
    root: str | os.PathLike,
    *,
    image_size: int = 64,
    channels: int = 3,
    subjects: str = "auto",
) -> ImageDataset:
    """Class-per-folder images; ``subjects``: "auto", "subfolder", "prefix" or "none".

    Unreadable files are skipped and named (``skipped``, ``skipped_summary()``
    and a logged warning); a class with no readable image is refused, and so is
    a folder whose files change while it is being read.
    """
    root = Path(root)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DatasetError(f"The dataset folder {root} {what}.")
    inside = root.resolve()
    outside: list[Path] = []
    classes = []
    for p in sorted(root.iterdir()):
        if p.name.startswith(".") or not p.is_dir():
            continue
        if p.is_symlink() and not _within(p, inside):
            outside.append(p)
        else:
            classes.append(p.name)
    if len(classes) < 2:
        raise DatasetError(
            f"Expected one sub-folder per class (at least two) in {root}; found {len(classes)}."
            + (f" {_links_sentence(root, outside)}" if outside else "")
        )
    listing = _list_images(root, classes, inside, outside)
    images: list[torch.Tensor] = []
    labels: list[int] = []
    subj: list[str | None] = []
    skipped: list[str] = []
    for label, cls in enumerate(classes):
        before = len(images)
        for path in listing[cls]:
            rel = path.relative_to(root / cls)
            if subjects in ("auto", "subfolder") and len(rel.parts) > 1:
                subject = rel.parts[0]
            elif subjects in ("auto", "prefix") and ("_" in path.stem or "-" in path.stem):
                subject = path.stem.replace("-", "_").split("_")[0]
            else:
                subject = None
            try:
                img = to_model_input(load_image(path), channels, image_size, fit="pad")
            except ImageError:
                if not path.exists():
                    raise _changed(root, f"{display_name(path)} disappeared") from None
                skipped.append(str(path))
                continue
            images.append((img * 255).round().to(torch.uint8))
            labels.append(label)
            subj.append(subject)
        if len(images) == before:
            raise DatasetError(
                f"The class folder '{strip_bidi(cls)}' in {root} has no image FGSM Studio can read "
                f"({len(listing[cls])} candidate file(s)); add images or remove the folder."
            )
    if _list_images(root, classes, inside, []) != listing:
        raise _changed(root, "files were added, removed or renamed")
    known = None if any(s is None for s in subj) or subjects == "none" else np.array(subj)
    if known is not None and subjects == "auto" and len(set(subj)) < 2:
        known = None  # 'img_001.png' everywhere is a naming habit, not a subject
    data = ImageDataset(
        torch.stack(images),
        torch.tensor(labels, dtype=torch.long),
        [strip_bidi(c) for c in classes],  # shown, and written into cards: read as stored
        root.name,
        known,
        skipped,
    )
    if outside:
        log.warning("%s", _links_sentence(root, outside))
    if skipped:
        log.warning("%s", data.skipped_summary())
    return data


def _list_images(
    root: Path, classes: list[str], inside: Path, outside: list[Path]
) -> dict[str, list[Path]]:
    """Each class's candidate image files, sorted; links leaving ``inside`` go to ``outside``.

    ``os.walk`` never descends into a linked folder; a linked file is kept only
    when what it points to is inside the dataset folder.
    """
    listing: dict[str, list[Path]] = {}
    try:
        for cls in classes:
            found = []
            for top, dirs, files in os.walk(root / cls, onerror=_raise):
                for name in sorted(dirs) + files:
                    p = Path(top, name)
                    if p.is_symlink() and not _within(p, inside):
                        outside.append(p)
                    elif name in files and p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
                        found.append(p)
            listing[cls] = sorted(found)
    except OSError as exc:
        raise _changed(root, f"it could not be listed ({exc.strerror or exc})") from None
    return listing


def _raise(exc: OSError) -> None:
    raise exc


def _within(link: Path, inside: Path) -> bool:
    """True when the link's final target lies inside the folder ``inside`` (already resolved)."""
    try:
        return link.resolve().is_relative_to(inside)
    except (OSError, RuntimeError):  # a loop of links
        return False


def _links_sentence(root: Path, outside: list[Path]) -> str:
    shown = ", ".join(display_name(p) for p in outside[:3])
    more = f" and {len(outside) - 3} more" if len(outside) > 3 else ""
    return (
        f"{len(outside)} symbolic link(s) in {root} lead out of the dataset folder and were "
        f"not followed: {shown}{more}."
    )


def _changed(root: Path, what: str) -> DatasetError:
    return DatasetError(
        f"The dataset folder {root} changed while it was being read ({what}); "
        "load it again once it is complete."
    )
