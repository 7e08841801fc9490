"""core.data.other_writers: MNIST's own preprocessing, and the committed sets no model trains on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fgsm_studio.core.data.other_writers import SETS, from_optdigits, load, mnist_style


def test_mnist_style_fits_a_20px_box_and_centres_by_mass():
    ink = np.zeros((100, 60), np.float32)
    ink[10:90, 20:30] = 1.0  # a tall bar, off centre
    out = mnist_style(ink)
    assert out.shape == (28, 28) and out.dtype == np.uint8
    rows, cols = np.nonzero(out > 25)
    assert rows.max() - rows.min() + 1 == pytest.approx(20, abs=1)  # longer side: 20 px
    assert cols.max() - cols.min() + 1 < 6  # aspect kept
    w = out.astype(float)
    cy = (w.sum(1) * np.arange(28)).sum() / w.sum()
    cx = (w.sum(0) * np.arange(28)).sum() / w.sum()
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    assert mnist_style(np.zeros((8, 8))).max() == 0  # no ink: a blank image, no error


def test_optdigits_become_white_on_black_digits():
    im = np.zeros((1, 8, 8))
    im[0, 1:7, 3:5] = 16  # a "1"
    out = from_optdigits(im)
    assert out.shape == (1, 28, 28)
    assert out[0, 0].max() == 0 and out[0].max() == 255  # black border, white ink


@pytest.mark.parametrize("name", SETS)
def test_committed_sets_load_with_every_class(name):
    ds = load(name)
    assert ds.images.shape[1:] == (1, 28, 28) and len(ds) >= 1000
    counts = np.bincount(ds.labels.numpy(), minlength=10)
    assert (counts >= 100).all()
    border = ds.images[:, 0, [0, -1], :].float().mean()
    assert border < 5  # MNIST-style: ink in the middle, black around


def test_the_standard_model_reads_most_drawn_digits():
    """A sanity floor: the drawn digits are digits a model of MNIST can read (measured 96%)."""
    from fgsm_studio.core.models.checkpoint import load as load_model
    from fgsm_studio.core.paths import resource_path

    model, _ = load_model(resource_path("models", "mnist_small_cnn_standard.safetensors"))
    ds = load("draw")
    with torch.no_grad():
        pred = model(ds.images.float() / 255).argmax(1)
    right = (pred == ds.labels).float()
    assert right.mean() > 0.85
    per_class = [float(right[ds.labels == d].mean()) for d in range(10)]
    assert min(per_class) > 0.6


def test_unknown_set_says_which_exist():
    with pytest.raises(ValueError, match="optdigits"):
        load("emnist")


def test_mnist_test_is_other_hands_than_the_bundled_5000():
    """MNIST's test digits: 10,000, two writer groups, and not one of them among the
    training digits the bundled models learn from (pixel for pixel)."""
    from fgsm_studio.core.data.loaders import load_mnist_csv

    test = load("mnist-test")
    assert len(test) == 10_000 and tuple(test.images.shape[1:]) == (1, 28, 28)
    assert torch.bincount(test.labels).tolist()[:2] == [980, 1135]  # MNIST's own counts
    with np.load(
        __import__("fgsm_studio.core.paths", fromlist=["x"]).resource_path(
            "data", "other-writers", "mnist-test.npz"
        )
    ) as z:
        sources = z["sources"]
    assert set(sources[:5000]) == {"census employees (SD-3)"}
    assert set(sources[5000:]) == {"high-school students (SD-1)"}
    train = {bytes(x) for x in load_mnist_csv().images.reshape(5000, -1).numpy()}
    assert not any(bytes(x) in train for x in test.images.reshape(10_000, -1).numpy())
