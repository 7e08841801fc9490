"""Epsilon and attack controls, drawn from the ``ExplorerState`` and sending it intent.

``EpsilonControl``: a slider and a spin box on the model's ``EpsilonScale``
(digits: 0 to 0.5 in thousandths; photos: 0 to 16/255 in quarter /255 steps,
the spin box in /255), and a label giving both units, e.g. ``0.031 = 8/255``.
``AttackControls``: the attacks of ``ATTACK_CHOICES`` (data: a new attack is one
more entry), their steps, a targeted switch with a target class picker, and the
Previous / Next image buttons. ``EpsilonControl`` also holds the smallest-flip
label (``minimal_size``) and ``DefenseSwitches``: Feature Squeezing and its
"attacker knows it" (BPDA) switch, stacked, where the attack row has no room
left at 1280x720. Each control sends the
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
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from fgsm_studio.core.catalogue import EXPLORER_ATTACKS, entries

from ..minimal_size import FlipSizeLabel
from .state import MAX_STEPS, ExplorerState

# (key, label, plain-words tooltip) of the Explorer's attacks (core.catalogue)
ATTACK_CHOICES = tuple(
    (e.name, e.label, e.words) for e in entries("attack") if e.name in EXPLORER_ATTACKS
)
SQUEEZING_TIP = (
    "<p>Feature Squeezing (Xu et al. 2018): the model sees a simplified copy of the image "
    "(fewer grey levels, then a small median filter), and a detector flags an image "
    "whose answer changes much when squeezed (its threshold set for 5% of the model's "
    "clean validation digits). It stops a naive attack: rounding has no gradient, so an "
    "attacker who differentiates the squeezed model finds no direction at all. It costs "
    "clean accuracy: the line under the verdict gives this model's measured figure.</p>"
)
ADAPTIVE_TIP = (
    "<p>The attacker knows the defense (adaptive attack). The window then runs the "
    "strongest attack it has on the squeezed model and shows the worst result: BPDA "
    "(Athalye et al. 2018: the squeezer treated as if it changed nothing when computing "
    "the gradient) with PGD from 3 random starts, the attack made on the plain model "
    "(transfer), and Square, which needs no gradient at all. It runs in the background "
    "after each epsilon; the quick frame shows meanwhile. BPDA alone is not enough: on "
    "other writers' digits the transfer attack did as well and Square far better "
    "(docs/results/feature-squeezing.md).</p>"
)

NOISE_TIP = (
    "<p>Random noise of the same size (key N): every pixel moved by epsilon up or down "
    "at random, instead of in the direction the attack computed. Shown beside the "
    "attack with the model's answer: the noise rarely changes it, the attack does. "
    "It is the direction that fools the model, not the size of the change.</p>"
)


def eps_text(eps: float) -> str:
    return f"{eps:.3f} = {eps * 255:.1f}/255".replace(".0/255", "/255")


class DefenseSwitches(QWidget):
    """Feature Squeezing on/off and, below it, whether the attacker knows it (BPDA)."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.squeezing = QCheckBox("Feature Squeezing")
        self.squeezing.setToolTip(SQUEEZING_TIP)
        self.adaptive = QCheckBox("attacker knows it")
        self.adaptive.setToolTip(ADAPTIVE_TIP)
        self.adaptive.setEnabled(False)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.squeezing)
        column.addWidget(self.adaptive)
        self.squeezing.toggled.connect(self._on_squeezing_toggled)
        self.adaptive.toggled.connect(self._on_adaptive_toggled)
        state.defense_changed.connect(self._on_state_defense_changed)

    def _on_squeezing_toggled(self, on: bool) -> None:
        self.state.set_defense(squeezing=on)

    def _on_adaptive_toggled(self, on: bool) -> None:
        self.state.set_defense(adaptive=on)

    def _on_state_defense_changed(self) -> None:
        with QSignalBlocker(self.squeezing), QSignalBlocker(self.adaptive):
            self.squeezing.setChecked(self.state.squeezing)
            self.adaptive.setChecked(self.state.adaptive)
            self.adaptive.setEnabled(self.state.squeezing)


class EpsilonControl(QWidget):
    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("controls")  # presenter mode's style sheet enlarges its labels
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setAccessibleName("epsilon")
        self.slider.setToolTip(
            "<p>Epsilon, the attack's strength: how far each pixel may move (pixel values "
            "go from 0 to 1; 1/255 is the smallest visible step). Drag it and watch the "
            "model change its mind.</p>"
        )
        self.spin = QDoubleSpinBox()
        self.spin.setToolTip(self.slider.toolTip())
        # A typed value is applied on Enter or when the box loses focus, never key by key:
        # applying "0" of "0.15" wrote "0.000" back under the cursor (issue 24, 5).
        self.spin.setKeyboardTracking(False)
        self.units = QLabel()
        self.units.setMinimumWidth(130)
        self.units.setToolTip("Epsilon in pixel units (0 to 1) and in 1/255 steps")
        self.name = QLabel("epsilon")
        self.flip_size = FlipSizeLabel(state)
        self.defense = DefenseSwitches(state)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.name)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        layout.addWidget(self.units)
        layout.addWidget(self.flip_size)
        layout.addWidget(self.defense)
        self._on_state_scale_changed()
        state.presenter_changed.connect(self.set_presenter)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.slider.sliderPressed.connect(self._on_slider_pressed)
        self.slider.sliderReleased.connect(self._on_slider_released)
        state.scale_changed.connect(self._on_state_scale_changed)
        self.spin.valueChanged.connect(self._on_spin_value_changed)
        state.epsilon_changed.connect(self._on_state_epsilon_changed)
        self._on_state_epsilon_changed(state.epsilon)

    def set_presenter(self, on: bool) -> None:
        """Presenter mode (big type) hides the smallest-flip line, so the slider keeps its
        length on a 1280x720 projector; the defense switches stay."""
        self.flip_size.setVisible(not on)

    def _on_state_scale_changed(self) -> None:
        """The model's range and step; the spin box counts /255 for photos."""
        scale = self.state.scale
        self.flip_size.set_per_255(scale.per_255)
        ticks = round(scale.maximum / scale.step)
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setRange(0, ticks)
            self.slider.setSingleStep(1)
            self.slider.setPageStep(max(1, ticks // 20))
            if scale.per_255:
                self.spin.setDecimals(2)
                self.spin.setRange(0.0, scale.maximum * 255)
                self.spin.setSingleStep(scale.step * 255)
                self.spin.setSuffix(" /255")
            else:
                self.spin.setDecimals(3)
                self.spin.setRange(0.0, scale.maximum)
                self.spin.setSingleStep(1 / 255)
                self.spin.setSuffix("")
        self._on_state_epsilon_changed(self.state.epsilon)

    def _on_state_epsilon_changed(self, eps: float) -> None:
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setValue(round(eps / self.state.scale.step))
            if not self._typing():  # never rewrite the text under the user's cursor
                self.spin.setValue(eps * 255 if self.state.scale.per_255 else eps)
        self.units.setText(eps_text(eps))

    def _typing(self) -> bool:
        """Is the user typing in the spin box (it has the focus and text not yet applied)?"""
        edit = self.spin.lineEdit()
        return self.spin.hasFocus() and edit.text() != self.spin.textFromValue(self.spin.value())

    def _on_slider_value_changed(self, value: int) -> None:
        self.state.set_epsilon(value * self.state.scale.step)

    def _on_slider_pressed(self) -> None:
        self.state.set_dragging(True)

    def _on_slider_released(self) -> None:
        self.state.set_dragging(False)

    def _on_spin_value_changed(self, value: float) -> None:
        self.state.set_epsilon(value / 255 if self.state.scale.per_255 else value)


class AttackControls(QWidget):
    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("controls")
        self.attack = QComboBox()
        for key, label, tip in ATTACK_CHOICES:
            self.attack.addItem(label, key)
            self.attack.setItemData(self.attack.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.attack.setToolTip(
            "<p>How the attack computes its change. FGSM: one step (keys 1, 2, 3, 4 choose "
            "FGSM, BIM, PGD, APGD-CE).</p>"
        )
        # short: the attack row holds the noise switch and two help buttons at 1280x720
        self.previous = QPushButton("< Previous")
        self.next = QPushButton("Next >")
        self.previous.setToolTip("The previous sample image (Left arrow)")
        self.next.setToolTip("The next sample image (Right arrow or Space)")
        self.steps = QSpinBox()
        self.steps.setToolTip(
            "How many small steps BIM, PGD and APGD take (more: stronger, slower)"
        )
        self.steps.setRange(1, MAX_STEPS)
        self.steps.setValue(state.steps)
        self.steps.setPrefix("steps: ")
        self.targeted = QCheckBox("targeted")
        self.targeted.setToolTip(
            "<p>Targeted: push the model toward one class of your choice instead of any "
            "wrong answer. The verdict then says whether the target was reached.</p>"
        )
        self.target = QComboBox()
        self.target.setToolTip("The class a targeted attack aims for")
        self.target.setEnabled(False)
        self.target.setMinimumWidth(110)
        self.noise = QCheckBox("random noise")
        self.noise.setToolTip(NOISE_TIP)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.previous)
        layout.addWidget(self.next)
        layout.addSpacing(2)
        self.name = QLabel("attack")
        layout.addWidget(self.name)
        layout.addWidget(self.attack)
        layout.addWidget(self.steps)
        layout.addWidget(self.targeted)
        layout.addWidget(self.target)
        layout.addWidget(self.noise)
        layout.addStretch(1)
        self.help = QPushButton("What am I seeing?")
        self.help.setToolTip("A short guide to every part of this window, in plain words (F1)")
        self.tour = QPushButton("Walk-through")
        self.tour.setToolTip("Six steps, in plain words, through what this window shows")
        helps = QVBoxLayout()  # stacked: the row keeps room for the steps box at 1280 px
        helps.setSpacing(0)
        helps.addWidget(self.help)
        helps.addWidget(self.tour)
        layout.addLayout(helps)
        self.steps.setVisible(False)
        self.attack.currentIndexChanged.connect(self._on_attack_current_index_changed)
        self.steps.valueChanged.connect(state.set_steps)
        self.targeted.toggled.connect(self._on_targeted_toggled)
        self.target.currentIndexChanged.connect(self._on_target_current_index_changed)
        self.noise.toggled.connect(state.set_noise)
        state.noise_changed.connect(self._on_state_noise_changed)
        state.attack_changed.connect(self._on_state_attack_changed)
        state.steps_changed.connect(self._on_state_steps_changed)
        state.target_changed.connect(self._on_state_target_changed)
        state.model_changed.connect(self._on_state_model_changed)
        state.presenter_changed.connect(self.set_presenter)

    def set_presenter(self, on: bool) -> None:
        """Presenter mode hides the steps box, the noise switch (key N still toggles the
        noise) and the help buttons (the presenter speaks; in large type the row would not
        fit a 1280 px projector)."""
        self.steps.setVisible(not on and self.state.attack != "fgsm")
        self.noise.setVisible(not on)
        self.help.setVisible(not on)
        self.tour.setVisible(not on)

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
        self.steps.setVisible(not self.state.presenter and name != "fgsm")

    def _on_state_noise_changed(self, on: bool) -> None:
        with QSignalBlocker(self.noise):
            self.noise.setChecked(on)

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
        card = self.state.card
        names = [] if card is None else card.class_names
        with QSignalBlocker(self.target):
            self.target.clear()
            many = len(names) > 20  # ImageNet: type to search the 1000 classes
            self.target.setEditable(many)
            if many:
                self.target.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
                completer = self.target.completer()  # made by setEditable
                if completer is not None:
                    completer.setFilterMode(Qt.MatchFlag.MatchContains)
                    completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
            for i, n in enumerate(names):
                self.target.addItem(f"{i}: {n}" if n != str(i) else n, i)
            if self.state.target is not None:
                self.target.setCurrentIndex(self.target.findData(self.state.target))
