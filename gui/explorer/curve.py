"""The epsilon curve: the model's confidence in the original class and in the top class as
the attack grows, with where it flips (and, in presenter mode, a one-line version on key
C).
"""

from __future__ import annotations

import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from .panels import PRED, TARGET, TRUE

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

# The confidence axis: 0, 0.5 and 1 labelled, quarters marked. pyqtgraph's own choice
# (0.2 apart) put six labels into the ~90 px the curve has at 1280x720, touching.
CONFIDENCE_TICKS = [[(0, "0"), (0.5, "0.5"), (1, "1")], [(0.25, ""), (0.75, "")]]


class EpsilonCurve(pg.PlotWidget):
    """Confidence vs epsilon for the current image, the flip point and the current epsilon.

    The sweep is always FGSM's (one step per epsilon: cheap enough for every slider place),
    and it says so: in its title, and, while another attack is chosen, in "FGSM flips
    at", so the flip point is never read as BIM's or PGD's.
    """

    TITLE = "Confidence under FGSM"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.attack = "fgsm"
        self.presenter, self.ink = False, "#222"
        self._flip: float | None = None  # the sweep's flip epsilon, labelled by _label_flip
        self._flip_target: int | None = None
        self.setLabel("bottom", "epsilon")
        self.getAxis("bottom").enableAutoSIPrefix(False)
        self.setYRange(0, 1, padding=0.02)
        self.getAxis("left").setTicks(CONFIDENCE_TICKS)
        self.setXRange(0, 0.5, padding=0.01)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setMenuEnabled(False)
        # The legend sits outside the plot area, below the epsilon axis: it never covers
        # the curves or the flip point (issue 24, 11); two short names a row (three did
        # not fit the curve's quarter of the row at 1280 px).
        self.legend = pg.LegendItem(colCount=2, labelTextColor="#222", labelTextSize="8pt")
        self.plotItem.layout.addItem(self.legend, 4, 1)
        self._legend_placed = True
        self.original = self.plot([], [], pen=pg.mkPen(TRUE, width=2))
        self.target = self.plot([], [], pen=pg.mkPen(TARGET, width=2))
        self.winner = self.plot([], [], pen=pg.mkPen(PRED, width=2, style=Qt.PenStyle.DashLine))
        self.legend.addItem(self.original, "original")
        self.legend.addItem(self.winner, "top class")  # "target" joins while a target is shown
        self.updating = pg.TextItem("", color="#555", anchor=(0.5, 0.5))
        self.updating.setPos(0.25, 0.5)
        self.addItem(self.updating)
        self.current = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#333", width=2))
        self.flip = pg.InfiniteLine(
            pos=0, angle=90, pen=pg.mkPen(PRED, width=1, style=Qt.PenStyle.DotLine)
        )
        for item in (self.current, self.flip):
            self.addItem(item)
        self.flip.hide()
        # "flips at" is the title's second line, outside the plot: never over a curve or
        # the legend, never cut at the plot's edge; the line is always there (a blank one
        # while there is no flip) so the plot never moves.
        self.flip_words = ""
        self._title()

    def clear_sweep(self, message: str = "Updating the curve for the new image...") -> None:
        """The old image's curve is gone at once; ``message`` says a new one is coming."""
        for line in (self.original, self.target, self.winner):
            line.setData([], [])
        self._flip = None
        self.flip.hide()
        self.flip_words = ""
        self._title()
        self.updating.setText(message)
        self.updating.setVisible(bool(message))

    def set_range(self, maximum: float) -> None:
        """The epsilon axis spans 0 to ``maximum`` (the model's slider range)."""
        self.setXRange(0, maximum, padding=0.01)
        self.updating.setPos(maximum / 2, 0.5)

    def show_sweep(
        self,
        epsilons: torch.Tensor,
        probs: torch.Tensor,
        original: int,
        flip: float | None,
        *,
        target: int | None = None,
    ) -> None:
        """Confidence in the original class, the target (if any) and the top class."""
        e = epsilons.numpy()
        self.updating.hide()
        self.original.setData(e, probs[:, original].numpy())
        self.legend.removeItem(self.target)
        if target is not None:
            self.target.setData(e, probs[:, target].numpy())
            self.legend.addItem(self.target, "target")
        else:
            self.target.setData([], [])
        self.winner.setData(e, probs.max(1).values.numpy())
        self.set_range(float(e[-1]))
        self.flip.setVisible(flip is not None)
        self._flip, self._flip_target = flip, target
        if flip is not None:
            self.flip.setPos(flip)
        self._label_flip()

    def set_attack(self, attack: str) -> None:
        """The attack the images use; the curve stays FGSM's and says so if it differs."""
        self.attack = attack
        self._label_flip()

    def _label_flip(self) -> None:
        flip = self._flip
        if flip is None:
            self.flip_words = ""
        else:
            word = "reaches the target at" if self._flip_target is not None else "flips at"
            who = "" if self.attack == "fgsm" else "FGSM "
            self.flip_words = f"{who}{word} {flip:.3f}"
        self._title()

    def _title(self) -> None:
        if self.presenter:  # one line: the 118 px of presenter mode's row left no plot
            said = f": <span style='color:{PRED}'>{self.flip_words}</span>"
            text = f"Confidence{said}" if self.flip_words else self.TITLE
            self.setTitle(text, color=self.ink, size="12pt")
            return
        second = self.flip_words or "&nbsp;"
        self.setTitle(
            f"{self.TITLE}<br><span style='color:{PRED}'>{second}</span>",
            color=self.ink,
            size="10pt",
        )

    def set_epsilon(self, epsilon: float) -> None:
        self.current.setPos(epsilon)

    def set_presenter_look(self, on: bool) -> None:
        """Presenter mode: light on black, larger type (key C shows it there). Its row is
        118 px: the title is one line with the flip point, the legend and the axis's name
        go (the two title lines, the legend and "epsilon" left the plot ~10 px tall)."""
        ink, paper = ("#fff", "#000") if on else ("#222", "w")
        self.presenter, self.ink = on, ink
        self.setBackground(paper)
        self.legend.setVisible(not on)
        if on == self._legend_placed:  # (a hidden legend still took its row)
            if on:
                self.plotItem.layout.removeItem(self.legend)
            else:
                self.plotItem.layout.addItem(self.legend, 4, 1)
            self._legend_placed = not on
        self.getAxis("bottom").showLabel(not on)
        self._title()
        font = QFont()
        font.setPointSize(11 if on else 9)
        for name in ("left", "bottom"):
            axis = self.getAxis(name)
            axis.setTickFont(font)
            axis.setPen(ink)
            axis.setTextPen(ink)
        self.current.setPen(pg.mkPen(ink, width=2))
        self.getAxis("left").setTicks(CONFIDENCE_TICKS)
