"""The explorer's drawings: the three image panels, the prediction bars, the epsilon curve.

All pyqtgraph items are made once and updated with ``setImage`` / ``setOpts`` /
``setData``. Images arrive as (C, H, W) tensors in [0, 1] and are shown at the
model's input resolution (nearest-neighbour, zoom with the mouse wheel; the
three views are linked). The perturbation uses a diverging map centred on zero
(blue = darker, white = unchanged, red = brighter), scaled to +-epsilon, and
its scale is printed in the panel's title.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

GREY, PRED, TRUE, TARGET = "#9aa5b1", "#d62728", "#2ca02c", "#ff7f0e"


def to_display(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) float in [0, 1] -> (H, W) or (H, W, 3) uint8."""
    arr = (image.detach().clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    return arr[0] if arr.shape[0] == 1 else np.ascontiguousarray(arr.transpose(1, 2, 0))


def diverging(perturbation: torch.Tensor, scale: float) -> np.ndarray:
    """Signed perturbation -> RGB: blue (negative), white (zero), red (positive)."""
    p = (
        perturbation.detach().mean(0).numpy()
        if perturbation.shape[0] > 1
        else perturbation[0].numpy()
    )
    t = np.clip(p / max(scale, 1e-12), -1, 1)[..., None]
    white = np.ones(3)
    red, blue = np.array([0.84, 0.15, 0.16]), np.array([0.12, 0.47, 0.71])
    rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    return (rgb * 255).round().astype(np.uint8)


class ImageTriptych(pg.GraphicsLayoutWidget):
    """Original | perturbation | adversarial, linked zoom."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.views, self.items, self.titles = [], [], []
        for col, title in enumerate(("Original", "Perturbation", "Adversarial")):
            label = self.addLabel(title, row=0, col=col, size="12pt", color="#222")
            vb = self.addViewBox(row=1, col=col, lockAspect=True, invertY=True, enableMenu=False)
            item = pg.ImageItem(axisOrder="row-major")
            vb.addItem(item)
            if self.views:
                vb.setXLink(self.views[0])
                vb.setYLink(self.views[0])
            self.views.append(vb)
            self.items.append(item)
            self.titles.append(label)
        self._shape: tuple[int, ...] | None = None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if (
            getattr(self, "_shape", None) is not None
        ):  # keep the images filling their panels (presenter mode)
            for vb in self.views:
                vb.autoRange(padding=0.02)

    def show_frame(self, original: torch.Tensor, adversarial: torch.Tensor, epsilon: float) -> None:
        perturbation = adversarial - original
        scale = max(float(perturbation.abs().max()), epsilon, 1e-6)
        self.items[0].setImage(to_display(original), levels=(0, 255))
        self.items[1].setImage(diverging(perturbation, scale), levels=(0, 255))
        self.items[2].setImage(to_display(adversarial), levels=(0, 255))
        self.titles[1].setText(f"Perturbation (x{1 / scale:.0f}: colour range +-{scale:.3f})")
        shape = tuple(original.shape)
        if shape != self._shape:  # new resolution: frame it
            self._shape = shape
            for vb in self.views:
                vb.autoRange(padding=0.02)

    def set_titles(self, original: str, adversarial: str) -> None:
        self.titles[0].setText(original)
        self.titles[2].setText(adversarial)


class PredictionBars(QWidget):
    """Class probabilities as bars; all classes up to ``max_all``, else the top-k."""

    def __init__(
        self, title: str, parent: QWidget | None = None, *, max_all: int = 10, top_k: int = 5
    ) -> None:
        super().__init__(parent)
        self.max_all, self.top_k = max_all, top_k
        self.plot = pg.PlotWidget(background="w")
        self.plot.setTitle(title, color="#222", size="10pt")
        self.plot.setYRange(0, 1, padding=0)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.getAxis("left").setTicks([[(0, "0"), (0.5, "0.5"), (1, "1")]])
        self.setMinimumHeight(170)
        # Equal thirds whatever the title's length: never let a title widen the row.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot.setMinimumWidth(50)
        self.bars = pg.BarGraphItem(x=[0], height=[0], width=0.7, brush=GREY)
        self.plot.addItem(self.bars)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.shown: list[int] = []
        self.heights = np.zeros(0)

    def set_title(self, title: str) -> None:
        self.plot.setTitle(title, color="#222", size="10pt")

    def show_probs(
        self,
        probs: torch.Tensor,
        class_names: list[str],
        *,
        pred: int,
        true: int | None = None,
        target: int | None = None,
    ) -> None:
        p = probs.detach().float().numpy()
        k = len(p)
        idx = list(range(k)) if k <= self.max_all else list(np.argsort(-p)[: self.top_k])
        for extra in (true, target):  # keep the true and target classes visible in top-k mode
            if extra is not None and extra not in idx and k > self.max_all:
                idx.append(extra)
        brushes = []
        for i in idx:
            color = PRED if i == pred else TARGET if i == target else TRUE if i == true else GREY
            brushes.append(pg.mkBrush(color))
        pens = [pg.mkPen(TRUE, width=3) if i == true else pg.mkPen(None) for i in idx]
        self.shown, self.heights = idx, p[idx]
        self.bars.setOpts(
            x=np.arange(len(idx)), height=self.heights, brushes=brushes, pens=pens, width=0.7
        )
        names = [class_names[i] if i < len(class_names) else str(i) for i in idx]
        short = [n if len(n) <= 12 else n[:11] + "." for n in names]
        self.plot.getAxis("bottom").setTicks([list(enumerate(short))])
        self.plot.setXRange(-0.6, len(idx) - 0.4, padding=0)


class EpsilonCurve(pg.PlotWidget):
    """Confidence vs epsilon for the current image, the flip point and the current epsilon."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setTitle("Confidence vs epsilon (FGSM)", color="#222", size="10pt")
        self.setLabel("bottom", "epsilon")
        self.getAxis("bottom").enableAutoSIPrefix(False)
        self.setYRange(0, 1, padding=0.02)
        self.setXRange(0, 0.5, padding=0.01)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMenuEnabled(False)
        self.addLegend(offset=(-5, 5), labelTextColor="#222")
        self.original = self.plot([], [], pen=pg.mkPen(TRUE, width=2), name="original class")
        self.winner = self.plot(
            [], [], pen=pg.mkPen(PRED, width=2, style=Qt.PenStyle.DashLine), name="top class"
        )
        self.current = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#333", width=2))
        self.flip = pg.InfiniteLine(
            pos=0, angle=90, pen=pg.mkPen(PRED, width=1, style=Qt.PenStyle.DotLine)
        )
        self.flip_text = pg.TextItem("", color=PRED, anchor=(0, 0))
        for item in (self.current, self.flip, self.flip_text):
            self.addItem(item)
        self.flip.hide()
        self.flip_text.hide()

    def show_sweep(
        self, epsilons: torch.Tensor, probs: torch.Tensor, cls: int, flip: float | None
    ) -> None:
        e = epsilons.numpy()
        self.original.setData(e, probs[:, cls].numpy())
        self.winner.setData(e, probs.max(1).values.numpy())
        self.setXRange(0, float(e[-1]), padding=0.01)
        self.flip.setVisible(flip is not None)
        self.flip_text.setVisible(flip is not None)
        if flip is not None:
            self.flip.setPos(flip)
            self.flip_text.setText(f"flips at {flip:.3f}")
            self.flip_text.setPos(flip, 0.98)

    def set_epsilon(self, epsilon: float) -> None:
        self.current.setPos(epsilon)


def big_font(widget: QWidget, points: int, bold: bool = True) -> None:
    font = QFont(widget.font())
    font.setPointSize(points)
    font.setBold(bold)
    widget.setFont(font)


def color(name: str) -> QColor:
    return QColor(name)
