"""The explorer's drawings: the three image panels, the prediction bars, the epsilon curve.

All pyqtgraph items are made once and updated with ``setImage`` / ``setOpts`` /
``setData``. Images arrive as (C, H, W) tensors in [0, 1] and are shown at the
model's input resolution (nearest-neighbour, zoom with the mouse wheel; the
three views are linked). The perturbation uses a diverging map centred on zero
(blue = darker, white = unchanged, red = brighter), scaled to +-epsilon, and
its scale is printed in the panel's title. Titles never resize their panels (a
title's width changes with epsilon; the panels keep their size and place). The
bars are horizontal with each class's name beside its bar, so every name is
readable (Fashion-MNIST's "Ankle boot", ImageNet's top-5).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QSizeF, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics, QTextDocument
from PySide6.QtWidgets import QWidget

from ..safe_text import escape

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

GREY, PRED, TRUE, TARGET = "#9aa5b1", "#d62728", "#2ca02c", "#ff7f0e"
LEGEND = (
    "Red: the model's answer; green outline: the true class; orange: the target of a "
    "targeted attack; grey: the other classes."
)
EXTRAS = ("twin", "noise")  # ImageTriptych's optional panels, in their order after the three
EXTRA_TITLES = ("Compare model, its own attack", "Random noise, same epsilon")
NAME_CHARS = 18  # longer class names are cut, the full name is in the tooltip


class FixedLabel(pg.LabelItem):
    """A title whose text never changes the width of its column (only its height is kept)."""

    def updateMin(self) -> None:  # pyqtgraph calls it when the text changes
        self.setMinimumWidth(0)
        self.setMinimumHeight(self.itemRect().height())
        self.updateGeometry()

    def sizeHint(self, which: Qt.SizeHint, constraint: QSizeF | None = None) -> QSizeF:
        """Qt's layout asks this (pyqtgraph's own answer is the text's width)."""
        if which in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
            return QSizeF(0, self.itemRect().height())
        if which == Qt.SizeHint.MaximumSize:
            return QSizeF(-1, -1)
        return QSizeF(0, 0)


def to_display(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) float in [0, 1] -> (H, W) or (H, W, 3) uint8."""
    arr = (image.detach().clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    return arr[0] if arr.shape[0] == 1 else np.ascontiguousarray(arr.transpose(1, 2, 0))


def _diverging_lut(steps: int) -> np.ndarray:
    """(2 * steps + 1, 3) uint8: row i is the colour of t = i / steps - 1."""
    t = np.linspace(-1, 1, 2 * steps + 1)[:, None]
    white = np.ones(3)
    red, blue = np.array([0.84, 0.15, 0.16]), np.array([0.12, 0.47, 0.71])
    rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    return (rgb * 255).round().astype(np.uint8)


DIVERGING_STEPS = 1020  # t in 1/1020 steps: a colour at most 1/255 off the exact map
DIVERGING = _diverging_lut(DIVERGING_STEPS)


def diverging(perturbation: torch.Tensor, scale: float) -> np.ndarray:
    """Signed perturbation -> RGB: blue (negative), white (zero), red (positive).

    A table look-up, not per-pixel float maths: 0.9 vs 6.5 ms of a slider frame's CPU
    at 224 px (measured), the same colours to within 1/255.
    """
    p = (
        perturbation.detach().mean(0).numpy()
        if perturbation.shape[0] > 1
        else perturbation[0].numpy()
    )
    t = np.clip(p * (1 / max(scale, 1e-12)), -1, 1)
    return DIVERGING[np.rint((t + 1) * DIVERGING_STEPS).astype(np.intp)]


class ImageTriptych(pg.GraphicsLayoutWidget):
    """Original | perturbation | adversarial, linked zoom."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.views: list[pg.ViewBox] = []
        self.items: list[pg.ImageItem] = []
        self.titles: list[FixedLabel] = []
        self.title_size, self._ink = "12pt", "#222"
        self._shape: tuple[int, ...] | None = None
        self._reframe = QTimer(self)
        self._reframe.setSingleShot(True)
        self._reframe.setInterval(0)
        self._reframe.timeout.connect(self._frame_images)
        titles = ("Original", "Perturbation", "Adversarial", *EXTRA_TITLES)
        for col, title in enumerate(titles):
            label = FixedLabel(title, size=self.title_size, color="#222")
            vb = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
            if col < 3:  # the extras (the twin's own attack, the noise) come when asked for
                self.addItem(label, row=0, col=col)
                self.addItem(vb, row=1, col=col)
                self.ci.layout.setColumnStretchFactor(col, 1)
            item = pg.ImageItem(axisOrder="row-major")
            vb.addItem(item)
            vb.sigResized.connect(self._on_view_resized)
            if 0 < col < 3:  # (the extras are linked while they are shown)
                vb.setXLink(self.views[0])
                vb.setYLink(self.views[0])
            self.views.append(vb)
            self.items.append(item)
            self.titles.append(label)
        self.full_titles = [label.text for label in self.titles]  # before any eliding
        self.extras: dict[str, bool] = dict.fromkeys(EXTRAS, False)
        # Presenter mode: with both extras shown, they share one narrower column, one above
        # the other, so the three keep their size (issue 24, 7); ``stacked`` asks for it.
        self.stacked = False
        self.column = pg.GraphicsLayout()
        self.column.layout.setContentsMargins(0, 0, 0, 0)
        for row in range(4):  # titles keep their height, the pictures share the rest
            self.column.layout.setRowStretchFactor(row, row % 2)
        self._owner: dict[object, pg.GraphicsLayout] = {}  # where each extra's items are

    def _on_view_resized(self, _view) -> None:
        """A panel got its new size (after the widget's resize: leaving presenter mode
        cropped the pictures): frame the images again once the layout has settled."""
        if self._shape is not None:
            self._reframe.start()

    def _frame_images(self) -> None:
        """Frame the images in the panels on screen (a removed extra panel keeps its old
        size and aspect: framed too, it dragged the linked panels' range and cropped them)."""
        for vb in self.shown_views():
            vb.autoRange(padding=0.02)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        # (also called from the base class's __init__, before this one's attributes exist)
        if getattr(self, "_shape", None) is not None:  # keep the images filling their panels
            self._frame_images()
        if getattr(self, "extras", None) is not None:
            self._fit_titles()

    def shown_views(self) -> list[pg.ViewBox]:
        """The views in the layout: the three, and the extras shown."""
        extra = [self.views[3 + i] for i, k in enumerate(EXTRAS) if self.extras.get(k)]
        return self.views[:3] + extra

    def show_extra(self, key: str, image: torch.Tensor | None, title: str = "") -> None:
        """Show (or, with None, hide) an extra panel: "twin" (the compare model's own
        attacked image) or "noise" (random noise of the same epsilon), after the three."""
        col = 3 + EXTRAS.index(key)
        if image is not None:
            self.items[col].setImage(to_display(image), levels=(0, 255))
            self._set_title(col, title)
        if (image is not None) == self.extras[key]:
            if image is not None:
                self._fit_titles()
            return
        self.extras[key] = image is not None
        self._place_extras()

    def set_stacked(self, on: bool) -> None:
        """Presenter mode (on): two extras share one column, one above the other."""
        if on != self.stacked:
            self.stacked = on
            self._place_extras()

    def is_stacked(self) -> bool:
        """Whether the extras are in their shared column now (stacked, both shown)."""
        return self.stacked and all(self.extras.values())

    def _place_extras(self) -> None:
        """The extras shown, in their places: each in its own column after the three, or
        (``is_stacked``) in one column half as wide, the twin above the noise. At 1280 px
        five panels in a row are ~245 px wide, a third of a 720 px window's height; the
        shared column keeps the three above 40% of it in presenter mode."""
        for item, owner in reversed(self._owner.items()):  # the column's items before it
            owner.removeItem(item)
        self._owner.clear()
        layout = self.ci.layout
        stacked = self.is_stacked()
        layout.setRowStretchFactor(0, 0)  # the titles' row: never taller than a title
        layout.setRowStretchFactor(1, 1)
        if stacked:
            self.addItem(self.column, row=1, col=3)  # (spanning the titles' row made it tall)
            self._owner[self.column] = self.ci
        for i, key in enumerate(EXTRAS):
            col = 3 + i
            label, vb = self.titles[col], self.views[col]
            shown = self.extras[key]
            if shown:
                if stacked:  # the twin in rows 0-1, the noise in rows 2-3
                    self.column.addItem(label, row=2 * i, col=0)
                    self.column.addItem(vb, row=2 * i + 1, col=0)
                    self._owner[label] = self._owner[vb] = self.column
                else:
                    self.addItem(label, row=0, col=col)
                    self.addItem(vb, row=1, col=col)
                    self._owner[label] = self._owner[vb] = self.ci
                vb.setBorder(self.views[0].border)
            # Linked views show the same units per pixel: a smaller (stacked) panel linked
            # would show a corner of its image. A view out of the layout has no size: linked,
            # it would drag the others' range with it.
            link = self.views[0] if shown and not stacked else None
            vb.setXLink(link)
            vb.setYLink(link)
        for col in range(5):
            if col < 3:
                stretch = 2 if stacked else 1
            else:
                shown = self.extras[EXTRAS[col - 3]]
                stretch = (1 if col == 3 else 0) if stacked else int(shown)
            layout.setColumnStretchFactor(col, stretch)
        layout.activate()
        self._frame_images()
        self._reframe.start()  # again once the layout has given the panels their sizes
        self._fit_titles()

    def show_frame(self, original: torch.Tensor, adversarial: torch.Tensor, epsilon: float) -> None:
        perturbation = adversarial - original
        scale = max(float(perturbation.abs().max()), epsilon, 1e-6)
        self.items[0].setImage(to_display(original), levels=(0, 255))
        self.items[1].setImage(diverging(perturbation, scale), levels=(0, 255))
        self.items[2].setImage(to_display(adversarial), levels=(0, 255))
        changed = float(perturbation.abs().max()) > 0  # not at epsilon 0 (or no gradient)
        # no change, no picture: all white ("unchanged") it was a glaring white square on
        # presenter mode's black (on white it showed nothing anyway)
        self.items[1].setVisible(changed)
        if not changed:
            self._set_title(1, "Perturbation: none")
        else:
            self._set_title(1, f"Perturbation, magnified x{1 / scale:.0f}")
        self._fit_titles()
        shape = tuple(original.shape)
        if shape != self._shape:  # new resolution: frame it
            self._shape = shape
            for vb in self.shown_views():
                vb.autoRange(padding=0.02)

    def set_titles(self, original: str, adversarial: str) -> None:
        self._set_title(0, original)
        self._set_title(2, adversarial)
        self._fit_titles()

    def _set_title(self, col: int, text: str) -> None:
        """The title's full text (rich text, names escaped); ``_fit_titles`` shows it."""
        self.full_titles[col] = text
        self.titles[col].setText(text, size=self.titles[col].opts.get("size"), color=self._ink)

    def _fit_titles(self) -> None:
        """Each title in its size, or smaller where it would be wider than its column (four
        or five panels at 1280 px): titles never run into each other. One size for the
        panels of a row, another for the stacked column; below 8 pt a title is cut in the
        middle with "..." and its full text is its tooltip (a long class name): never
        clipped."""
        shown = [i for i in range(len(self.titles)) if i < 3 or self.extras[EXTRAS[i - 3]]]
        stacked = self.is_stacked()
        self.ci.layout.activate()  # (the columns' widths as they are now)
        rooms = {i: self.views[i].geometry().width() - 4 for i in shown}
        groups = [[i for i in shown if i < 3 or not stacked], [i for i in shown if i >= 3]]
        base = float(self.title_size.removesuffix("pt"))
        for group in groups if stacked else groups[:1]:
            room = max(40.0, min(rooms[i] for i in group))
            size = fitting_size([self.full_titles[i] for i in group], room, base)
            for i in group:
                text, tip = elided(self.full_titles[i], room, size)
                label = self.titles[i]
                if label.text != text or label.opts.get("size") != f"{size:g}pt":
                    label.setText(text, size=f"{size:g}pt", color=self._ink)
                label.setToolTip(tip)

    def set_title_size(self, size: str, color: str = "#222") -> None:
        """Bigger titles in presenter mode; the text stays what it was."""
        self.title_size, self._ink = size, color
        for label, text in zip(self.titles, self.full_titles, strict=True):
            label.setText(text, size=size, color=color)
        self._fit_titles()
        for vb in self.views:  # a frame, so a black image shows its edge on black
            vb.setBorder(pg.mkPen("#888", width=1) if color != "#222" else None)


def fitting_size(texts: list[str], room: float, base: float, smallest: float = 8) -> float:
    """The largest point size, from ``base`` down to ``smallest``, at which every one of the
    rich ``texts`` is at most ``room`` px wide (``smallest`` if none is)."""
    doc, font = QTextDocument(), QFont()
    doc.setDocumentMargin(0)  # (the margin is not drawn: only the text's width counts)
    size = base
    for text in texts:
        doc.setHtml(text)
        while size > smallest:
            font.setPointSizeF(size)
            doc.setDefaultFont(font)
            if doc.idealWidth() <= room:
                break
            size -= 1
    return size


def elided(html: str, room: float, size: float) -> tuple[str, str]:
    """``html`` as it fits ``room`` px at ``size`` pt, and its tooltip: as it is with no
    tooltip, or as plain text cut with "..." (escaped again), the full text as the tooltip.
    The answer after the colon and its confidence stay whole where they fit: the words
    before it are cut ("Standard, att...: Ankle boot (62.1%)"; cut in the middle, the
    class name lost its start, "Standard, attacke...nkle boot"); else the middle is cut."""
    doc, font = QTextDocument(), QFont()
    doc.setDocumentMargin(0)
    font.setPointSizeF(size)
    doc.setDefaultFont(font)
    doc.setHtml(html)
    if doc.idealWidth() <= room:
        return html, ""
    plain = doc.toPlainText()
    metrics = QFontMetrics(font)
    who, colon, answer = plain.partition(": ")
    left = room - metrics.horizontalAdvance(colon + answer)
    if colon and left >= metrics.horizontalAdvance(who[:3] + "\u2026"):
        cut = metrics.elidedText(who, Qt.TextElideMode.ElideRight, int(left)) + colon + answer
    else:
        cut = metrics.elidedText(plain, Qt.TextElideMode.ElideMiddle, int(room))
    return escape(cut), escape(plain)


def big_font(widget: QWidget, points: int, bold: bool = True) -> None:
    font = QFont(widget.font())
    font.setPointSize(points)
    font.setBold(bold)
    widget.setFont(font)
