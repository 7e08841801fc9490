"""The in-memory dataset every loader returns, and the paper's k-fold protocol.

``ImageDataset`` holds uint8 images (N, C, H, W), int64 labels, class names
and, when known, a subject per image; ``folds`` makes the paper's k rounds
(by class, or by whole subjects so no person is in two parts), and
``stratified_sample`` draws n images with a seed, every class in its share
(``--limit`` and ``--eval-limit`` use it: the first n of a class-sorted set is
one class).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from .images import display_name


class DatasetError(ValueError):
    """A dataset is missing or unreadable; the message says what was expected where."""


@dataclass
class ImageDataset(Dataset):
    """In-memory images (uint8, N x C x H x W) with labels, class names and subjects."""

    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]
    name: str = "dataset"
    subjects: np.ndarray | None = None
    skipped: list[str] = field(default_factory=list)  # files a folder dataset could not read

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise DatasetError(f"{self.name}: images must be uint8 (N, C, H, W)")
        if len(self.images) != len(self.labels):
            raise DatasetError(
                f"{self.name}: {len(self.images)} images but {len(self.labels)} labels"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i].float().div_(255), int(self.labels[i])

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Many samples at once (the fast path the trainer uses)."""
        return self.images[idx].float().div_(255), self.labels[idx]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> int:
        return self.images.shape[2]

    def subset(self, indices: np.ndarray | torch.Tensor | list[int]) -> ImageDataset:
        idx = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        subj = None if self.subjects is None else self.subjects[idx.numpy()]
        return ImageDataset(
            self.images[idx], self.labels[idx], self.class_names, self.name, subj, self.skipped
        )

    def skipped_summary(self) -> str | None:
        """A sentence naming the files a folder dataset could not read, or None."""
        if not self.skipped:
            return None
        shown = ", ".join(display_name(p) for p in self.skipped[:3])
        more = f" and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
        return f"{len(self.skipped)} file(s) in {self.name} could not be read and were skipped: {shown}{more}."

    def mean_std(self) -> tuple[list[float], list[float]]:
        x = self.images[:20000].float().div_(255)
        mean = x.mean(dim=(0, 2, 3))
        std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)
        return [round(float(v), 4) for v in mean], [round(float(v), 4) for v in std]


# ------------------------------------------------------------- the protocol
def stratified_sample(dataset: ImageDataset, n: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``n`` images drawn with ``seed``, each class in its share.

    Datasets are often sorted by class (the first 500 of mnist-5k are all
    zeros), so "the first n" is one class; this takes from every class in
    proportion to its size (largest remainders for the rounding), at random.
    """
    if n >= len(dataset):
        return np.arange(len(dataset))
    if n < 1:
        raise ValueError(f"a sample needs at least one image, not {n}")
    rng = np.random.default_rng(seed)
    labels = dataset.labels.numpy()
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * n / len(labels)
    take = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - take), kind="stable")[: n - int(take.sum())]:
        take[i] += 1
    picked = [
        rng.choice(np.flatnonzero(labels == c), k, replace=False)
        for c, k in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(picked))


@dataclass(frozen=True)
class Fold:
    round: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def folds(dataset: ImageDataset, k: int = 10, seed: int = 0) -> list[Fold]:
    """The paper's protocol: k parts; round i tests on part i, validates on i+1, trains on the rest.

    Parts are made by splitting each class evenly (after a seeded shuffle) or,
    when the dataset knows its subjects, by assigning whole subjects to parts
    (round-robin over the sorted subjects), so no person is in two parts.
    """
    if k < 3:
        raise ValueError("k must be at least 3 (one part each for test, validation and training)")
    if k > len(dataset):
        raise DatasetError(
            f"{dataset.name} has {len(dataset)} images; {k} folds need at least {k} "
            "(one per part): use fewer --folds."
        )
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in range(k)]
    if dataset.subjects is not None:
        names = sorted(set(dataset.subjects.tolist()))
        if len(names) < k:
            raise DatasetError(
                f"{dataset.name} has {len(names)} subjects; {k} folds need at least {k}."
            )
        for j, s in enumerate(names):
            parts[j % k].append(np.flatnonzero(dataset.subjects == s))
    else:
        labels = dataset.labels.numpy()
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            for j, chunk in enumerate(np.array_split(idx, k)):
                parts[j].append(chunk)
    merged = [np.sort(np.concatenate(p)) if p else np.empty(0, np.int64) for p in parts]
    out = []
    for i in range(k):
        v = (i + 1) % k
        train = np.sort(np.concatenate([merged[j] for j in range(k) if j not in (i, v)]))
        out.append(Fold(i, train, merged[v], merged[i]))
    return out
