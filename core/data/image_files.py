"""Image files in, decoded Pillow images out: the only place FGSM Studio opens one.

``read_regular_file`` reads a regular file only (a FIFO would block the reader
forever and ``/dev/zero`` never ends), non-blocking, with its size checked on
the open descriptor before reading. ``open_image`` hands the bytes to Pillow
with an explicit allow-list of decoders (``FORMATS``), each Pillow's own code:
an EPS file, whatever its name, would otherwise go to Ghostscript, and the
PostScript inside it runs. The size an image claims is checked from its header
alone before anything is decoded: more than ``MAX_PIXELS`` is a decompression
bomb, and fewer bytes than any complete file of that size needs is a forged
or truncated header (a 333-byte JPEG claiming 6300x6300 would otherwise be
decoded into a gigabyte). Beyond ``FREE_PIXELS`` every format must also hold
at least one byte per ``MAX_PIXELS_PER_BYTE[format]`` pixels, whatever its
coder (arithmetic JPEG, lossless WebP, GIF's LZW and TIFF's deflate have no
useful lower bound of their own), and a JPEG may have at most ``MAX_JPEG_SCANS``
scans (each progressive scan is one more pass over every block). Every failure
is an ``ImageError`` with a sentence for the user that names the file.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, PngImagePlugin, UnidentifiedImageError

from ..names import strip_bidi

MAX_PIXELS = 40_000_000  # 40 megapixels: more than any camera photo a demo needs
MAX_FILE_BYTES = 200 * 1024 * 1024
SUPPORTED = "PNG, JPEG, BMP, GIF, WebP or TIFF"
# The only Pillow decoders ever used. Each is Pillow's own C or Python code; none
# hands the file to an external program (EPS, for one, runs Ghostscript on it, and
# the PostScript inside can write files), whatever the file's name says. JPEG
# includes multi-picture (MPO) camera files.
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
# Up to 2048x2048 (4.2 megapixels, many times any model's input) an image may be as
# compressible as its coder allows: decoding it costs at most ~50 ms and 50 MB.
FREE_PIXELS = 2048 * 2048
# Beyond that, a file must hold one byte per this many pixels. Photographs hold one
# per 1-10 pixels and screenshots one per 10-50; the forged files of issue 20 held one
# per 26,000 (lossless WebP), 700-1,300 (GIF, deflate TIFF) and 312,000 (arithmetic
# JPEG). A Huffman JPEG cannot go past 512 (one bit per 8x8 block) nor PNG past
# ~8,000 (deflate's 1032:1 on 1-bit rows), but those bounds are proofs, not budgets.
MAX_PIXELS_PER_BYTE = {"JPEG": 256, "MPO": 256, "PNG": 256, "BMP": 256, "GIF": 256}
MAX_PIXELS_PER_BYTE |= {"WEBP": 256, "TIFF": 256}
# libjpeg writes 10 scans (6 for grey) and mozjpeg's scan optimiser ~20; each scan is
# one more decoding pass over every block, so 100 leaves room and bounds the work
# (2,000 repeats of one AC scan took 43 s to decode).
MAX_JPEG_SCANS = 100

Source = str | os.PathLike | bytes | bytearray | memoryview


class ImageError(ValueError):
    """An image could not be used; the message is meant for the user."""


def display_name(path: str | os.PathLike) -> str:
    """A file's name as a message can print it: quoted, undecodable bytes escaped, short."""
    raw = os.fsencode(Path(path).name)
    name = strip_bidi(raw.decode("utf-8", "backslashreplace"))
    return f"'{name[:60]}...'" if len(name) > 64 else f"'{name}'"


def read_regular_file(path: str | os.PathLike, limit: int, what: str = "image") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, or ``OSError``/``ImageError``.

    A FIFO would block the reader forever and a device (``/dev/zero``, or a
    symlink to it) never ends, so only regular files are read; the size is
    checked on the open descriptor before reading, and at most ``limit + 1``
    bytes are read in case the file grows meanwhile.
    """
    name = display_name(path)
    # O_NONBLOCK: opening a FIFO that nobody writes to returns at once instead of hanging.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(f"{name} is not a regular file (a device, pipe or socket).")
        if info.st_size > limit:
            raise ImageError(
                f"{name} is {info.st_size / 2**20:.0f} MB; FGSM Studio opens {what} files up to "
                f"{limit / 2**20:.0f} MB."
            )
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ImageError(f"{name} grew past {limit / 2**20:.0f} MB while it was being read.")
    return data


def read_source(source: Source) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) > MAX_FILE_BYTES:
            raise ImageError(f"The image is larger than {MAX_FILE_BYTES / 2**20:.0f} MB.")
        return bytes(source), "The image"
    path = Path(source)
    name = display_name(path)
    try:
        if path.is_dir():
            raise ImageError(f"{name} is a folder, not an image file.")
        return read_regular_file(path, MAX_FILE_BYTES), name
    except FileNotFoundError:
        raise ImageError(
            f"{name} does not exist (looked for {display_name(path.parent)})."
        ) from None
    except OSError as exc:
        raise ImageError(f"{name} could not be read: {exc.strerror or exc}.") from None


_WARNINGS = threading.RLock()


@contextmanager
def quiet_pillow() -> Iterator[None]:
    """Pillow's warnings ignored for the block, one block at a time in the process.

    ``warnings.catch_warnings`` saves the process's filters on entry and puts them back on
    exit: two reads overlapping on two threads (the Explorer's loaders) would put back
    each other's, leaving an "ignore everything" filter for good. The lock keeps the
    saves and restores in order.
    """
    with _WARNINGS, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def open_image(data: bytes, name: str) -> Image.Image:
    if not data:
        raise ImageError(f"{name} is empty (0 bytes).")
    try:
        with quiet_pillow():
            # We apply our own, lower pixel limit below, from the header alone; and
            # Pillow's warnings about odd metadata (corrupt EXIF, TIFF tags) are
            # noise for the user: the image decodes or we say it is damaged.
            img = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise ImageError(
            f"{name} is not an image FGSM Studio can read (use {SUPPORTED})."
        ) from None
    except Image.DecompressionBombError:
        raise bomb(name, None) from None
    except Exception as exc:  # noqa: BLE001 (PIL raises many types for malformed headers)
        if text_bomb(exc):
            raise text_too_large(name) from None
        raise ImageError(
            f"{name} is damaged and cannot be opened ({type(exc).__name__})."
        ) from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise bomb(name, (w, h))
    if w < 1 or h < 1:
        raise ImageError(f"{name} has no pixels ({w}x{h}).")
    need = _min_bytes(img, data)
    if len(data) < need:
        raise ImageError(
            f"{name} claims {w}x{h} pixels but holds only {len(data)} bytes, fewer than "
            f"any such {img.format} file needs ({need}): it is truncated or forged."
        )
    scans = data.count(b"\xff\xda") if img.format in ("JPEG", "MPO") else 0
    if scans > MAX_JPEG_SCANS:
        raise ImageError(
            f"{name} is too large to decode: it has {scans} JPEG scans, and FGSM Studio "
            f"decodes JPEGs of up to {MAX_JPEG_SCANS} (photographs have 1-20)."
        )
    per_byte = MAX_PIXELS_PER_BYTE.get(img.format or "", 1)
    if w * h > FREE_PIXELS and w * h > len(data) * per_byte:
        raise ImageError(
            f"{name} is too large for its size: it claims {w}x{h} pixels from only "
            f"{len(data)} bytes. Above {FREE_PIXELS // 1_000_000} megapixels FGSM Studio "
            f"needs one byte per {per_byte} pixels (photographs hold one per 1-10). "
            "Scale it down first."
        )
    return img


def _min_bytes(img: Image.Image, data: bytes) -> int:
    """A lower bound on the file size of a complete image, from its header alone.

    Decoding a forged header (a 333-byte JPEG claiming 6300x6300) allocates and
    fills the whole canvas before the decoder notices the data is missing. A
    Huffman-coded JPEG spends at least one bit per 8x8 block of its first
    component; deflate (PNG) never compresses more than 1032:1, and a PNG row
    holds at least one bit per pixel plus a filter byte.
    """
    w, h = img.size
    if img.format in ("JPEG", "MPO") and _jpeg_frame_marker(data) in range(0xC0, 0xC8):
        return ((w + 7) // 8) * ((h + 7) // 8) // 8
    if img.format == "PNG":
        return (h * ((w + 7) // 8 + 1)) // 1032
    return 0


def _jpeg_frame_marker(data: bytes) -> int:
    """The JPEG's start-of-frame marker (0xC0-0xC7 Huffman, 0xC9-0xCF arithmetic), or 0."""
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # a fill byte before the marker
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return marker
        if marker == 0xDA:  # start of scan before any frame: not a JPEG we judge
            return 0
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return 0


def bomb(name: str, size: tuple[int, int] | None) -> ImageError:
    dims = f" ({size[0]}x{size[1]} pixels)" if size else ""
    return ImageError(
        f"{name} is too large{dims}: FGSM Studio opens images up to "
        f"{MAX_PIXELS // 1_000_000} megapixels. Scale it down first."
    )


def text_bomb(exc: Exception) -> bool:
    """True for Pillow's refusal of PNG text chunks that decompress past its limits."""
    text = str(exc).lower()
    return isinstance(exc, ValueError) and (
        "decompressed data too large" in text or "too much memory used in text chunks" in text
    )


def text_too_large(name: str) -> ImageError:
    return ImageError(
        f"{name} is too large to open: its text (metadata) chunks decompress to more than "
        f"the {PngImagePlugin.MAX_TEXT_CHUNK // 2**20} MB FGSM Studio reads."
    )
