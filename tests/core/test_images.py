"""core.data.images: every format and mode a user drops in, and every bad file."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from fgsm_studio.core.data.images import ImageError, load_image, to_model_input


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _gradient(mode="RGB", size=(40, 30)) -> Image.Image:
    w, h = size
    arr = np.zeros((h, w, 3), np.uint8)
    arr[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    arr[..., 1] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    arr[..., 2] = 128
    return Image.fromarray(arr).convert(mode)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF"])
def test_formats_load_as_rgb(fmt):
    t = load_image(_encode(_gradient(), fmt))
    assert t.dtype == torch.float32 and t.shape == (3, 30, 40)
    assert 0 <= t.min() and t.max() <= 1
    if fmt in ("PNG", "BMP", "TIFF"):  # lossless
        expected = torch.from_numpy(np.array(_gradient())).permute(2, 0, 1).float() / 255
        assert torch.allclose(t, expected)


def test_path_and_bytes_agree(tmp_path):
    p = tmp_path / "x.png"
    p.write_bytes(_encode(_gradient(), "PNG"))
    assert torch.equal(load_image(p), load_image(p.read_bytes()))
    assert torch.equal(load_image(str(p)), load_image(p))


def test_grey_8_and_16_bit():
    g8 = load_image(_encode(_gradient("L"), "PNG"))
    assert g8.shape == (1, 30, 40)
    arr16 = (np.arange(30 * 40).reshape(30, 40) * 50).astype(np.uint16)
    g16 = load_image(_encode(Image.fromarray(arr16), "PNG"))
    assert g16.shape == (1, 30, 40)
    assert torch.allclose(g16[0], torch.from_numpy(arr16.astype(np.float32) / 65535), atol=1e-6)


def test_rgba_composited_on_white_or_black():
    arr = np.zeros((4, 4, 4), np.uint8)
    arr[..., 0] = 255  # red, fully transparent on the left half
    arr[:, 2:, 3] = 255
    data = _encode(Image.fromarray(arr, "RGBA"), "PNG")
    white, black = load_image(data), load_image(data, background="black")
    assert torch.allclose(white[:, :, 0], torch.ones(3, 4))
    assert torch.allclose(black[:, :, 0], torch.zeros(3, 4))
    assert torch.allclose(white[:, :, 3], torch.tensor([1.0, 0, 0]).view(3, 1).expand(3, 4))


def test_palette_with_transparency_and_cmyk_and_la():
    p = _gradient().convert("P")
    p.info["transparency"] = 0
    assert load_image(_encode(p, "PNG", transparency=0)).shape == (3, 30, 40)
    assert load_image(_encode(_gradient("CMYK"), "JPEG")).shape == (3, 30, 40)
    assert load_image(_encode(_gradient("CMYK"), "TIFF")).shape == (3, 30, 40)
    assert load_image(_encode(_gradient("LA"), "PNG")).shape == (1, 30, 40)
    assert load_image(_encode(_gradient("1"), "PNG")).shape == (1, 30, 40)


def test_animated_gif_gives_first_frame():
    frames = [Image.new("L", (8, 8), v) for v in (10, 200, 90)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    t = load_image(buf.getvalue())
    assert abs(float(t.mean()) - 10 / 255) < 0.01


def test_exif_orientation_applied():
    img = _gradient(size=(40, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    t = load_image(_encode(img, "JPEG", exif=exif.tobytes(), quality=95))
    assert t.shape == (3, 40, 30)


def _png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", 0)
        + b"IEND"
        + struct.pack(">I", zlib.crc32(b"IEND"))
    )


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"hello, I am a text file, not a picture", "not an image"),
        (_png_header(100_000, 100_000), "too large"),
        (_png_header(9_000, 9_000), "too large"),
    ],
)
def test_bad_bytes_raise_image_error_quickly(data, match):
    start = time.perf_counter()
    with pytest.raises(ImageError, match=match):
        load_image(data)
    assert time.perf_counter() - start < 5  # generous: the point is "no decode", not speed


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "TIFF", "WEBP"])
def test_truncated_files_raise_image_error(fmt):
    data = _encode(_gradient(size=(200, 200)), fmt)
    with pytest.raises(ImageError):
        load_image(data[: len(data) // 2])


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(tmp_path / "empty.png")


def test_wrong_extension_still_loads(tmp_path):
    p = tmp_path / "photo.jpg"
    p.write_bytes(_encode(_gradient(), "PNG"))
    assert load_image(p).shape == (3, 30, 40)


def test_to_model_input_channels_and_size():
    rgb = torch.rand(3, 30, 60)
    grey = to_model_input(rgb, 1, 28)
    assert grey.shape == (1, 28, 28)
    w = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
    assert torch.allclose(
        to_model_input(rgb[:, :, 15:45], 1, 30),
        (rgb[:, :, 15:45] * w).sum(0, keepdim=True),
        atol=1e-5,
    )
    assert to_model_input(torch.rand(1, 10, 10), 3, 32).shape == (3, 32, 32)
    assert to_model_input(rgb, 3, (20, 10)).shape == (3, 20, 10)


def test_crop_keeps_the_middle_and_pad_keeps_everything():
    img = torch.zeros(1, 10, 30)
    img[:, :, 10:20] = 1.0  # a white middle square between black bands
    assert torch.allclose(to_model_input(img, 1, 10, fit="crop"), torch.ones(1, 10, 10))
    padded = to_model_input(img, 1, 30, fit="pad")
    assert padded.shape == (1, 30, 30)
    assert padded[0, 15, 15] == 1.0 and padded[0, 15, 2] < 0.5
