"""The Train view's three plots: loss per epoch, validation accuracy per epoch, Figure 3.

``TrainPlots`` owns the plot widgets and their curves (made once, then updated
with ``setData``). ``show_epochs(history)`` draws the current run's epochs (clean,
FGSM and the PGD monitor's accuracy), ``show_sweep(fig)`` draws one sweep's
Figure 3 (``core.reports.figures.Figure3Data``) with its error bars, 95% confidence
intervals as in the report and the export. Every series has its own colour and
marker; each legend sits in its own row under its plot, so it never covers data;
the axes are set to fit what is drawn. It keeps no results of its own.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QHBoxLayout, QWidget

from fgsm_studio.core.reports.figures import BARS, Figure3Data
from fgsm_studio.core.training.config import EpochMetrics

# What Figure 3's bars are, here, in the export and in the report (core.reports.figures).
SWEEP_BARS = f"{BARS} (one run per a1: the Wilson interval over its held-out images)"
# (colour, marker) per series; colour-blind-safe (Okabe-Ito) and told apart by shape too.
STYLE = {
    "loss": ("#000000", "o"),
    "loss_ori": ("#009E73", "s"),
    "loss_adv": ("#D55E00", "t"),
    "val_acc": ("#009E73", "o"),
    "val_fgsm_acc": ("#E69F00", "s"),
    "val_pgd_acc": ("#CC79A7", "t"),
    "sweep_clean": ("#009E73", "o"),
    "sweep_fgsm": ("#E69F00", "s"),
    "sweep_pgd": ("#CC79A7", "t"),
}
NAMES = {
    "loss": "total",
    "loss_ori": "L_ori",
    "loss_adv": "L_adv",
    "val_acc": "clean",
    "val_fgsm_acc": "FGSM",
    "val_pgd_acc": "PGD",
    "sweep_clean": "clean",
    "sweep_fgsm": "FGSM",
    "sweep_pgd": "PGD",
}


class _Chart(pg.GraphicsLayoutWidget):
    """A plot with its legend in a row of its own below it, and a title that fits: cut with
    "..." where the chart is narrower than it, whole on hover (its tooltip's first line)."""

    def __init__(self, title: str, xlabel: str, ylabel: str) -> None:
        super().__init__()
        self.setBackground("w")
        self.title, self._shown, self._tip = title, "", ""
        self.plot = self.addPlot(row=0, col=0)
        self._fit_title()
        self.plot.setLabel("left", ylabel)
        self.plot.setLabel("bottom", xlabel)
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.legend = pg.LegendItem(colCount=3, labelTextColor="#222", labelTextSize="8pt")
        self.addItem(self.legend, row=1, col=0)
        self.ci.layout.setRowStretchFactor(0, 10)
        self.ci.layout.setRowStretchFactor(1, 1)
        self.ci.layout.setContentsMargins(4, 9, 4, 9)  # (9 a side left Figure 3's title short)

    def _fit_title(self, width: int | None = None) -> None:
        """The title in the chart's width (pyqtgraph makes a plot at least as wide as its
        title: a longer one widened the plot past the chart's edge, clipped there, under a
        ~1180 px window)."""
        font = QFont(self.font())
        font.setPointSizeF(10)
        axis = self.plot.getAxis("left").effectiveSizeHint(Qt.SizeHint.MinimumSize).width()
        left, _, right, _ = self.ci.layout.getContentsMargins()
        # the title spans the plot's column, not its axis's; 12: the plot's own margins and
        # the label's padding around its text
        room = max(40, int((width or self.width()) - axis - left - right) - 12)
        text = QFontMetrics(font).elidedText(self.title, Qt.TextElideMode.ElideRight, room)
        if text != self._shown:
            self._shown = text
            self.plot.setTitle(html.escape(text), color="#222", size="10pt")
            self.setToolTip(self._tip)

    def setToolTip(self, tip: str) -> None:
        self._tip = tip
        whole = self.title if self._shown != self.title else ""
        super().setToolTip("\n".join(t for t in (whole, tip) if t))

    def resizeEvent(self, event) -> None:
        if hasattr(self, "plot"):  # (pyqtgraph resizes it while it is being made)
            self._fit_title(event.size().width())  # before pyqtgraph lays the plot out
        super().resizeEvent(event)

    def curve(self, key: str) -> pg.PlotDataItem:
        color, marker = STYLE[key]
        item = self.plot.plot(
            [],
            [],
            pen=pg.mkPen(color, width=2),
            symbol=marker,
            symbolBrush=color,
            symbolPen=pg.mkPen(color),
            symbolSize=7,
        )
        # the legend draws the marker from the scatter's own brush, set only with data: set it now
        item.scatter.setBrush(color)
        item.scatter.setPen(pg.mkPen(color))
        self.legend.addItem(item, NAMES[key])
        return item


def _fit_x(plot: pg.PlotItem, xs: Sequence[float], *, whole: bool = False) -> None:
    """The x axis over the data, a little padded; ``whole``: ticks on whole numbers (epochs)."""
    lo, hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    pad = max((hi - lo) * 0.08, 0.3 if hi == lo else 0.0)
    plot.setXRange(lo - pad, hi + pad, padding=0)
    if whole:
        step = max(1, round((hi - lo) / 6))
        plot.getAxis("bottom").setTickSpacing(step, step)


class TrainPlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_chart = _Chart("Training loss", "epoch", "loss")
        self.acc_chart = _Chart("Validation accuracy", "epoch", "accuracy %")
        self.sweep_chart = _Chart(
            "Figure 3: per a1 (bars: 95% CI)", "a1 (FGSM loss weight)", "held-out %"
        )
        self.loss_plot_tip = (
            "L_ori: loss on the clean images; L_adv: loss on their FGSM versions; "
            "total: L_ori + a1 L_adv + a2 penalty."
        )
        self.loss_chart.setToolTip(self.loss_plot_tip)
        self.acc_chart.setToolTip(
            "Each epoch: clean and FGSM accuracy on the validation images, and PGD accuracy "
            "(a few-step attack) on a fixed subset of them. FGSM far above PGD: the defense "
            "only looks robust."
        )
        self.loss_plot, self.acc_plot = self.loss_chart.plot, self.acc_chart.plot
        self.sweep_plot = self.sweep_chart.plot
        for p in (self.acc_plot, self.sweep_plot):
            p.setYRange(0, 102, padding=0)
        self.sweep_chart.setToolTip(
            "Figure 3 (the paper's): held-out accuracy of the models of one a1 sweep, "
            f"clean and under attack; bars: {SWEEP_BARS}."
        )
        self.curves = {
            key: chart.curve(key)
            for chart, keys in (
                (self.loss_chart, ("loss", "loss_ori", "loss_adv")),
                (self.acc_chart, ("val_acc", "val_fgsm_acc", "val_pgd_acc")),
                (self.sweep_chart, ("sweep_clean", "sweep_fgsm", "sweep_pgd")),
            )
            for key in keys
        }
        self.error_bars = {
            key: pg.ErrorBarItem(
                x=np.zeros(0),
                y=np.zeros(0),
                height=np.zeros(0),
                beam=0.03,
                pen=pg.mkPen(STYLE[key][0]),
            )
            for key in ("sweep_clean", "sweep_fgsm", "sweep_pgd")
        }
        for bar in self.error_bars.values():
            self.sweep_plot.addItem(bar)
        # A stopped run's unfinished epoch: its mean training loss so far, a hollow marker
        # at its fraction of an epoch, labelled (it has no validation: issue 24, 13).
        self.partial = pg.ScatterPlotItem(
            size=10, symbol="o", pen=pg.mkPen("#000000", width=2), brush=pg.mkBrush(None)
        )
        self.partial_text = pg.TextItem("", color="#222", anchor=(1, 1))
        self.loss_plot.addItem(self.partial)
        self.loss_plot.addItem(self.partial_text)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for chart in (self.loss_chart, self.acc_chart, self.sweep_chart):
            row.addWidget(chart)
        self._empty_ranges()

    def _empty_ranges(self) -> None:
        """Axes before any data: epochs and a1 from 0 to 1, loss 0-1. Left to pyqtgraph, an
        empty plot with the partial-epoch marker centred on 0 and read "-400 ... 400 (x0.001)"."""
        self.loss_plot.setXRange(0, 1, padding=0)
        self.loss_plot.setYRange(0, 1, padding=0)
        self.acc_plot.setXRange(0, 1, padding=0)
        self.sweep_plot.setXRange(-0.05, 1.05, padding=0)

    def show_epochs(self, history: list[EpochMetrics]) -> None:
        if not history:
            for key in ("loss", "loss_ori", "loss_adv", "val_acc", "val_fgsm_acc", "val_pgd_acc"):
                self.curves[key].setData([], [])
            self._empty_ranges()
            return
        xs = [h.epoch for h in history]
        losses = []
        for key in ("loss", "loss_ori", "loss_adv"):
            ys = [getattr(h, key) for h in history]
            losses += ys
            self.curves[key].setData(xs, ys)
        for key in ("val_acc", "val_fgsm_acc", "val_pgd_acc"):
            pts = [(h.epoch, getattr(h, key)) for h in history if getattr(h, key) is not None]
            self.curves[key].setData([x for x, _ in pts], [100 * v for _, v in pts])
        for plot in (self.loss_plot, self.acc_plot):
            _fit_x(plot, xs, whole=True)
        top = max(losses, default=1.0)
        self.loss_plot.setYRange(0, top * 1.08 if top > 0 else 1.0, padding=0)

    def show_partial(self, x: float | None, loss: float = 0.0, words: str = "") -> None:
        """The unfinished epoch's mean training loss at ``x`` (epochs, e.g. 2.7), or none."""
        if x is None:
            self.partial.setData([], [])
            self.partial_text.setText("")
            return
        self.partial.setData([x], [loss])
        self.partial_text.setText(words)
        self.partial_text.setPos(x, loss)
        _fit_x(self.loss_plot, [*range(1, math.ceil(x) + 1), x], whole=True)
        low, top = self.loss_plot.viewRange()[1]
        if loss > top:
            self.loss_plot.setYRange(0, loss * 1.08, padding=0)
        # The words inside the plot: below the marker in the plot's upper half, above it in
        # the lower; as far left of it as it is along the axis (they were cut at the edges)
        (x0, x1), (y0, y1) = self.loss_plot.viewRange()
        along = min(max((x - x0) / (x1 - x0), 0.0), 1.0) if x1 > x0 else 0.5
        self.partial_text.setAnchor((along, 0 if loss > (y0 + y1) / 2 else 1))

    def show_sweep(self, fig: Figure3Data | None) -> None:
        """Figure 3 for one sweep: accuracy per a1 with each point's 95% confidence interval
        (the report's and the export's bars; a series not measured everywhere is left out)."""
        self.sweep_chart.setToolTip(
            "Figure 3 (the paper's): held-out accuracy of the models of one a1 sweep, clean "
            f"and under attack; bars: {SWEEP_BARS}."
            + (f"\n{fig.caption}" if fig is not None else "")
        )
        if fig is None:
            self.sweep_plot.setXRange(-0.05, 1.05, padding=0)
        for key, prefix in (("sweep_clean", "clean"), ("sweep_fgsm", "FGSM"), ("sweep_pgd", "PGD")):
            label = next((k for k in (fig.series if fig else {}) if k.startswith(prefix)), None)
            if fig is None or label is None:
                self.curves[key].setData([], [])
                self.error_bars[key].setData(
                    x=np.zeros(0), y=np.zeros(0), height=np.zeros(0), top=None, bottom=None
                )
                continue
            xs = np.array(fig.a1, dtype=float)
            ys = np.array(fig.series[label], dtype=float)
            down, up = (
                np.array([e[i] if isinstance(e, tuple) else e for e in fig.errors[label]])
                for i in (0, 1)
            )
            self.curves[key].setData(xs, ys)
            self.error_bars[key].setData(x=xs, y=ys, height=None, top=up, bottom=down)
