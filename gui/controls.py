"""Epsilon and attack controls.

``EpsilonControl``: a slider (thousandths, 0 to 0.5) and a spin box that stay in
step, and a label giving both units, e.g. ``0.031 = 8/255``. Keyboard arrows
move the slider by 1/1000, Page Up/Down by 1/100. ``AttackControls``: FGSM, BIM
or PGD, their steps, and a targeted switch with a target class picker.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QWidget,
)

MAX_EPS = 0.5


def eps_text(eps: float) -> str:
    return f"{eps:.3f} = {eps * 255:.1f}/255".replace(".0/255", "/255")


class EpsilonControl(QWidget):
    changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, int(MAX_EPS * 1000))
        self.slider.setSingleStep(1)
        self.slider.setPageStep(10)
        self.slider.setAccessibleName("epsilon")
        self.slider.setToolTip(
            "Attack strength: how far each pixel may move (pixel values are 0 to 1)"
        )
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.0, MAX_EPS)
        self.spin.setDecimals(3)
        self.spin.setSingleStep(1 / 255)
        self.units = QLabel()
        self.units.setMinimumWidth(130)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("epsilon"))
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        layout.addWidget(self.units)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.spin.valueChanged.connect(self._on_spin_value_changed)
        self._value = 0.0
        self.set_value(0.1)

    def value(self) -> float:
        return self._value

    def set_value(self, eps: float) -> None:
        eps = min(max(float(eps), 0.0), MAX_EPS)
        if eps == self._value and self.units.text():
            return
        self._value = eps
        for w, v in ((self.slider, round(eps * 1000)), (self.spin, eps)):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        self.units.setText(eps_text(eps))
        self.changed.emit(eps)

    def _on_slider_value_changed(self, value: int) -> None:
        self.set_value(value / 1000)

    def _on_spin_value_changed(self, value: float) -> None:
        self.set_value(value)


class AttackControls(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.attack = QComboBox()
        for label, key in (
            ("FGSM (one step)", "fgsm"),
            ("BIM (iterative)", "bim"),
            ("PGD (random start)", "pgd"),
        ):
            self.attack.addItem(label, key)
        self.steps = QSpinBox()
        self.steps.setRange(1, 200)
        self.steps.setValue(10)
        self.steps.setPrefix("steps: ")
        self.targeted = QCheckBox("targeted")
        self.target = QComboBox()
        self.target.setEnabled(False)
        self.target.setMinimumWidth(110)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("attack"))
        layout.addWidget(self.attack)
        layout.addWidget(self.steps)
        layout.addWidget(self.targeted)
        layout.addWidget(self.target)
        self.steps.setVisible(False)
        self.attack.currentIndexChanged.connect(self._on_attack_changed)
        self.steps.valueChanged.connect(self.changed)
        self.targeted.toggled.connect(self._on_targeted_toggled)
        self.target.currentIndexChanged.connect(self.changed)

    def name(self) -> str:
        return self.attack.currentData()

    def set_attack(self, name: str) -> None:
        i = self.attack.findData(name)
        if i >= 0:
            self.attack.setCurrentIndex(i)

    def target_class(self) -> int | None:
        return self.target.currentData() if self.targeted.isChecked() else None

    def set_classes(self, names: list[str]) -> None:
        self.target.blockSignals(True)
        self.target.clear()
        many = len(names) > 20  # ImageNet: type to search the 1000 classes
        self.target.setEditable(many)
        if many:
            self.target.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            self.target.completer().setFilterMode(Qt.MatchFlag.MatchContains)
            self.target.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        for i, n in enumerate(names):
            self.target.addItem(f"{i}: {n}" if n != str(i) else n, i)
        self.target.blockSignals(False)

    def set_target(self, index: int | None) -> None:
        self.targeted.blockSignals(True)
        self.targeted.setChecked(index is not None)
        self.target.setEnabled(index is not None)
        self.targeted.blockSignals(False)
        if index is not None:
            self.target.setCurrentIndex(self.target.findData(index))

    def _on_attack_changed(self) -> None:
        self.steps.setVisible(self.name() != "fgsm")
        self.changed.emit()

    def _on_targeted_toggled(self, on: bool) -> None:
        self.target.setEnabled(on)
        self.changed.emit()
