"""Every allowed image format has a bound on pixels per byte and on decoding work.

Issue 20, section 1 (images): the old bound covered Huffman JPEG and PNG only. An
arithmetic JPEG of under 100 bytes claiming 6300x6300, a lossless WebP, a GIF or a
deflate TIFF decoded to a gigabyte; a progressive JPEG with one scan repeated
thousands of times decoded for minutes. The files are made here, by hand or by
Pillow, at a size that keeps the test fast.
"""

from __future__ import annotations

import io
import struct
import time

import numpy as np
import pytest
from PIL import Image

from fgsm_studio.core.data.dataset import DatasetError
from fgsm_studio.core.data.image_files import FREE_PIXELS, MAX_JPEG_SCANS
from fgsm_studio.core.data.images import MAX_WORK_SIDE, ImageError, load_image, read_image
from fgsm_studio.core.data.loaders import load_folder

SIDE = 2100  # 4.4 megapixels: just past FREE_PIXELS, quick to encode
assert SIDE * SIDE > FREE_PIXELS


def arithmetic_jpeg(width: int, height: int) -> bytes:
    """A grey arithmetic-coded JPEG (SOF9), as ``cjpeg -arithmetic`` writes, of 98 bytes."""
    dqt = b"\xff\xdb\x00\x43\x00" + bytes([1]) * 64
    sof9 = b"\xff\xc9\x00\x0b\x08" + struct.pack(">HH", height, width) + b"\x01\x01\x11\x00"
    sos = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + dqt + sof9 + sos + b"\x00\x00\xff\xd9"


def test_the_hand_made_arithmetic_jpeg_is_one_pillow_decodes():
    img = Image.open(io.BytesIO(arithmetic_jpeg(16, 16)))
    img.load()
    assert img.size == (16, 16) and img.format == "JPEG"


def test_a_98_byte_arithmetic_jpeg_claiming_6300x6300_is_refused_from_its_header():
    data = arithmetic_jpeg(6300, 6300)
    assert len(data) < 127
    with pytest.raises(ImageError, match=r"too large for its size.*6300x6300.*98 bytes"):
        load_image(data)


def test_a_folder_of_20_such_jpegs_is_refused_at_once(tmp_path):
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(10):
            (tmp_path / cls / f"{i}.jpg").write_bytes(arithmetic_jpeg(6300, 6300))
    start = time.perf_counter()
    with pytest.raises(DatasetError, match="no image FGSM Studio can read"):
        load_folder(tmp_path)
    print(f"20-file folder refused in {time.perf_counter() - start:.3f} s")  # noqa: T201


def _blank(fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    Image.new("L" if fmt != "WEBP" else "RGB", (SIDE, SIDE), 0).save(buf, fmt, **options)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("WEBP", {"lossless": True, "method": 0}),
        ("WEBP", {"quality": 10, "method": 0}),
        ("GIF", {}),
        ("TIFF", {"compression": "tiff_adobe_deflate"}),
        ("PNG", {"compress_level": 9}),
    ],
)
def test_every_format_has_a_pixels_per_byte_bound(fmt, options):
    data = _blank(fmt, **options)
    with pytest.raises(ImageError, match=rf"too large for its size.*{SIDE}x{SIDE}"):
        load_image(data)


def test_a_bmp_whose_header_claims_more_than_it_holds_is_refused():
    buf = io.BytesIO()
    Image.new("L", (16, 16)).save(buf, "BMP")
    data = bytearray(buf.getvalue())
    data[18:26] = struct.pack("<ii", 6000, 6000)
    with pytest.raises(ImageError, match=r"too large for its size.*6000x6000"):
        load_image(bytes(data))


def test_small_and_photo_like_images_of_every_format_still_load():
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    for fmt in ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF"):
        buf = io.BytesIO()
        noise.save(buf, fmt)
        assert load_image(buf.getvalue()).shape[1:] == (300, 400), fmt
    flat = io.BytesIO()
    Image.new("RGB", (2048, 2048), (9, 9, 9)).save(flat, "WEBP", lossless=True)
    assert load_image(flat.getvalue()).shape == (3, 2048, 2048)  # within FREE_PIXELS


def _progressive_with_repeats(repeats: int) -> bytes:
    """A progressive JPEG whose last scan is repeated ``repeats`` more times."""
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buf, "JPEG", progressive=True)
    data = buf.getvalue()
    last = data.rindex(b"\xff\xda")
    scan = data[last:-2]  # SOS header and its entropy-coded data, up to EOI
    return data[:-2] + scan * repeats + b"\xff\xd9"


def test_a_progressive_jpeg_with_thousands_of_scans_is_refused_before_decoding():
    assert load_image(_progressive_with_repeats(20)).shape == (3, 64, 64)
    with pytest.raises(ImageError, match=rf"\d+ JPEG scans.*up to {MAX_JPEG_SCANS}"):
        load_image(_progressive_with_repeats(2000))


def test_a_jpeg_far_larger_than_any_model_input_is_decoded_reduced(monkeypatch):
    ramp = np.add.outer(np.arange(3150), np.arange(4200)) % 256
    buf = io.BytesIO()
    Image.fromarray(ramp.astype(np.uint8)).save(buf, "JPEG", quality=90)
    decoded = []
    real_load = Image.Image.load

    def load(img):
        decoded.append(img.size)  # the size libjpeg decodes at, after draft()
        return real_load(img)

    monkeypatch.setattr(Image.Image, "load", load)
    image = read_image(buf.getvalue()).tensor
    assert (4200, 3150) not in decoded and (2100, 1575) in decoded  # libjpeg's 1/2 scale
    assert image.shape[0] == 1 and max(image.shape[1:]) <= MAX_WORK_SIDE


def test_other_formats_beyond_the_working_size_are_reduced_keeping_16_bit_range():
    wide = np.full((40, 5000), 60000, dtype=np.uint16)
    buf = io.BytesIO()
    Image.fromarray(wide).save(buf, "PNG")
    image = read_image(buf.getvalue()).tensor
    assert image.shape == (1, 14, 1667) and max(image.shape[1:]) <= MAX_WORK_SIDE
    assert float(image.max()) == pytest.approx(60000 / 65535, abs=1e-6)
