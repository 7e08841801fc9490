"""Fuzzing core.data.images.load_image with mutated real PNG/JPEG/GIF/TIFF/WebP/BMP bytes.

Every input either loads as a (C, H, W) tensor in [0, 1] or raises ImageError,
within a time bound: never another exception, never a hang.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fgsm_studio.core.data.images import ImageError, load_image
from fgsm_studio.core.paths import resource_path

DIGIT = Image.open(resource_path("samples", "mnist", "mnist_00_7.png")).convert("L")
PHOTO = Image.open(resource_path("samples", "cifar10", "cifar10_00_3.png")).convert("RGB")


def _seed(fmt: str, img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


SEEDS = [
    _seed("PNG", PHOTO),
    _seed("PNG", DIGIT),
    _seed("JPEG", PHOTO, quality=90),
    _seed("GIF", DIGIT),
    _seed("TIFF", PHOTO),
    _seed("TIFF", DIGIT, exif=Image.Exif()),
    _seed("WEBP", PHOTO),
    _seed("BMP", DIGIT),
    _seed("PNG", PHOTO.convert("P")),
    _seed("PNG", Image.fromarray(np.asarray(DIGIT, np.uint16) * 257)),
]


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "byte", "cut", "insert", "delete", "dup"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            data = data[:pos]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 64))]
        elif op == "dup":
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 256))]
    return bytes(data)


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(mutated())
def test_mutated_images_load_or_raise_image_error(data):
    start = time.perf_counter()
    try:
        t = load_image(data)
    except ImageError as exc:
        assert str(exc)  # noqa: PT017 (a message for the user; hypothesis draws the input)
    else:
        assert t.dtype == torch.float32 and t.ndim == 3 and t.shape[0] in (1, 3)
        assert torch.isfinite(t).all() and t.min() >= 0 and t.max() <= 1
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_unmutated_seeds_load(seed):
    assert load_image(SEEDS[seed]).ndim == 3
