"""Two image reads on two threads leave the process's warning filters as they found them
(the Explorer loads its model and image on worker threads; ``warnings.catch_warnings`` is
not thread-safe: overlapping, two reads put back each other's filters and left an
"ignore everything" filter behind)."""

from __future__ import annotations

import threading
import warnings

from PIL import Image

from fgsm_studio.core.data import image_files
from fgsm_studio.core.data.images import read_image
from tests.conftest import DATA


def _a_png() -> bytes:
    path = next((DATA / "bad").glob("*.png"), None) if (DATA / "bad").is_dir() else None
    if path is None or not path.is_file():
        import io

        buffer = io.BytesIO()
        Image.new("L", (28, 28), 128).save(buffer, format="PNG")
        return buffer.getvalue()
    return path.read_bytes()


def test_overlapping_reads_leave_the_warning_filters_as_they_were(monkeypatch):
    data = _a_png()
    first_inside, second_inside, one_done = threading.Event(), threading.Event(), threading.Event()
    real_open = Image.open
    calls = []

    def held_open(*args, **kwargs):
        calls.append(threading.current_thread().name)
        if len(calls) == 1:  # the first read waits (a while) for the second to come in,
            first_inside.set()
            second_inside.wait(timeout=1.0)
        else:  # and the second, once in, stays until the first has finished: the order
            second_inside.set()  # in which two unguarded saves and restores go wrong
            one_done.wait(timeout=10)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(image_files.Image, "open", held_open)
    before = list(warnings.filters)
    errors = []

    def read() -> None:
        try:
            read_image(data)
        except Exception as exc:  # noqa: BLE001 (the test reports it)
            errors.append(exc)
        if threading.current_thread().name == "one":
            one_done.set()

    one = threading.Thread(target=read, name="one")
    two = threading.Thread(target=read, name="two")
    one.start()
    assert first_inside.wait(timeout=10)
    two.start()
    one.join(timeout=30)
    two.join(timeout=30)
    assert not errors and len(calls) == 2
    assert warnings.filters == before
