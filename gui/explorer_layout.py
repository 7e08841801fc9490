"""The Explorer's widgets and their placement (no behaviour: ``ExplorerView`` wires them).

Left: the model panel, image inputs, samples and save buttons (hidden in presenter
mode). Centre: the headline, the three image panels, the three bar charts (the
"stage" a demo card captures), then the epsilon and attack controls and the
confidence-vs-epsilon curve.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from fgsm_studio.gui.controls import AttackControls, EpsilonControl
from fgsm_studio.gui.inputs import SampleGallery, camera_available
from fgsm_studio.gui.model_panel import ModelPanel
from fgsm_studio.gui.panels import EpsilonCurve, ImageTriptych, PredictionBars, big_font


def build_layout(view) -> None:
    view.banner = QLabel()
    view.banner.setWordWrap(True)
    view.banner.setStyleSheet("background:#fde2e1; color:#7a1010; padding:6px; border-radius:4px;")
    view.banner.hide()
    view.headline = QLabel("Loading the model...")
    view.headline.setAlignment(Qt.AlignmentFlag.AlignCenter)
    view.headline.setWordWrap(True)
    big_font(view.headline, 20)
    view.triptych = ImageTriptych()
    view.triptych.setMinimumHeight(260)
    view.epsilon = EpsilonControl()
    view.attack = AttackControls()
    view.bars_clean = PredictionBars("Original image")
    view.bars_adv = PredictionBars("Adversarial image")
    view.bars_cmp = PredictionBars("Compare model on the adversarial image")
    view.curve = EpsilonCurve()
    view.curve.setMinimumHeight(170)
    view.curve.setMaximumHeight(220)
    view.panel = ModelPanel(view.entries, view.settings)
    view.gallery = SampleGallery()
    view.mnist_style = QCheckBox("Digit photos -> MNIST style (invert, crop, centre)")
    view.mnist_style.setChecked(True)
    view.open_button = QPushButton("Open image...")
    view.paste_button = QPushButton("Paste")
    view.draw_button = QPushButton("Draw a digit...")
    view.camera_button = QPushButton("Camera...")
    view.camera_button.setVisible(camera_available())
    view.save_button = QPushButton("Save adversarial...")
    view.card_button = QPushButton("Save demo card...")
    view.copy_button = QPushButton("Copy demo card")

    side = QVBoxLayout()
    side.addWidget(view.panel)
    side.addSpacing(8)
    side.addWidget(QLabel("<b>Image</b> (or drop a file anywhere, or Ctrl+V)"))
    for row in ((view.open_button, view.paste_button), (view.draw_button, view.camera_button)):
        line = QHBoxLayout()
        for b in row:
            line.addWidget(b)
        side.addLayout(line)
    side.addWidget(view.mnist_style)
    side.addWidget(QLabel("<b>Samples</b>"))
    side.addWidget(view.gallery)
    side.addStretch(1)
    for b in (view.save_button, view.card_button, view.copy_button):
        side.addWidget(b)
    view.sidebar = QWidget()
    view.sidebar.setLayout(side)
    view.sidebar.setMaximumWidth(340)

    view.stage = QWidget()  # what a demo card shows
    stage = QVBoxLayout(view.stage)
    stage.addWidget(view.headline)
    stage.addWidget(view.triptych, 3)
    bars = QHBoxLayout()
    for b in (view.bars_clean, view.bars_adv, view.bars_cmp):
        bars.addWidget(b)
    stage.addLayout(bars, 2)
    center = QVBoxLayout()
    center.addWidget(view.banner)
    center.addWidget(view.stage, 1)
    center.addWidget(view.epsilon)
    center.addWidget(view.attack)
    center.addWidget(view.curve, 1)
    root = QHBoxLayout(view)
    root.addWidget(view.sidebar)
    root.addLayout(center, 1)
