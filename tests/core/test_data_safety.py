"""core.data.loaders: samples that represent every class, and datasets that lie or change.

Issue 11, items 13 (``--limit`` took the first n of a class-sorted set; mnist-5k
ignored ``--split``), 15 (folder datasets) and 16 (malformed idx and CIFAR files).
"""

from __future__ import annotations

import logging
import os
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

import fgsm_studio.core.data.folder as data_folder
from fgsm_studio.core.data.loaders import (
    DatasetError,
    folds,
    load_cifar10,
    load_dataset,
    load_folder,
    read_idx,
    stratified_sample,
)


def test_stratified_sample_takes_every_class_in_its_share(mnist_1k):
    assert mnist_1k.labels[:100].unique().tolist() == [0]  # class-sorted, as the issue found
    idx = stratified_sample(mnist_1k, 50, seed=3)
    assert len(idx) == 50 and len(set(idx.tolist())) == 50
    assert np.bincount(mnist_1k.labels[idx].numpy(), minlength=10).tolist() == [5] * 10
    assert np.array_equal(idx, stratified_sample(mnist_1k, 50, seed=3))
    assert not np.array_equal(idx, stratified_sample(mnist_1k, 50, seed=4))
    assert len(stratified_sample(mnist_1k, 13, seed=0)) == 13  # remainders are shared out
    assert len(stratified_sample(mnist_1k, 5000, seed=0)) == len(mnist_1k)


def test_a_run_limit_is_a_stratified_sample_with_the_run_seed():
    from fgsm_studio.core.runs.experiments import splits
    from fgsm_studio.core.runs.spec import RunSpec

    train, _, _ = splits(RunSpec.of(dataset="mnist-5k", folds=10, limit=100, seed=1))
    assert np.bincount(train.labels.numpy(), minlength=10).tolist() == [10] * 10


def test_mnist_5k_honours_the_split():
    full = load_dataset("mnist-5k", split="all")
    train, test = load_dataset("mnist-5k", split="train"), load_dataset("mnist-5k", split="test")
    assert len(train) + len(test) == len(full) == 5000 and 800 <= len(test) <= 850
    assert set(test.labels.tolist()) == set(range(10))
    rows = {bytes(x.numpy()) for x in train.images}
    assert not any(bytes(x.numpy()) in rows for x in test.images[:200])  # disjoint


def test_idx_with_dims_of_2_to_the_31_is_refused_with_a_sentence(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2**31, 2**31, 4) + b"\0" * 64)
    with pytest.raises(DatasetError, match="truncated or corrupt: expected 18446744073709551616"):
        read_idx(path)


@pytest.mark.parametrize("labels", [["cat"] * 4, [{"a": 1}] * 4, [1.5] * 4, "abcd", None])
def test_cifar_labels_of_the_wrong_type_say_so(tmp_path, labels):
    data = np.zeros((4, 3072), np.uint8)
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": data, b"labels": labels}))
    with pytest.raises(DatasetError, match="data_batch_1"):
        load_cifar10(tmp_path, "train")


def _folder(root, per_class=2):
    for c, cls in enumerate(("cats", "dogs")):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (10, 10), (80 * c, 10 * i, 0)).save(root / cls / f"{i}.png")
    return root


def test_skipped_files_are_counted_named_and_logged(tmp_path, caplog):
    root = _folder(tmp_path / "data")
    for i in range(5):
        (root / "dogs" / f"broken{i}.png").write_bytes(b"not a png")
    odd = os.fsdecode(bytes(root / "cats") + b"/bad\xff.png")
    with open(odd, "wb") as f:
        f.write(b"junk")
    with caplog.at_level(logging.WARNING):
        ds = load_folder(root, image_size=8)
    summary = ds.skipped_summary()
    assert len(ds) == 4 and len(ds.skipped) == 6
    assert summary.startswith(
        "6 file(s) in data could not be read and were skipped: 'bad\\xff.png'"
    )
    assert summary.endswith("and 3 more.") and summary in caplog.text
    summary.encode("utf-8")
    assert ds.subset([0, 1]).skipped == ds.skipped


def test_a_class_without_a_usable_image_is_refused(tmp_path):
    root = _folder(tmp_path / "data")
    (root / "birds").mkdir()
    (root / "birds" / "x.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="class folder 'birds' .* has no image"):
        load_folder(root, image_size=8)
    (root / "birds" / "x.png").unlink()
    with pytest.raises(DatasetError, match="'birds'.*0 candidate"):
        load_folder(root, image_size=8)


def test_a_folder_that_changes_while_loading_is_refused(tmp_path, monkeypatch):
    root = _folder(tmp_path / "data", per_class=3)
    real = data_folder.load_image

    def deleting(path):
        (root / "dogs" / "2.png").unlink(missing_ok=True)
        return real(path)

    monkeypatch.setattr(data_folder, "load_image", deleting)
    with pytest.raises(DatasetError, match="changed while it was being read.*'2.png' disappeared"):
        load_folder(root, image_size=8)

    def adding(path):
        Image.new("RGB", (4, 4)).save(root / "cats" / "new.png")
        return real(path)

    monkeypatch.setattr(data_folder, "load_image", adding)
    with pytest.raises(DatasetError, match="changed while it was being read.*added, removed"):
        load_folder(root, image_size=8)


def test_links_leading_out_of_the_dataset_are_not_followed_and_counted(tmp_path, caplog):
    """Issue 20, 1: a class folder linked to / was walked; a file linked out was read."""
    root = _folder(tmp_path / "data")
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    Image.new("RGB", (10, 10), (255, 0, 0)).save(secret / "private.png")
    (root / "cats" / "leak.png").symlink_to(secret / "private.png")
    (root / "everything").symlink_to("/")
    (root / "dogs" / "sub").symlink_to(secret)
    (root / "dogs" / "same.png").symlink_to(root / "dogs" / "0.png")  # inside: kept
    with caplog.at_level(logging.WARNING):
        ds = load_folder(root, image_size=8)
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 5
    assert (
        "3 symbolic link(s) in " in caplog.text
        and "lead out of the dataset folder and were not followed" in caplog.text
    )
    for name in ("'everything'", "'leak.png'", "'sub'"):
        assert name in caplog.text


def test_a_root_that_is_a_device_is_not_a_folder(tmp_path):
    with pytest.raises(DatasetError, match="/dev/zero is not a folder"):
        load_folder("/dev/zero")
    with pytest.raises(DatasetError, match="does not exist"):
        load_folder(tmp_path / "nothing")


def test_more_folds_than_images_is_refused_with_a_sentence(tmp_path):
    """Issue 20, 1: --folds 6000 on a small set made no progress."""
    ds = load_folder(_folder(tmp_path / "data", per_class=3), image_size=8)
    with pytest.raises(DatasetError, match="has 6 images; 7 folds need at least 7"):
        folds(ds, k=7)
    assert len(folds(ds, k=6)) == 6
