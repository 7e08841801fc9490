"""The Explorer's parts, each a typed widget that owns its children and draws from the state.

``Sidebar`` (left, hidden in presenter mode): the model panel, the image inputs,
the MNIST-style switch, the samples and the save buttons. ``Stage`` (what a demo
card captures): the headline, the three image panels and the three bar charts.
``Banner``: the one-line error message. Each subscribes to the ``ExplorerState``
signals it draws; buttons that need the controller (file dialogs, loads) are
connected by ``ExplorerView``. Names and titles from files (class names, model
titles) are escaped wherever Qt would read them as HTML.
"""

from __future__ import annotations

from html import escape

import torch
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from fgsm_studio.core.bundled import ModelEntry, samples_for
from fgsm_studio.core.session import AttackFrame
from fgsm_studio.gui.controls import eps_text
from fgsm_studio.gui.explorer_state import ExplorerState
from fgsm_studio.gui.inputs import SampleGallery, camera_available
from fgsm_studio.gui.model_panel import ModelPanel
from fgsm_studio.gui.panels import ImageTriptych, PredictionBars, big_font


def is_mnist_like(card) -> bool:
    return card.in_channels == 1 and card.image_size == 28


class Banner(QLabel):
    """An error message in red, shown for 15 s; plain text whatever it quotes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setStyleSheet("background:#fde2e1; color:#7a1010; padding:6px; border-radius:4px;")
        self.hide()
        self._timer = QTimer(self, singleShot=True, interval=15000, timeout=self.hide)

    def show_message(self, message: str) -> None:
        self.setText(message)
        self.show()
        self._timer.start()


class Sidebar(QWidget):
    def __init__(
        self,
        state: ExplorerState,
        entries: list[ModelEntry],
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.panel = ModelPanel(state, entries, settings)
        self.gallery = SampleGallery()
        self.mnist_style = QCheckBox("Digit photos -> MNIST style (invert, crop, centre)")
        self.mnist_style.setChecked(state.mnist_style)
        self.open_button = QPushButton("Open image...")
        self.paste_button = QPushButton("Paste")
        self.draw_button = QPushButton("Draw a digit...")
        self.camera_button = QPushButton("Camera...")
        self.camera_button.setVisible(camera_available())
        self.save_button = QPushButton("Save adversarial...")
        self.card_button = QPushButton("Save demo card...")
        self.copy_button = QPushButton("Copy demo card")
        side = QVBoxLayout(self)
        side.addWidget(self.panel)
        side.addSpacing(8)
        side.addWidget(QLabel("<b>Image</b> (or drop a file anywhere, or Ctrl+V)"))
        for row in ((self.open_button, self.paste_button), (self.draw_button, self.camera_button)):
            line = QHBoxLayout()
            for b in row:
                line.addWidget(b)
            side.addLayout(line)
        side.addWidget(self.mnist_style)
        side.addWidget(QLabel("<b>Samples</b>"))
        side.addWidget(self.gallery)
        side.addStretch(1)
        for b in (self.save_button, self.card_button, self.copy_button):
            side.addWidget(b)
        self.setMaximumWidth(340)
        self._dataset: str | None = None
        self.mnist_style.toggled.connect(state.set_mnist_style)
        state.mnist_style_changed.connect(self.mnist_style.setChecked)
        state.model_changed.connect(self._on_state_model_changed)

    def _on_state_model_changed(self) -> None:
        card = self.state.card
        self.mnist_style.setVisible(is_mnist_like(card))
        self.draw_button.setVisible(is_mnist_like(card))
        if card.dataset != self._dataset:
            self._dataset = card.dataset
            self.gallery.set_samples(samples_for(card.dataset))


class Stage(QWidget):
    """Headline, original | perturbation | adversarial, and the bars: what a demo card shows."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.headline = QLabel("Loading the model...")
        self.headline.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        big_font(self.headline, 20)
        self.triptych = ImageTriptych()
        self.triptych.setMinimumHeight(260)
        self.bars_clean = PredictionBars("Original image")
        self.bars_adv = PredictionBars("Adversarial image")
        self.bars_cmp = PredictionBars("Compare model on the adversarial image")
        stage = QVBoxLayout(self)
        stage.addWidget(self.headline)
        stage.addWidget(self.triptych, 3)
        bars = QHBoxLayout()
        for b in (self.bars_clean, self.bars_adv, self.bars_cmp):
            bars.addWidget(b)
        stage.addLayout(bars, 2)
        state.frame_changed.connect(self._on_state_frame_changed)
        state.status_changed.connect(self._on_state_status_changed)
        state.compare_changed.connect(self._on_state_compare_changed)

    def _on_state_status_changed(self, text: str) -> None:
        frame, card = self.state.frame, self.state.card
        if text or frame is None or card is None or frame.probs_clean.numel() != card.num_classes:
            self.headline.setText(escape(text))  # (a frame of the previous model: not its verdict)
        else:
            self.headline.setText(self._verdict(frame))

    def _on_state_compare_changed(self) -> None:
        if self.state.compare is None:
            self.bars_cmp.hide()

    def _on_state_frame_changed(self) -> None:
        frame, card = self.state.frame, self.state.card
        names = card.class_names
        p0, p1 = frame.probs_clean[frame.pred_clean], frame.probs_adv[frame.pred_adv]
        self.triptych.show_frame(frame.original, frame.adversarial, frame.epsilon)
        self.triptych.set_titles(
            f"Original: {escape(names[frame.pred_clean])} ({p0:.1%})",
            f"Adversarial: {escape(names[frame.pred_adv])} ({p1:.1%})",
        )
        true = self.state.true_label(len(names))
        for bars, probs, pred in (
            (self.bars_clean, frame.probs_clean, frame.pred_clean),
            (self.bars_adv, frame.probs_adv, frame.pred_adv),
        ):
            bars.show_probs(probs, names, pred=pred, true=true, target=frame.target)
        if not self.state.status:
            self.headline.setText(self._verdict(frame))
        self._show_compare(self.state.compare_probs)

    def _verdict(self, frame: AttackFrame) -> str:
        names = self.state.card.class_names
        p0, p1 = frame.probs_clean[frame.pred_clean], frame.probs_adv[frame.pred_adv]
        verdict = "fooled" if frame.flipped else "holds"
        color = "#c62828" if frame.flipped else "#2e7d32"
        return (
            f"<span>{escape(names[frame.pred_clean])} ({p0:.1%}) &rarr; </span>"
            f"<span style='color:{color}'>{escape(names[frame.pred_adv])} ({p1:.1%})</span>"
            f"<span style='font-size:small; color:#555'> &nbsp; {frame.attack.upper()}, "
            f"eps {eps_text(frame.epsilon)}: model {verdict}</span>"
        )

    def _show_compare(self, probs: torch.Tensor | None) -> None:
        compare = self.state.compare
        if compare is None or probs is None:
            self.bars_cmp.hide()
            return
        card = compare.card
        pred = int(probs.argmax())
        kind = "Defended (WR_FGSM)" if card.defense == "wr_fgsm" else "Standard"
        self.bars_cmp.set_title(
            f"{kind} model: {escape(card.class_names[pred])} ({float(probs[pred]):.1%})"
        )
        self.bars_cmp.setToolTip(f"<p>{escape(card.title())}</p>")
        self.bars_cmp.show()
        true = self.state.true_label(card.num_classes)
        self.bars_cmp.show_probs(probs, card.class_names, pred=pred, true=true)
