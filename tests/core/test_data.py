"""core.data.loaders: every dataset format, made by the tests, and the paper's fold protocol."""

from __future__ import annotations

import gzip
import os
import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from fgsm_studio.core.data.loaders import (
    DatasetError,
    folds,
    load_cifar10,
    load_dataset,
    load_folder,
    load_mnist,
    load_mnist_csv,
)
from tests.payload import Payload


def _write_idx(path, array: np.ndarray, gz: bool) -> None:
    head = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = head + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.fixture
def idx_folder(tmp_path, mnist_1k):
    x = mnist_1k.images[:, 0].numpy()
    y = mnist_1k.labels.numpy()
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw / "train-images-idx3-ubyte.gz", x[:800], True)
    _write_idx(raw / "train-labels-idx1-ubyte.gz", y[:800], True)
    _write_idx(raw / "t10k-images-idx3-ubyte", x[800:], False)
    _write_idx(raw / "t10k-labels-idx1-ubyte", y[800:], False)
    return tmp_path


def test_idx_folder_splits(idx_folder, mnist_1k):
    train = load_mnist(idx_folder, "train")
    test = load_mnist(idx_folder, "test")
    both = load_dataset("mnist", idx_folder, "all")
    assert (len(train), len(test), len(both)) == (800, 200, 1000)
    assert torch.equal(both.images, mnist_1k.images) and torch.equal(both.labels, mnist_1k.labels)
    x, y = train[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert isinstance(y, int)


def test_idx_errors(tmp_path, idx_folder):
    with pytest.raises(DatasetError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte"):
        load_mnist(empty)
    path = idx_folder / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="truncated"):
        load_mnist(idx_folder, "test")
    path.write_bytes(b"\x00\x00\x0d\x03garbage")
    with pytest.raises(DatasetError, match="magic"):
        load_mnist(idx_folder, "test")


def test_fashion_mnist_missing_folder_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetError, match="dataset-fashion-mnist"):
        load_dataset("fashion-mnist", tmp_path / "nope")


@pytest.mark.skipif(
    not os.path.isdir("/usr/share/datasets/fashion-mnist"),
    reason="Debian's dataset-fashion-mnist not installed",
)
def test_fashion_mnist_found_automatically():
    test = load_dataset("fashion-mnist", split="test")
    assert len(test) == 10000 and test.class_names[9] == "Ankle boot"


def test_bundled_csv_and_bad_csv(tmp_path):
    ds = load_mnist_csv()
    assert len(ds) == 5000 and ds.images.shape == (5000, 1, 28, 28)
    assert torch.bincount(ds.labels).tolist() == [500] * 10
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(DatasetError, match="784 pixel"):
        load_mnist_csv(bad)
    with pytest.raises(DatasetError, match="expected at"):
        load_mnist_csv(tmp_path / "missing.csv.gz")


def _cifar_batch(path, n, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    path.write_bytes(pickle.dumps({b"data": data, b"labels": labels, b"batch_label": b"x"}))
    return data, labels


def test_cifar10_batches_any_subset(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    d1, l1 = _cifar_batch(folder / "data_batch_1", 30, 0)
    _cifar_batch(folder / "data_batch_3", 20, 1)
    _cifar_batch(folder / "test_batch", 10, 2)
    train = load_cifar10(tmp_path, "train")
    assert len(train) == 50 and train.images.shape[1:] == (3, 32, 32)
    assert torch.equal(train.images[0], torch.from_numpy(d1[0].reshape(3, 32, 32)))
    assert train.labels[:30].tolist() == l1
    assert len(load_cifar10(tmp_path, "test")) == 10


def test_cifar10_hostile_pickle_does_not_run(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PAYLOAD_MARKER", str(marker))
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": Payload(), b"labels": [1]}))
    with pytest.raises(DatasetError, match="refused"):
        load_cifar10(tmp_path, "train")
    assert not marker.exists()
    (tmp_path / "data_batch_1").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError):
        load_cifar10(tmp_path, "train")


def _save(path, size, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (value, 255 - value, 40)).save(path)


def test_folder_dataset_with_subfolder_subjects(tmp_path):
    for c, cls in enumerate(["fist", "palm", "peace"]):
        for s in range(4):
            for i in range(2):
                _save(tmp_path / cls / f"person{s}" / f"{i}.png", (40 + 20 * i, 90), 60 * c + s)
    (tmp_path / "palm" / "person0" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    ds = load_folder(tmp_path, image_size=48)
    assert ds.class_names == ["fist", "palm", "peace"]
    assert len(ds) == 24 and ds.images.shape[1:] == (3, 48, 48)
    assert sorted(set(ds.subjects.tolist())) == ["person0", "person1", "person2", "person3"]
    assert len(ds.skipped) == 1 and ds.skipped[0].endswith("broken.png")


def test_folder_dataset_prefix_subjects_and_errors(tmp_path):
    for cls in ("a", "b"):
        for s in ("s1", "s2"):
            _save(tmp_path / cls / f"{s}_img.jpg", (30, 30), 100)
    ds = load_folder(tmp_path, image_size=32, channels=1)
    assert ds.images.shape[1] == 1 and set(ds.subjects.tolist()) == {"s1", "s2"}
    with pytest.raises(DatasetError, match="does not exist"):
        load_folder(tmp_path / "missing")
    with pytest.raises(DatasetError, match="one sub-folder per class"):
        load_folder(tmp_path / "a")


def test_folds_split_each_class_evenly(mnist_1k):
    parts = folds(mnist_1k, k=10, seed=3)
    assert len(parts) == 10
    labels = mnist_1k.labels.numpy()
    for f in parts:
        assert len(f.test) == len(f.val) == 100 and len(f.train) == 800
        assert np.bincount(labels[f.test], minlength=10).tolist() == [10] * 10
        assert (
            not set(f.train) & set(f.val)
            and not set(f.train) & set(f.test)
            and not set(f.val) & set(f.test)
        )
        assert len(set(f.train) | set(f.val) | set(f.test)) == 1000
    for i in range(10):  # round i validates on the part round i+1 tests on
        assert np.array_equal(parts[i].val, parts[(i + 1) % 10].test)
    assert len(set().union(*[set(f.test) for f in parts])) == 1000
    assert np.array_equal(folds(mnist_1k, 10, seed=3)[4].test, parts[4].test)
    assert not np.array_equal(folds(mnist_1k, 10, seed=4)[4].test, parts[4].test)


def test_folds_by_subject_never_share_a_person(tmp_path, mnist_1k):
    subjects = np.array([f"p{i % 10}" for i in range(len(mnist_1k))])
    ds = mnist_1k.subset(range(len(mnist_1k)))
    ds.subjects = subjects
    for f in folds(ds, k=10):
        assert set(subjects[f.test]).isdisjoint(subjects[f.train])
        assert len(set(subjects[f.test])) == 1
    ds.subjects = np.array([f"p{i % 3}" for i in range(len(mnist_1k))])
    with pytest.raises(DatasetError, match="3 subjects"):
        folds(ds, k=10)


def test_folder_names_with_underscores_are_not_subjects(tmp_path):
    for cls in ("a", "b"):
        for i in range(3):
            _save(tmp_path / cls / f"img_{i}.png", (20, 20), 50 * i)
    assert load_folder(tmp_path, image_size=16).subjects is None
