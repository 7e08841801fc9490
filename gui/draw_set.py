"""The ``draw`` other-writers set: digits drawn with the app's own Draw tool by scripted writers.

Each digit is drawn on a real ``DrawCanvas`` (the Draw dialog's 280x280 canvas,
white 22 px round-capped antialiased pen) by real mouse events (``QTest``
press, moves, release per stroke) along the path a scripted writer
(``draw_strokes``) takes through one of the digit's stroke templates; the
dialog's PNG then goes through what the Explorer does with a drawn digit
(``read_image``, then ``to_mnist_style``) and is stored as uint8 28x28. Image
``i`` is digit ``i % 10`` by writer ``i // 10``, each from its own seed
(``seed``, ``i``), so the first ``n`` images do not depend on how many are made.

``python -m fgsm_studio.gui.draw_set [OUT.npz] [--count N] [--seed S] [--sheet PNG]``
(offscreen Qt; the default writes ``resources/data/other-writers/draw.npz``).
The builder needs Qt, so it lives in gui; ``core.data.other_writers.load("draw")``
reads the committed file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from fgsm_studio.core.data.images import read_image, to_mnist_style

from .draw_strokes import TEMPLATES, Writer, mouse_strokes


def _app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def draw_on_canvas(canvas, paths: list[np.ndarray]) -> bytes:
    """Draw ``paths`` (integer px) on a cleared ``DrawCanvas`` with real mouse events: its PNG."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from .explorer.inputs import qimage_to_png

    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    canvas.clear()
    for path in paths:
        x, y = (int(v) for v in path[0])
        QTest.mousePress(canvas, left, none, QPoint(x, y))
        for x, y in path[1:]:
            QTest.mouseMove(canvas, QPoint(int(x), int(y)))
        QTest.mouseRelease(canvas, left, none, QPoint(int(x), int(y)))
    return qimage_to_png(canvas.image)


def as_explorer_reads(png: bytes) -> np.ndarray:
    """The drawn PNG as the Explorer turns a drawn digit into a model's input: uint8 28x28."""
    mnist = to_mnist_style(read_image(png).tensor)[0]
    return np.round(mnist.numpy() * 255).astype(np.uint8)


def build(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``count`` drawn digits (stratified: image i is digit i % 10): images, labels, sources."""
    _app()
    from .explorer.inputs import DrawCanvas

    canvas = DrawCanvas()
    canvas.show()
    images, labels, sources = [], [], []
    for i in range(count):
        digit, person = i % 10, i // 10
        rng = np.random.default_rng([seed, i])
        ways = list(TEMPLATES[digit].items())
        name, strokes = ways[person % len(ways)]  # every way of writing it, in turn
        writer = Writer.draw(rng)
        png = draw_on_canvas(canvas, mouse_strokes(strokes, writer, rng))
        images.append(as_explorer_reads(png))
        labels.append(digit)
        sources.append(f"{digit} {name}, writer {person}")
    canvas.close()
    return np.stack(images), np.array(labels, np.uint8), sources


def contact_sheet(images: np.ndarray, path: Path, columns: int = 10) -> None:
    """The images in a grid (2x, a grey line between) as a PNG, to look at."""
    from PIL import Image

    rows = -(-len(images) // columns)
    sheet = np.full((rows * 58 + 2, columns * 58 + 2), 96, np.uint8)
    for k, im in enumerate(images):
        r, c = divmod(k, columns)
        sheet[2 + r * 58 : 2 + r * 58 + 56, 2 + c * 58 : 2 + c * 58 + 56] = np.kron(
            im, np.ones((2, 2), np.uint8)
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m fgsm_studio.gui.draw_set", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "out", type=Path, nargs="?", default=Path("resources/data/other-writers/draw.npz")
    )
    p.add_argument(
        "--count", type=int, default=1000, help="digits (a multiple of 10 keeps classes equal)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sheet", type=Path, help="also save the first 100 as a contact sheet PNG")
    args = p.parse_args(argv)
    images, labels, sources = build(args.count, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=images, labels=labels, sources=np.array(sources))
    if args.sheet:
        contact_sheet(images[:100], args.sheet)
    writers = -(-len(labels) // 10)
    print(f"draw: {len(labels)} digits by {writers} scripted writers -> {args.out}")  # noqa: T201 (a command's one line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
