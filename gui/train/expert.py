"""The Train form's expert settings: a section that opens under a button, one line closed.

``ExpertSettings`` makes the fields most runs leave alone: the WR_FGSM penalty, the
optimiser's numbers, what the best epoch is chosen by, the seed, augmentation and
the options of one defense or network (attack steps for PGD / TRADES, beta for
TRADES, the epsilon warm-up for any defense, the first layer of the paper's big
networks). It lays them out as rows of the form's own ``QFormLayout`` (so their
labels line up with the rest), shows each only while the section is open and where
it applies (``core.catalogue.applies``), with a one-line note under the new ones,
and, while closed, says in one line what they hold. ``values(...)`` gives them as
``TrainConfig`` fields; one that does not apply keeps its default, so a hidden
field never changes a run or its record.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QWidget,
)

from fgsm_studio.core.catalogue import applies, resolve_augment
from fgsm_studio.core.training.config import TrainConfig

from .options import AUGMENTS, NOTES, SELECT_BY, STEMS, TIPS

DEFAULT = TrainConfig()


def note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #555; font-size: 8pt;")
    return label


def spin(
    lo: float, hi: float, value: float, decimals: int = 0, step: float = 1.0
) -> QSpinBox | QDoubleSpinBox:
    if decimals:
        real = QDoubleSpinBox()
        real.setDecimals(decimals)
        real.setRange(lo, hi)
        real.setSingleStep(step)
        real.setValue(value)
        return real
    box = QSpinBox()
    box.setRange(int(lo), int(hi))
    box.setSingleStep(int(step))
    box.setValue(int(value))
    return box


def combo(items: list[tuple[str, str]]) -> QComboBox:
    box = QComboBox()
    for value, label in items:
        box.addItem(label, value)
    return box


class ExpertSettings:
    def __init__(self, layout: QFormLayout, changed: Callable[[], None]) -> None:
        self.layout, self._changed = layout, changed
        self.button = QToolButton()
        self.button.setText("Expert settings")
        self.button.setCheckable(True)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setArrowType(Qt.ArrowType.RightArrow)
        self.button.setAutoRaise(True)
        self.summary = note("")
        self.reg = combo(
            [("scaled", "scaled: a2*5e-4*||W||^2"), ("literal", "literal: a2*||W||^2")]
        )
        self.reg.setToolTip(
            "literal: Eq. 8 as written (drives weights to zero for a2 >= 0.5); scaled: weight-decay size"
        )
        self.lr = spin(1e-6, 1.0, 1e-3, 6, 1e-4)
        self.batch = spin(2, 4096, 32)
        self.patience = spin(1, 100, DEFAULT.patience)
        self.select_by = combo(SELECT_BY)
        self.select_by.setToolTip(
            "What early stopping and the saved best epoch watch on the validation set "
            "(auto: clean + FGSM with a defense, clean without). "
            "PGD accuracy is the honest choice for a defense (Wong et al., Rice et al.)."
        )
        self.seed = spin(0, 10**6, 0)
        self.augment = combo(AUGMENTS)
        self.augment.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.augment.setMinimumContentsLength(14)
        self.attack_steps = spin(1, 100, DEFAULT.attack_steps)
        self.beta = spin(0.0, 100.0, DEFAULT.beta, 1, 0.5)
        self.warmup_epochs = spin(0.0, 100.0, DEFAULT.warmup_epochs, 1, 0.5)
        self.warmup_epochs.setSpecialValueText("none")
        self.stem = combo(STEMS)
        layout.addRow(self.button)
        layout.addRow(self.summary)
        # (row widget, the option it belongs to, "" for always): shown while the section is open
        self.rows: list[tuple[QWidget, str]] = []
        for label, widget, key in (
            ("Penalty", self.reg, ""),
            ("Learning rate (Adam)", self.lr, ""),
            ("Batch size", self.batch, ""),
            ("Patience (epochs)", self.patience, ""),
            ("Best epoch by", self.select_by, ""),
            ("Seed", self.seed, ""),
            ("Augmentation", self.augment, "augment"),
            ("Attack steps", self.attack_steps, "attack_steps"),
            ("TRADES beta", self.beta, "beta"),
            ("Epsilon warm-up", self.warmup_epochs, "warmup_epochs"),
            ("First layer (stem)", self.stem, "stem"),
        ):
            layout.addRow(label, widget)
            self.rows.append((widget, key))
            text = NOTES.get(key, "")
            if widget is self.reg:
                text = "scaled: weight-decay size (5e-4); literal: Eq. 8 as written."
            if text:
                explained = note(text)
                layout.addRow("", explained)
                self.rows.append((explained, key))
                explained.setToolTip(TIPS.get(key, ""))
            if key:
                widget.setToolTip(TIPS[key])
        self.button.toggled.connect(self._on_button_toggled)
        for box in (self.augment, self.stem, self.select_by, self.reg):
            box.currentIndexChanged.connect(changed)
        for number in (self.attack_steps, self.beta, self.warmup_epochs, self.lr, self.batch):
            number.valueChanged.connect(changed)

    def show_for(self, defense: str, arch: str, dataset: str) -> None:
        """Show the rows that apply to ``defense`` and ``arch`` (open) or the summary (closed)."""
        self.augment.setItemText(0, f"auto: {resolve_augment('auto', dataset)} for this dataset")
        opened = self.button.isChecked()
        for widget, key in self.rows:
            shown = opened and (not key or applies(key, defense=defense, arch=arch))
            self.layout.setRowVisible(widget, shown)
        self.layout.setRowVisible(self.summary, not opened)
        self.summary.setText(self.describe(defense, arch, dataset))

    def describe(self, defense: str, arch: str, dataset: str) -> str:
        """The settings that apply, in one line (shown while the section is closed)."""
        aug = self.augment.currentData()
        parts = [
            f"augmentation {aug if aug != 'auto' else f'auto ({resolve_augment(aug, dataset)})'}"
        ]
        if applies("attack_steps", defense=defense, arch=arch):
            parts.append(f"{self.attack_steps.value()} attack steps")
        if applies("beta", defense=defense, arch=arch):
            parts.append(f"beta {self.beta.value():g}")
        if applies("warmup_epochs", defense=defense, arch=arch) and self.warmup_epochs.value():
            parts.append(f"epsilon warm-up {self.warmup_epochs.value():g} epochs")
        if applies("stem", defense=defense, arch=arch):
            parts.append(f"stem {self.stem.currentData()}")
        parts.append(f"best epoch by {self.select_by.currentText()}")
        parts.append(f"learning rate {self.lr.value():g}, batch {self.batch.value()}")
        return "Now: " + ", ".join(parts) + "."

    def values(self, defense: str, arch: str) -> dict:
        """These settings as TrainConfig fields; those that do not apply at their defaults."""
        specific = {
            "attack_steps": self.attack_steps.value(),
            "beta": self.beta.value(),
            "warmup_epochs": self.warmup_epochs.value(),
            "stem": self.stem.currentData(),
        }
        return {
            "reg": self.reg.currentData(),
            "lr": self.lr.value(),
            "batch_size": self.batch.value(),
            "patience": self.patience.value(),
            "select_by": self.select_by.currentData(),
            "seed": self.seed.value(),
            "augment": self.augment.currentData(),
        } | {
            key: v if applies(key, defense=defense, arch=arch) else getattr(DEFAULT, key)
            for key, v in specific.items()
        }

    def fill(self, preset: dict) -> None:
        """Take a preset's values (``train_options.PRESETS``); the rest to their defaults."""
        self.reg.setCurrentIndex(0)
        self.stem.setCurrentIndex(0)
        for key in ("select_by", "augment"):
            box = getattr(self, key)
            box.setCurrentIndex(box.findData(preset[key]))
        for key in ("attack_steps", "beta", "warmup_epochs"):
            getattr(self, key).setValue(preset[key])

    def _on_button_toggled(self, on: bool) -> None:
        self.button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self._changed()
        if on:  # once the rows are laid out, scroll them into view
            QTimer.singleShot(0, self._scroll_into_view)

    def _scroll_into_view(self) -> None:
        area = self.button.parentWidget()
        while area is not None and not isinstance(area, QScrollArea):
            area = area.parentWidget()
        if area is not None:
            last = next(w for w, _ in reversed(self.rows) if not w.isHidden())
            area.ensureWidgetVisible(last, 0, 8)  # as many rows as fit ...
            area.ensureWidgetVisible(self.button, 0, 8)  # ... from the button down
