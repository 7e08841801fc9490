"""Epsilon and attack controls, drawn from the ``ExplorerState`` and sending it intent.

``EpsilonControl``: a slider (thousandths, 0 to 0.5) and a spin box, and a label
giving both units, e.g. ``0.031 = 8/255``. Keyboard arrows move the slider by
1/1000, Page Up/Down by 1/100. ``AttackControls``: FGSM, BIM or PGD, their
steps, and a targeted switch with a target class picker. Each control sends the
user's change to the state (``state.set_epsilon`` ...) and shows the state's
value when the state says it changed, whoever changed it; the widgets' own
signals are blocked only while they are being redrawn from the state.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
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

from fgsm_studio.gui.explorer_state import MAX_EPS, MAX_STEPS, ExplorerState


def eps_text(eps: float) -> str:
    return f"{eps:.3f} = {eps * 255:.1f}/255".replace(".0/255", "/255")


class EpsilonControl(QWidget):
    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
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
        state.epsilon_changed.connect(self._on_state_epsilon_changed)
        self._on_state_epsilon_changed(state.epsilon)

    def _on_state_epsilon_changed(self, eps: float) -> None:
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setValue(round(eps * 1000))
            self.spin.setValue(eps)
        self.units.setText(eps_text(eps))

    def _on_slider_value_changed(self, value: int) -> None:
        self.state.set_epsilon(value / 1000)

    def _on_spin_value_changed(self, value: float) -> None:
        self.state.set_epsilon(value)


class AttackControls(QWidget):
    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.attack = QComboBox()
        for label, key in (
            ("FGSM (one step)", "fgsm"),
            ("BIM (iterative)", "bim"),
            ("PGD (random start)", "pgd"),
        ):
            self.attack.addItem(label, key)
        self.steps = QSpinBox()
        self.steps.setRange(1, MAX_STEPS)
        self.steps.setValue(state.steps)
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
        self._presenter = False
        self.attack.currentIndexChanged.connect(self._on_attack_current_index_changed)
        self.steps.valueChanged.connect(state.set_steps)
        self.targeted.toggled.connect(self._on_targeted_toggled)
        self.target.currentIndexChanged.connect(self._on_target_current_index_changed)
        state.attack_changed.connect(self._on_state_attack_changed)
        state.steps_changed.connect(self._on_state_steps_changed)
        state.target_changed.connect(self._on_state_target_changed)
        state.model_changed.connect(self._on_state_model_changed)

    def set_presenter(self, on: bool) -> None:
        """Presenter mode hides the steps box."""
        self._presenter = on
        self.steps.setVisible(not on and self.state.attack != "fgsm")

    # ------------------------------------------------------------------ user intent
    def _on_attack_current_index_changed(self, index: int) -> None:
        self.state.set_attack(self.attack.itemData(index))

    def _on_targeted_toggled(self, on: bool) -> None:
        self.state.set_target(self.target.currentData() if on else None)
        self._on_state_target_changed(self.state.target)  # no classes yet: stays unticked

    def _on_target_current_index_changed(self, index: int) -> None:
        if self.targeted.isChecked() and index >= 0:
            self.state.set_target(self.target.itemData(index))

    # ------------------------------------------------------------------ drawn from the state
    def _on_state_attack_changed(self, name: str) -> None:
        with QSignalBlocker(self.attack):
            self.attack.setCurrentIndex(self.attack.findData(name))
        self.steps.setVisible(not self._presenter and name != "fgsm")

    def _on_state_steps_changed(self, steps: int) -> None:
        with QSignalBlocker(self.steps):
            self.steps.setValue(steps)

    def _on_state_target_changed(self, index: int | None) -> None:
        with QSignalBlocker(self.targeted), QSignalBlocker(self.target):
            self.targeted.setChecked(index is not None)
            self.target.setEnabled(index is not None)
            if index is not None:
                self.target.setCurrentIndex(self.target.findData(index))

    def _on_state_model_changed(self) -> None:
        names = self.state.card.class_names
        with QSignalBlocker(self.target):
            self.target.clear()
            many = len(names) > 20  # ImageNet: type to search the 1000 classes
            self.target.setEditable(many)
            if many:
                self.target.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
                self.target.completer().setFilterMode(Qt.MatchFlag.MatchContains)
                self.target.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
            for i, n in enumerate(names):
                self.target.addItem(f"{i}: {n}" if n != str(i) else n, i)
            if self.state.target is not None:
                self.target.setCurrentIndex(self.target.findData(self.state.target))
