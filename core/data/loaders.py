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
import math
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from ..catalogue import DATASETS
from ..paths import resource_path
from .dataset import DatasetError, Fold, ImageDataset, folds, stratified_sample
from .folder import IMAGE_SUFFIXES, load_folder
from .images import ImageError, read_regular_file

__all__ = [
    "DATASETS",
    "IMAGE_SUFFIXES",
    "DatasetError",
    "Fold",
    "ImageDataset",
    "folds",
    "load_dataset",
    "load_folder",
    "stratified_sample",
]

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
MNIST_5K_TEST_FRACTION = 1 / 6  # as MNIST's own 10k of 70k
MAX_IDX_BYTES = 1 << 30


# ---------------------------------------------------------------- idx (MNIST)
def _open_maybe_gz(path: Path) -> bytes:
    raw = read_regular_file(path, MAX_IDX_BYTES, "dataset")
    if raw[:2] != b"\x1f\x8b":
        return raw
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
        data = f.read(MAX_IDX_BYTES + 1)
    if len(data) > MAX_IDX_BYTES:
        raise DatasetError(f"{path} unpacks to more than {MAX_IDX_BYTES >> 20} MB.")
    return data


def read_idx(path: Path) -> np.ndarray:
    """An idx file (the MNIST format) as a numpy array."""
    try:
        data = _open_maybe_gz(path)
    except (OSError, EOFError, zlib.error, ImageError) as exc:
        raise DatasetError(f"{path} could not be read: {exc}") from None
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise DatasetError(f"{path} is not an idx file of unsigned bytes (bad magic number).")
    ndim = data[3]
    head = 4 + 4 * ndim
    if len(data) < head:
        raise DatasetError(f"{path} is truncated (incomplete header).")
    dims = struct.unpack(f">{ndim}I", data[4:head])
    count = math.prod(dims)  # Python ints: dims of 2**31 must not wrap around
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
def load_mnist_csv(path: str | os.PathLike | None = None, split: str = "all") -> ImageDataset:
    """The bundled 5000 digits; ``split`` "test" is a fixed stratified sixth, "train" the rest.

    The split does not depend on any run's seed, so a model trained on "train"
    is always evaluated on the same unseen "test" digits.
    """
    data = _load_mnist_csv(path)
    if split == "all":
        return data
    test = stratified_sample(data, round(len(data) * MNIST_5K_TEST_FRACTION), seed=0)
    if split == "test":
        return data.subset(test)
    return data.subset(np.setdiff1d(np.arange(len(data)), test))


def _load_mnist_csv(path: str | os.PathLike | None = None) -> ImageDataset:
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
    except Exception as exc:  # noqa: BLE001 (any failure on an untrusted file is this sentence)
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
            or not isinstance(y, list | np.ndarray)
            or len(y) != len(x)
        ):
            raise DatasetError(f"{f} does not hold 'data' (N x 3072) and matching 'labels'.")
        try:
            labels_f = np.asarray(y)
        except ValueError:
            labels_f = np.asarray([None])
        if labels_f.ndim != 1 or labels_f.dtype.kind not in "iu":
            raise DatasetError(
                f"{f}: 'labels' must be a list of whole numbers 0-9, not "
                f"{type(y).__name__} of {labels_f.dtype}."
            )
        xs.append(x.astype(np.uint8).reshape(-1, 3, 32, 32))
        ys.append(labels_f.astype(np.int64))
    labels = np.concatenate(ys)
    if labels.min() < 0 or labels.max() > 9:
        raise DatasetError(f"CIFAR-10 labels in {folder} must be 0-9.")
    return ImageDataset(
        torch.from_numpy(np.concatenate(xs)), torch.from_numpy(labels), CIFAR10_CLASSES, "cifar10"
    )


def load_dataset(
    name: str, root: str | os.PathLike | None = None, split: str = "all", **kwargs
) -> ImageDataset:
    """Load a dataset by name (see ``DATASETS``)."""
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be train, test or all, not {split!r}")
    if name == "mnist-5k":
        return load_mnist_csv(root, split)
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


_CACHE: dict[tuple, ImageDataset] = {}


def load_cached(name: str, root: str | None, split: str) -> ImageDataset:
    """``load_dataset``, kept in memory for the next run on the same data."""
    key = (name, root, split)
    if root is not None and not Path(root).exists():
        _CACHE.pop(key, None)  # the folder is gone: say so, do not train on a stale copy
    if key not in _CACHE:
        _CACHE[key] = load_dataset(name, root, split)
    return _CACHE[key]


def fold_parts(
    dataset: str,
    root: str | None = None,
    *,
    k: int = 10,
    fold: int = 0,
    seed: int = 0,
    limit: int | None = None,
) -> tuple[ImageDataset, ImageDataset, ImageDataset]:
    """(train, validation, test) of fold ``fold`` of ``k`` (0: the dataset's own
    train/test split, with a tenth of train for validation); at most ``limit``
    training images. A run (``core.runs.experiments.splits``) and the measurements
    of a saved model on its own held-out part read the same parts from here."""
    if k:
        ds = load_cached(dataset, root, "all")
        if ds.subjects is not None and len(set(ds.subjects.tolist())) < k:
            ds = ds.subset(list(range(len(ds))))  # too few people for a part each: split by class
            ds.subjects = None
        f = folds(ds, k=k, seed=seed)[fold]
        train_set, val, test = ds.subset(f.train), ds.subset(f.val), ds.subset(f.test)
    else:
        full = load_cached(dataset, root, "train")
        f = folds(full, k=10, seed=seed)[0]
        train_set = full.subset(np.sort(np.concatenate([f.train, f.test])))
        val, test = full.subset(f.val), load_cached(dataset, root, "test")
    if limit and len(train_set) > limit:
        train_set = train_set.subset(stratified_sample(train_set, limit, seed))
    return train_set, val, test
