"""Regenerate tests/data/bad_images/: files a user might drop on the window.

Run from the repository root: ``python tests/data/make_bad_images.py``. Each
file name says what it is; ``EXPECT`` says whether FGSM Studio should load it
(True) or refuse it with a clear message (False).
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).parent / "bad_images"
SEED = Path(__file__).parents[2] / "resources" / "samples" / "mnist" / "mnist_00_7.png"

EXPECT = {
    "empty.png": False,
    "truncated.png": False,
    "truncated.jpg": False,
    "not_an_image.png": False,
    "decompression_bomb.png": False,
    "wrong_extension.jpg": True,  # a PNG named .jpg
    "line_1x100000.png": True,
    "grey_16bit.png": True,
    "cmyk.jpg": True,
    "animated.gif": True,
    "palette_transparency.png": True,
    "rgba_transparent_digit.png": True,
    "tiff_16bit.tif": True,
    "exif_rotated.jpg": True,
}


def _png_header_only(width: int, height: int) -> bytes:
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


def _bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def main() -> None:
    OUT.mkdir(exist_ok=True)
    digit = Image.open(SEED)
    photo = Image.fromarray(
        np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    )
    files = {
        "empty.png": b"",
        "truncated.png": _bytes(photo, "PNG")[:600],
        "truncated.jpg": _bytes(photo, "JPEG")[:700],
        "not_an_image.png": b"Dear diary, today I renamed a text file to .png\n" * 20,
        "decompression_bomb.png": _png_header_only(100_000, 100_000),
        "wrong_extension.jpg": _bytes(digit, "PNG"),
        "line_1x100000.png": _bytes(Image.new("L", (100_000, 1), 200), "PNG"),
        "grey_16bit.png": _bytes(Image.fromarray(np.asarray(digit, np.uint16) * 257), "PNG"),
        "cmyk.jpg": _bytes(photo.convert("CMYK"), "JPEG"),
        "palette_transparency.png": _bytes(digit.convert("P"), "PNG", transparency=0),
        "rgba_transparent_digit.png": _bytes(Image.merge("RGBA", [digit] * 3 + [digit]), "PNG"),
        "tiff_16bit.tif": _bytes(Image.fromarray(np.asarray(digit, np.uint16) * 257), "TIFF"),
    }
    frames = [digit, digit.rotate(90), digit.rotate(180)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)
    files["animated.gif"] = buf.getvalue()
    exif = Image.Exif()
    exif[0x0112] = 6
    files["exif_rotated.jpg"] = _bytes(photo, "JPEG", exif=exif.tobytes())
    assert set(files) == set(EXPECT)
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    print(f"wrote {len(files)} files to {OUT}")


if __name__ == "__main__":
    main()
