"""core.data.augment: digit and photo augmentation keep shape and range, are seeded, and do what they say."""

from __future__ import annotations

import pytest
import torch

from fgsm_studio.core.data.augment import affine, digits, make, photos, resolve, thicken, thin


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _dot(n=4, size=28):
    """A single bright pixel in the middle of each image: easy to follow."""
    x = torch.zeros(n, 1, size, size)
    x[:, :, size // 2, size // 2] = 1.0
    return x


def test_digits_keep_shape_range_and_are_seeded(mnist_1k):
    x, _ = mnist_1k.batch(torch.arange(32))
    a, b = digits(x, _gen(1)), digits(x, _gen(1))
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b)
    assert not torch.equal(a, digits(x, _gen(2)))
    assert not torch.allclose(a, x)  # it changed the digits
    # ... but kept them digits: about as much ink, not a blank or a blob
    ink = a.sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert ink.min() > 0.4 and ink.max() < 2.5


def test_shift_moves_content_by_whole_pixels():
    x = _dot(1)
    out = affine(x, torch.zeros(1), torch.ones(1), torch.tensor([[3.0, -2.0]]))
    y, xx = divmod(int(out.flatten().argmax()), 28)
    assert (y, xx) == (14 - 2, 14 + 3)
    assert out.max() == pytest.approx(1.0, abs=1e-5)


def test_identity_affine_changes_nothing(mnist_1k):
    x, _ = mnist_1k.batch(torch.arange(8))
    out = affine(x, torch.zeros(8), torch.ones(8), torch.zeros(8, 2))
    assert torch.allclose(out, x, atol=1e-5)


def test_rotation_turns_a_bar():
    x = torch.zeros(1, 1, 28, 28)
    x[:, :, 14, 6:22] = 1.0  # a horizontal bar
    out = affine(x, torch.tensor([90.0]), torch.ones(1), torch.zeros(1, 2))
    assert out[0, 0, :, 14].sum() > 10 * out[0, 0, 14, :].sum().clamp(min=0.1) / 10
    assert out[0, 0, 6:22, 13:16].mean() > 0.3  # the bar is now vertical


def test_thicken_and_thin_change_stroke_width(mnist_1k):
    x, _ = mnist_1k.batch(torch.arange(16))
    assert thicken(x).sum() > 1.5 * x.sum()
    assert thin(x).sum() < 0.7 * x.sum()
    assert torch.equal(thicken(x, 0.0), x) and torch.equal(thin(x, 0.0), x)


def test_photos_crop_and_flip(mnist_1k):
    x = torch.rand(16, 3, 32, 32)
    a = photos(x, _gen(0))
    assert a.shape == x.shape and torch.equal(a, photos(x, _gen(0)))
    # with no padding and no flip the crop is the image itself
    assert torch.equal(photos(x, _gen(0), pad=0, flip=False), x)
    # with no padding every image is either itself or its mirror
    b = photos(x, _gen(3), pad=0)
    mirrored = [torch.equal(b[i], x[i].flip(-1)) for i in range(16)]
    same = [torch.equal(b[i], x[i]) for i in range(16)]
    assert all(m or s for m, s in zip(mirrored, same, strict=True)) and any(mirrored) and any(same)


def test_make_and_resolve():
    assert make("none") is None
    assert resolve("auto", "mnist-5k") == "digits" and resolve("auto", "cifar10") == "photos"
    assert make("auto", "fashion-mnist").func is photos
    with pytest.raises(ValueError, match="augment must be one of"):
        resolve("rotate")


def test_elastic_bends_strokes_but_keeps_digits(mnist_1k):
    from fgsm_studio.core.data.augment import elastic

    x, _ = mnist_1k.batch(torch.arange(32))
    a, b = elastic(x, _gen(3)), elastic(x, _gen(3))
    assert a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, elastic(x, _gen(4)))
    moved = (a - x).abs().sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert moved.min() > 0.05  # every digit bent ...
    ink = a.sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert ink.min() > 0.6 and ink.max() < 1.5  # ... but not wiped out or smeared
    assert torch.allclose(elastic(x, _gen(3), alpha=0.0), x, atol=1e-5)


def test_digits_elastic_is_a_choice():
    assert resolve("digits-elastic") == "digits-elastic"
    out = make("digits-elastic")(_dot(2), _gen(0))
    assert out.shape == (2, 1, 28, 28)
