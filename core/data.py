"""Datasets that yield (image in [0, 1], label), with class names.

Every loader returns an ``ImageDataset``: uint8 images (N, C, H, W) held in
memory, int64 labels, class names and, when known, a subject per image (for
the paper's per-subject protocol). Loaders:

* ``mnist``: the standard idx files (``train-images-idx3-ubyte[.gz]`` ...) in a
  folder (torchvision's ``MNIST/raw`` layout works; ``download=True`` fetches
  them where there is internet);
* ``mnist-5k``: the 5000 real MNIST digits bundled in ``resources/data``
  (CSV: 784 pixels 0-255, then the label);
* ``fashion-mnist``: idx files, found at ``/usr/share/datasets/fashion-mnist``
  (Debian's ``dataset-fashion-mnist``) or in a given folder;
* ``cifar10``: the python batches folder, read by an unpickler that accepts
  only plain data and numpy arrays (a hostile file cannot run code); any
  subset of the batch files works, there is no md5 check;
* ``folder``: class-per-folder images of any size (like MICAHandPose), resized
  to ``image_size`` with padding; a subject per image comes from a sub-folder
  (``class/subject/img.png``) or a file-name prefix (``subject_img.png``).

Anything missing or corrupt raises ``DatasetError`` saying what was expected where.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from fgsm_studio.core.images import ImageError, load_image, to_model_input
from fgsm_studio.core.paths import resource_path

MNIST_CLASSES = [str(i) for i in range(10)]
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
DATASETS = ("mnist-5k", "mnist", "fashion-mnist", "cifar10", "folder")


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
        return ImageDataset(self.images[idx], self.labels[idx], self.class_names, self.name, subj)

    def mean_std(self) -> tuple[list[float], list[float]]:
        x = self.images[:20000].float().div_(255)
        mean = x.mean(dim=(0, 2, 3))
        std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)
        return [round(float(v), 4) for v in mean], [round(float(v), 4) for v in std]


# ---------------------------------------------------------------- idx (MNIST)
def _open_maybe_gz(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def read_idx(path: Path) -> np.ndarray:
    """An idx file (the MNIST format) as a numpy array."""
    try:
        data = _open_maybe_gz(path)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetError(f"{path} could not be read: {exc}") from None
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise DatasetError(f"{path} is not an idx file of unsigned bytes (bad magic number).")
    ndim = data[3]
    head = 4 + 4 * ndim
    if len(data) < head:
        raise DatasetError(f"{path} is truncated (incomplete header).")
    dims = struct.unpack(f">{ndim}I", data[4:head])
    count = int(np.prod(dims))
    if len(data) - head != count:
        raise DatasetError(
            f"{path} is truncated or corrupt: expected {count} values, found {len(data) - head}."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=head).reshape(dims)


def _find_idx(folder: Path, prefix: str, kind: str) -> Path:
    names = [f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"]
    names += [n.replace("-idx", ".idx") for n in names]
    for sub in ("", "raw", "MNIST/raw", "FashionMNIST/raw"):
        for n in names:
            for suffix in ("", ".gz"):
                p = folder / sub / f"{n}{suffix}"
                if p.is_file():
                    return p
    raise DatasetError(
        f"Expected the idx file '{names[0]}' (or .gz) in {folder}, but it is not there."
    )


def load_idx_folder(folder: Path, split: str, class_names: list[str], name: str) -> ImageDataset:
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"The {name} folder {folder} does not exist.")
    prefixes = {"train": ["train"], "test": ["t10k"], "all": ["train", "t10k"]}[split]
    xs, ys = [], []
    for prefix in prefixes:
        x = read_idx(_find_idx(folder, prefix, "images"))
        y = read_idx(_find_idx(folder, prefix, "labels"))
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DatasetError(
                f"{name} in {folder}: images {x.shape} and labels {y.shape} do not match."
            )
        if y.max(initial=0) >= len(class_names):
            raise DatasetError(
                f"{name} in {folder}: a label is {y.max()}, but there are {len(class_names)} classes."
            )
        xs.append(x)
        ys.append(y)
    images = torch.from_numpy(np.concatenate(xs)[:, None].copy())
    labels = torch.from_numpy(np.concatenate(ys).astype(np.int64))
    return ImageDataset(images, labels, class_names, name)


def load_mnist(
    root: str | os.PathLike, split: str = "train", *, download: bool = False
) -> ImageDataset:
    if download:  # needs internet; kept for users who have it
        from torchvision.datasets import MNIST

        for train in (True, False):
            MNIST(str(root), train=train, download=True)
    return load_idx_folder(Path(root), split, MNIST_CLASSES, "mnist")


def load_fashion_mnist(root: str | os.PathLike | None = None, split: str = "train") -> ImageDataset:
    folder = Path(root) if root else FASHION_SYSTEM_DIR
    if not folder.is_dir():
        raise DatasetError(
            f"Fashion-MNIST was not found in {folder}. On Debian/Ubuntu: "
            "'apt-get install dataset-fashion-mnist', or give the folder holding the idx files."
        )
    return load_idx_folder(folder, split, FASHION_CLASSES, "fashion-mnist")


# ------------------------------------------------------------------- CSV 5k
def load_mnist_csv(path: str | os.PathLike | None = None) -> ImageDataset:
    path = Path(path) if path else resource_path("data", "mnist_5k.csv.gz")
    if not path.is_file():
        raise DatasetError(f"The MNIST CSV file was expected at {path}, but it is not there.")
    try:
        with gzip.open(path, "rt") if path.suffix == ".gz" else open(path) as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(
            f"{path} is not a valid MNIST CSV (784 pixels then a label per row): {exc}"
        ) from None
    if (
        table.shape[1] != 785
        or table.min() < 0
        or table[:, :784].max() > 255
        or table[:, 784].max() > 9
    ):
        raise DatasetError(f"{path}: expected rows of 784 pixel values 0-255 and a label 0-9.")
    images = torch.from_numpy(table[:, :784].astype(np.uint8).reshape(-1, 1, 28, 28))
    return ImageDataset(images, torch.from_numpy(table[:, 784].copy()), MNIST_CLASSES, "mnist-5k")


# ------------------------------------------------------------------ CIFAR-10
class _DataOnlyUnpickler(pickle.Unpickler):
    """Accepts plain containers and numpy arrays; refuses every other global."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def _unpickle(path: Path) -> dict:
    try:
        obj = _DataOnlyUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except Exception as exc:
        raise DatasetError(
            f"{path} is not a CIFAR-10 batch file ({type(exc).__name__}: {exc})."
        ) from None
    if not isinstance(obj, dict):
        raise DatasetError(f"{path} is not a CIFAR-10 batch file (not a dictionary).")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def load_cifar10(
    root: str | os.PathLike, split: str = "train", *, download: bool = False
) -> ImageDataset:
    root = Path(root)
    if download:  # needs internet
        from torchvision.datasets import CIFAR10

        CIFAR10(str(root), train=True, download=True)
    folder = root / "cifar-10-batches-py" if (root / "cifar-10-batches-py").is_dir() else root
    if not folder.is_dir():
        raise DatasetError(f"The CIFAR-10 folder {folder} does not exist.")
    names = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
    wanted = names["train"] + names["test"] if split == "all" else names[split]
    files = [folder / n for n in wanted if (folder / n).is_file()]
    if not files:
        raise DatasetError(
            f"Expected CIFAR-10 batch files ({', '.join(wanted[:2])}, ...) in {folder}."
        )
    xs, ys = [], []
    for f in files:
        d = _unpickle(f)
        x, y = d.get("data"), d.get("labels")
        if (
            not isinstance(x, np.ndarray)
            or x.ndim != 2
            or x.shape[1] != 3072
            or y is None
            or len(y) != len(x)
        ):
            raise DatasetError(f"{f} does not hold 'data' (N x 3072) and matching 'labels'.")
        xs.append(x.astype(np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(y, dtype=np.int64))
    labels = np.concatenate(ys)
    if labels.min() < 0 or labels.max() > 9:
        raise DatasetError(f"CIFAR-10 labels in {folder} must be 0-9.")
    return ImageDataset(
        torch.from_numpy(np.concatenate(xs)), torch.from_numpy(labels), CIFAR10_CLASSES, "cifar10"
    )


# -------------------------------------------------------------------- folder
def load_folder(
    root: str | os.PathLike,
    *,
    image_size: int = 64,
    channels: int = 3,
    subjects: str = "auto",
) -> ImageDataset:
    """Class-per-folder images; ``subjects``: "auto", "subfolder", "prefix" or "none"."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"The dataset folder {root} does not exist.")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DatasetError(
            f"Expected one sub-folder per class (at least two) in {root}; found {len(classes)}."
        )
    images, labels, subj, skipped = [], [], [], []
    for label, cls in enumerate(classes):
        for path in sorted((root / cls).rglob("*")):
            if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
                continue
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
                skipped.append(str(path))
                continue
            images.append((img * 255).round().to(torch.uint8))
            labels.append(label)
            subj.append(subject)
    if not images:
        raise DatasetError(f"No readable images were found under {root}.")
    known = None if any(s is None for s in subj) or subjects == "none" else np.array(subj)
    if known is not None and subjects == "auto" and len(set(subj)) < 2:
        known = None  # 'img_001.png' everywhere is a naming habit, not a subject
    return ImageDataset(
        torch.stack(images),
        torch.tensor(labels, dtype=torch.long),
        classes,
        root.name,
        known,
        skipped,
    )


def load_dataset(
    name: str, root: str | os.PathLike | None = None, split: str = "all", **kwargs
) -> ImageDataset:
    """Load a dataset by name (see ``DATASETS``)."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be train, test or all, not {split!r}")
    if name == "mnist-5k":
        return load_mnist_csv(root)
    if name == "fashion-mnist":
        return load_fashion_mnist(root, split)
    if root is None:
        raise DatasetError(f"The {name} dataset needs a folder: give its path.")
    if name == "mnist":
        return load_mnist(root, split, **kwargs)
    if name == "cifar10":
        return load_cifar10(root, split, **kwargs)
    if name == "folder":
        return load_folder(root, **kwargs)
    raise DatasetError(f"Unknown dataset '{name}'. Choose one of: {', '.join(DATASETS)}.")


# ------------------------------------------------------------- the protocol
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
