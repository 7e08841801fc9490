"""core.data.images against files made to run code, hang a reader or lie about their size.

Issue 11, items 1 (EPS runs PostScript), 7 (FIFOs, devices, forged headers) and
17 (float TIFFs). The EPS tests need Ghostscript installed to be able to fail
the old way (``.ci/run`` installs it); without it they still check the message.
"""

from __future__ import annotations

import io
import os
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from fgsm_studio.core.data.images import ImageError, load_image, read_image
from fgsm_studio.core.data.loaders import load_folder

HAS_GS = shutil.which("gs") is not None


def eps_payload(target) -> bytes:
    """The issue's EPS file: PostScript that writes ``target`` when Ghostscript runs it."""
    return (
        "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
        f"/f ({target}) (w) file def f (hi) writestring f closefile showpage\n"
    ).encode()


@pytest.mark.skipif(not HAS_GS, reason="Ghostscript is not installed")
def test_the_payload_is_live_when_pillow_opens_any_format(tmp_path):
    """Proof that the tests below can fail: unrestricted Pillow runs the PostScript."""
    target = tmp_path / "written_by_postscript"
    try:
        Image.open(io.BytesIO(eps_payload(target))).load()
    except OSError:
        pass  # Ghostscript makes no usable raster from it; the file is written first
    assert target.exists()


def test_eps_named_png_is_refused_and_runs_nothing(tmp_path):
    target = tmp_path / "X"
    photo = tmp_path / "photo.png"
    photo.write_bytes(eps_payload(target))
    with pytest.raises(ImageError, match="not an image FGSM Studio can read"):
        load_image(photo)
    with pytest.raises(ImageError, match="not an image FGSM Studio can read"):
        load_image(photo.read_bytes())
    assert not target.exists()


def test_eps_in_a_class_folder_is_skipped_and_runs_nothing(tmp_path):
    target = tmp_path / "X"
    root = tmp_path / "data"
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True)
        Image.new("RGB", (8, 8), (200, 10, 10)).save(root / cls / "good.png")
    (root / "cats" / "photo.png").write_bytes(eps_payload(target))
    ds = load_folder(root, image_size=8)
    assert len(ds) == 2 and [p.rsplit("/", 1)[-1] for p in ds.skipped] == ["photo.png"]
    assert not target.exists()


def _finishes(fn, seconds: float = 10.0) -> BaseException | None:
    """Run ``fn`` in a thread; fail if it is still running after ``seconds``."""
    out: list[BaseException | None] = [None]

    def body():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 (handed back to the test, which judges it)
            out[0] = exc

    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the read blocked"
    return out[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    exc = _finishes(lambda: load_image(fifo))
    assert isinstance(exc, ImageError) and "not a regular file" in str(exc)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_or_a_symlink_to_it_is_refused_before_reading(tmp_path):
    link = tmp_path / "zero.png"
    link.symlink_to("/dev/zero")
    for source in ("/dev/zero", link):
        exc = _finishes(lambda source=source: load_image(source))
        assert isinstance(exc, ImageError) and "not a regular file" in str(exc)


def test_a_tiny_jpeg_claiming_a_huge_size_is_refused_from_its_header():
    buf = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (6300).to_bytes(2, "big") * 2  # height, width
    assert len(data) < 400
    with pytest.raises(ImageError, match=r"claims 6300x6300 pixels but holds only"):
        load_image(bytes(data))


def test_real_jpeg_and_png_pass_the_size_plausibility_check():
    flat = Image.new("L", (2000, 2000), 255)  # as compressible as an image gets
    for fmt in ("JPEG", "PNG"):
        buf = io.BytesIO()
        flat.save(buf, fmt)
        assert load_image(buf.getvalue()).shape == (1, 2000, 2000)


def _float_tiff(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.float32), mode="F").save(buf, "TIFF")
    return buf.getvalue()


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_float_tiff_with_a_non_finite_pixel_is_refused(bad):
    grey = np.full((6, 6), 0.5)
    grey[2, 3] = bad
    with pytest.raises(ImageError, match="1 pixel.*not numbers"):
        load_image(_float_tiff(grey))
    with pytest.raises(ImageError, match="36 pixel.*not numbers"):
        load_image(_float_tiff(np.full((6, 6), np.nan)))


def test_float_tiff_is_scaled_by_its_own_range_and_says_so():
    ramp = np.linspace(0, 300, 36).reshape(6, 6)
    loaded = read_image(_float_tiff(ramp))
    assert float(loaded.tensor.min()) == 0.0 and float(loaded.tensor.max()) == 1.0
    assert np.allclose(loaded.tensor[0].numpy(), ramp / 300, atol=1e-6)
    assert len(loaded.notes) == 1 and "0 to 300" in loaded.notes[0]


def test_float_tiff_already_in_0_1_is_kept_without_a_note():
    ramp = np.linspace(0.1, 0.9, 36).reshape(6, 6)
    loaded = read_image(_float_tiff(ramp))
    assert np.allclose(loaded.tensor[0].numpy(), ramp, atol=1e-6) and loaded.notes == ()


def test_odd_and_long_file_names_give_printable_sentences(tmp_path):
    odd = os.fsdecode(bytes(tmp_path) + b"/photo\xff.png")
    with open(odd, "wb") as f:
        f.write(b"not an image")
    with pytest.raises(ImageError) as info:
        load_image(odd)
    assert str(info.value).startswith("'photo\\xff.png' is not an image")
    str(info.value).encode("utf-8")  # printable on any terminal or label
    with pytest.raises(ImageError, match=r"^'a{60}\.\.\.' could not be read: File name too long"):
        load_image(tmp_path / ("a" * 300 + ".png"))
