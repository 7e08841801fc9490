"""Prediction bars: the model's top classes for one image as horizontal bars (pyqtgraph),
with the true and the predicted class marked and titles that fit their panel.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from ..safe_text import escape
from .panels import GREY, LEGEND, NAME_CHARS, PRED, TARGET, TRUE, elided, fitting_size

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

# px: a chart's least height outside presenter mode. Ten class names at 9 pt need a line
# each (12 px: pyqtgraph's label is 0.8 of the font's 14 px), and the title and the 0-100%
# axis theirs; at 150 px (the walk-through open at 1280x720) the labels 0-9 overlapped.
NORMAL_CHART = 172


class PredictionBars(QWidget):
    """Class probabilities as horizontal bars, each class's name beside its bar.

    All classes up to ``max_all`` (the first class on top), else the top-k in order
    of probability (plus the true and target classes if they are not among them).
    """

    def __init__(
        self, title: str, parent: QWidget | None = None, *, max_all: int = 10, top_k: int = 5
    ) -> None:
        super().__init__(parent)
        self.max_all, self.top_k = max_all, top_k
        self.title_size, self.ink = "10pt", "#222"
        self.plot = pg.PlotWidget(background="w")
        self.title = title
        # The title is a label over the whole panel (a plot title spans only the bars'
        # column and was clipped); elided, never widening the panel.
        self.heading = QLabel()
        self.heading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._heading_pt = 0.0  # the size the style sheet has now
        self._draw_heading()
        self.plot.setXRange(0, 1, padding=0)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.getViewBox().invertY(True)
        self.plot.getAxis("bottom").setTicks([[(0, "0"), (0.5, "50%"), (1, "100%")]])
        self.setMinimumHeight(NORMAL_CHART)
        # Equal thirds whatever the title's length: never let a title widen the row.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plot.setMinimumWidth(50)
        self.bars = pg.BarGraphItem(x0=[0], y=[0], height=0.7, width=[0], brush=GREY)
        self.plot.addItem(self.bars)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.heading)
        layout.addWidget(self.plot)
        self.shown: list[int] = []
        self.names: list[str] = []
        self.heights = np.zeros(0)

    def set_title(self, title: str) -> None:
        self.title = title
        self._draw_heading()

    def _draw_heading(self) -> None:
        self._heading_pt = 0.0  # the style sheet again (presenter mode's ink and size)
        self._fit_heading()

    def _fit_heading(self) -> None:
        """The title as it fits the panel's width: up to 2 pt smaller, then cut in the middle
        with "..." (a long class name), the full text then on hover; never clipped. Its
        height stays its full size's, so a smaller title moves nothing."""
        base = float(self.title_size.removesuffix("pt"))
        room = self.heading.width() - 8  # the style sheet's padding, and a margin
        size, text, tip = base, self.title, ""
        if room > 0:
            size = fitting_size([self.title], room, base, smallest=max(8.0, base - 2))
            text, tip = elided(self.title, room, size)
        if size != self._heading_pt:
            self._heading_pt = size
            paper = "#000" if self.ink != "#222" else "#fff"
            self.heading.setStyleSheet(
                f"QLabel {{ color:{self.ink}; background:{paper}; font-size:{size:g}pt; "
                "padding:3px; }"
            )
            font = QFont(self.heading.font())
            font.setPointSizeF(base)
            self.heading.setFixedHeight(QFontMetrics(font).height() + 8)
        self.heading.setText(text)
        self.heading.setToolTip(tip)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_heading()

    def set_look(self, title_size: str, ink: str, background: str, axis_pt: int) -> None:
        """Presenter mode: bigger type, light ink on black."""
        self.title_size, self.ink = title_size, ink
        self.plot.setBackground(background)
        self._draw_heading()
        font = QFont()
        font.setPointSize(axis_pt)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setTickFont(font)
            axis.setPen(ink)
            axis.setTextPen(ink)
        self._fit_names()

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
            x0=np.zeros(len(idx)),
            y=np.arange(len(idx)),
            width=self.heights,
            height=0.7,
            brushes=brushes,
            pens=pens,
        )
        names = [class_names[i] if i < len(class_names) else str(i) for i in idx]
        short = [n if len(n) <= NAME_CHARS else n[: NAME_CHARS - 1] + "." for n in names]
        if short != self.names:  # the axis and its width only when the names change
            self.names = short
            self.plot.getAxis("left").setTicks([list(enumerate(short))])
            self.plot.setYRange(-0.6, len(idx) - 0.4, padding=0)
            self._fit_names()
        lines = (f"{escape(n)}: {100 * h:.1f}%" for n, h in zip(names, self.heights, strict=True))
        self.plot.setToolTip(f"<p>{LEGEND}</p>" + "<br>".join(lines))

    def clear(self) -> None:
        """No bars (a new model is coming: the old answers never show under its name)."""
        self.bars.setOpts(x0=[0], y=[0], width=[0], height=0.7, brushes=[GREY], pens=[None])
        self.shown, self.heights, self.names = [], np.zeros(0), []
        self.plot.getAxis("left").setTicks([[]])
        self.plot.setToolTip("")

    def _fit_names(self) -> None:
        """The name axis as wide as the longest name shown, so none is clipped."""
        axis = self.plot.getAxis("left")
        metrics = QFontMetrics(axis.style.get("tickFont") or self.font())
        widest = max((metrics.horizontalAdvance(n) for n in self.names), default=10)
        axis.setWidth(widest + 12)
