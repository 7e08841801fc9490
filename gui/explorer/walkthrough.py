"""The guided walk-through: six steps, each a state of the Explorer, in plain words.

Help > Walk-through and the Walk-through button open ``WalkThrough``, a bar above
the stage: a step's title and words, Back / Next and Close; while it is open the
Right, Space and Left keys step it (``ExplorerView.keyPressEvent``), not the samples. Each step sets the
Explorer through ``ExplorerState``'s methods (epsilon, attack, target, defense,
the random-noise baseline where the state has it) on one bundled digit, a 7 that
the standard MNIST network reads at 100%: what it is, random noise of the same
size, FGSM's tiny change, the defended twin, PGD, and what it means. The figures
quoted in the words were measured on that digit (``tests/gui/test_walkthrough.py``
checks them); where a figure depends on the moment (PGD's random start), the words
say to look.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from fgsm_studio.core.attacks.gradient import evaluating
from fgsm_studio.core.paths import resource_path

MODEL = "mnist_small_cnn_standard.safetensors"
SAMPLE = ("samples", "mnist", "mnist_17_7.png")
LABEL = 7


@dataclass(frozen=True)
class Step:
    title: str
    words: str
    epsilon: float
    attack: str = "fgsm"
    noise: bool = False


STEPS = (
    Step(
        "This is a 7",
        "A neural network looks at this handwritten digit and says what it shows. It says "
        "<b>7</b> and is sure of it (the bars on the left). Nothing has been changed yet: "
        "<b>epsilon</b>, the most any pixel may change, is 0.",
        0.0,
    ),
    Step(
        "Random noise does nothing",
        "Now every pixel moves by 0.16 (a sixth of the way from black to white), each up "
        "or down <b>at random</b>. The picture looks grainy, yet the network still says 7 "
        "(the random-noise picture and its answer): noise of this size does not fool it.",
        0.16,
        noise=True,
    ),
    Step(
        "The attack's change fools it",
        "The same size of change, 0.16, but each pixel moved in the direction that most "
        "raises the network's error, read from the network itself (FGSM). To you it is "
        "still a 7; the network now answers something else (the top line, in red). The "
        "<b>direction</b> matters, not the size.",
        0.16,
    ),
    Step(
        "The defended network",
        "The third chart is a second network of the same design, <b>trained on attacked "
        "images</b> (WR_FGSM): during training it was shown FGSM-attacked copies of the "
        "digits and learned to answer them right. At the same epsilon it still says 7.",
        0.16,
    ),
    Step(
        "A stronger attack",
        "PGD takes many small steps instead of FGSM's one, from a random start: it is the "
        "attack a defense is judged by. At epsilon 0.25 it usually gets through the defended "
        "network too (look at the third chart; press Back and Next to run it again).",
        0.25,
        attack="pgd",
    ),
    Step(
        "What it means",
        "A network can be fooled by changes a person shrugs off, if they are chosen with the "
        "network's own gradient; random changes of the same size do nothing. Training on "
        "attacked images helps against small attacks and the attack it was trained on; "
        "stronger attacks still get through. Now try it yourself: drag epsilon, press "
        "1-4 for the attacks, drop in your own image.",
        0.1,
    ),
)


class WalkThrough(QFrame):
    """The walk-through's bar: step n of 6, its words, Back / Next / Close."""

    def __init__(self, view, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.index = 0
        self.setObjectName("walkthrough")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.words = QLabel()
        self.words.setWordWrap(True)
        self.words.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        for label in (self.title, self.words):
            label.setTextFormat(Qt.TextFormat.RichText)  # our own words; names are escaped
        self.back = QPushButton("< Back")
        self.next = QPushButton("Next >")
        self.close_button = QPushButton("Close")
        self.next.setDefault(True)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.words)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addLayout(text, 1)
        for button in (self.back, self.next, self.close_button):
            row.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.back.clicked.connect(lambda: self.go(self.index - 1))
        self.next.clicked.connect(lambda: self.go(self.index + 1))
        self.close_button.clicked.connect(self.hide)
        view.state.frame_changed.connect(self._on_state_frame_changed)
        # presenter mode's style sheet sets its words larger: their four lines again
        view.state.presenter_changed.connect(self._on_state_presenter_changed)
        self.hide()

    # ------------------------------------------------------------------ steps
    def start(self) -> None:
        """Step 1, on the bundled standard MNIST network and the 7. The focus goes to Next:
        Space then steps on (it stayed on the Walk-through button, which started over)."""
        self.show()
        self.go(0)
        self.next.setFocus(Qt.FocusReason.OtherFocusReason)

    def step(self, delta: int) -> None:
        """The next (``delta`` 1) or previous (-1) step, from the keys; nothing past either
        end (the sample shown stays the walk-through's)."""
        if 0 <= self.index + delta < len(STEPS):
            self.go(self.index + delta)

    def go(self, index: int) -> None:
        self.index = min(max(index, 0), len(STEPS) - 1)
        self._draw()
        self._set_scene()
        self._apply(STEPS[self.index])

    def _draw(self) -> None:
        step = STEPS[self.index]
        self.title.setText(
            f"<b>Walk-through, step {self.index + 1} of {len(STEPS)}: {escape(step.title)}</b>"
        )
        self.words.setText(step.words + self._noise_words(step))
        # four lines whatever the step: the stage below never jumps as the user steps
        self.words.setMinimumHeight(4 * self.words.fontMetrics().lineSpacing())
        self.back.setEnabled(self.index > 0)
        self.next.setEnabled(self.index < len(STEPS) - 1)

    def _set_scene(self) -> None:
        """The standard network and the 7 (loaded off the GUI thread where they are not)."""
        view, s = self.view, self.view.state
        model = resource_path("models", MODEL)
        if s.model is None or s.model.path.name != MODEL:
            if s.loading("model") is None or str(s.loading("model")) != str(model):
                view.model_loaded.connect(self._on_view_model_loaded)
                view.load_model(model)
            return
        if s.image is None or s.image.name != SAMPLE[-1]:
            view.set_image(resource_path(*SAMPLE), LABEL)

    def _on_view_model_loaded(self, _path: str) -> None:
        self.view.model_loaded.disconnect(self._on_view_model_loaded)
        self.view.set_image(resource_path(*SAMPLE), LABEL)
        self._apply(STEPS[self.index])

    def _apply(self, step: Step) -> None:
        s = self.view.state
        s.set_target(None)
        s.set_defense(squeezing=False, adaptive=False)
        if hasattr(s, "set_compare_mode"):  # each network attacked with its own gradient
            s.set_compare_mode("own")
        s.set_attack(step.attack)
        if hasattr(s, "set_noise"):
            s.set_noise(step.noise)
            s.set_epsilon(step.epsilon)
        else:  # no noise panel: the pictures stay clean, the words give noise's answer
            s.set_epsilon(0.0 if step.noise else step.epsilon)

    # ------------------------------------------------------------------ random noise
    def _noise_words(self, step: Step) -> str:
        """Where the Explorer has no noise panel: the network's answer on random sign noise
        of the step's epsilon, measured here (a fixed seed: the same every time)."""
        s = self.view.state
        if not step.noise or hasattr(s, "set_noise") or s.model is None or s.image is None:
            return ""
        if s.image.name != SAMPLE[-1]:
            return ""
        x = self.view.model_input()
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(1)).sign()
        noisy = (x + step.epsilon * noise).clamp(0, 1)
        with torch.no_grad(), evaluating(s.model.net):
            probs = s.model.net(noisy[None]).softmax(1)[0]
        pred = int(probs.argmax())
        name = escape(s.card.class_names[pred])
        return (
            f"<br>Measured now: with random noise of size {step.epsilon:g} on every pixel the "
            f"network says <b>{name}</b> ({float(probs[pred]):.1%}). The pictures below are "
            "still unchanged; press Next for the attack of the same size."
        )

    def _on_state_presenter_changed(self, _on: bool) -> None:
        self.words.setMinimumHeight(4 * self.words.fontMetrics().lineSpacing())

    def _on_state_frame_changed(self) -> None:
        if self.isVisible() and STEPS[self.index].noise:
            self._draw()
