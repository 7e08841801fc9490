"""The Train view's three plots: loss per epoch, validation accuracy per epoch, Figure 3.

``TrainPlots`` owns the plot widgets and their curves (made once, then updated
with ``setData``). ``show_epochs(history)`` draws the current run's epochs,
``show_sweep(fig)`` draws one sweep's ``Figure3`` points. It draws what it is
given and keeps no results of its own.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

from fgsm_studio.core.training import EpochMetrics
from fgsm_studio.gui.train_results import Figure3


def _plot(title: str, ylabel: str) -> pg.PlotWidget:
    w = pg.PlotWidget(background="w")
    w.setTitle(title, color="#222", size="10pt")
    w.setLabel("left", ylabel)
    w.addLegend(offset=(-5, 5), labelTextColor="#222")
    w.setMenuEnabled(False)
    return w


def _pen(color: str) -> object:
    return pg.mkPen(color, width=2)


class TrainPlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = _plot("Training loss per epoch", "loss")
        self.acc_plot = _plot("Validation accuracy per epoch", "accuracy %")
        self.acc_plot.setYRange(0, 100)
        self.sweep_plot = _plot("Figure 3: accuracy per a1", "held-out accuracy %")
        self.sweep_plot.setYRange(0, 100)
        self.sweep_plot.setLabel("bottom", "a1")
        loss, acc, sweep = self.loss_plot, self.acc_plot, self.sweep_plot
        self.curves = {
            "loss": loss.plot([], [], pen=_pen("#1f77b4"), symbol="o", name="total"),
            "loss_ori": loss.plot([], [], pen=_pen("#2ca02c"), name="L_ori"),
            "loss_adv": loss.plot([], [], pen=_pen("#d62728"), name="L_adv (FGSM)"),
            "val_acc": acc.plot([], [], pen=_pen("#2ca02c"), symbol="o", name="clean"),
            "val_fgsm_acc": acc.plot([], [], pen=_pen("#d62728"), symbol="o", name="FGSM"),
            "sweep_clean": sweep.plot([], [], pen=_pen("#2ca02c"), symbol="o", name="clean"),
            "sweep_fgsm": sweep.plot([], [], pen=_pen("#d62728"), symbol="o", name="FGSM"),
            "sweep_pgd": sweep.plot([], [], pen=_pen("#9467bd"), symbol="t", name="PGD"),
        }
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for p in (loss, acc, sweep):
            row.addWidget(p)

    def show_epochs(self, history: list[EpochMetrics]) -> None:
        xs = [h.epoch for h in history]
        for key in ("loss", "loss_ori", "loss_adv"):
            self.curves[key].setData(xs, [getattr(h, key) for h in history])
        for key in ("val_acc", "val_fgsm_acc"):
            self.curves[key].setData(xs, [100 * getattr(h, key) for h in history])

    def show_sweep(self, fig: Figure3) -> None:
        """Figure 3 for one sweep: accuracy per a1 (points not measured are left out)."""
        title = f"Figure 3: accuracy per a1 (sweep {fig.sweep})" if fig.sweep else "Figure 3"
        self.sweep_plot.setTitle(title, color="#222", size="10pt")
        for key, values in (
            ("sweep_clean", fig.clean),
            ("sweep_fgsm", fig.fgsm),
            ("sweep_pgd", fig.pgd),
        ):
            pts = [(a, 100 * v) for a, v in zip(fig.a1, values, strict=True) if v is not None]
            self.curves[key].setData([a for a, _ in pts], [v for _, v in pts])
