"""The Train view's settings form: presets in plain words, then every detailed field.

A preset ("Quick look: about a minute", "The paper's WR_FGSM", "Strongest
defense we have") fills the fields below it; the fields stay for experts, and a
one-line explanation sits under the jargon (a1, the penalty). Only widgets and
``job(...)``, which turns the current settings into a ``TrainJob``; the view
decides when to run it. Defenses are offered as ``TrainConfig`` accepts them.
"""

from __future__ import annotations

import time
from itertools import count
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from fgsm_studio.core.data import FASHION_SYSTEM_DIR
from fgsm_studio.core.devices import available_devices
from fgsm_studio.core.experiments import RunSpec, best_so_far_path
from fgsm_studio.core.models import TRAINABLE
from fgsm_studio.core.paths import user_data_dir
from fgsm_studio.core.training import TrainConfig
from fgsm_studio.gui.train_worker import TrainJob

# (value, label) of every defense; only those this TrainConfig knows are offered.
DEFENSES = [
    ("wr_fgsm", "WR_FGSM (paper, Eq. 8)"),
    ("none", "none (standard)"),
    ("fgsm-rs", "FGSM, random start"),
    ("pgd", "PGD training"),
    ("trades", "TRADES"),
]
SELECT_BY = [
    ("auto", "auto"),
    ("clean", "clean accuracy"),
    ("clean+fgsm", "clean + FGSM"),
    ("pgd", "PGD accuracy"),
]
# name -> the fields it sets; "defense" falls back to the first one offered of a list.
PRESETS = {
    "Quick look: about a minute": dict(
        defense=("wr_fgsm",), a1=0.5, epsilon=0.1, epochs=3, limit=1000, select_by="auto"
    ),
    "The paper's WR_FGSM": dict(
        defense=("wr_fgsm",), a1=0.5, epsilon=0.1, epochs=10, limit=0, select_by="auto"
    ),
    "Strongest defense we have": dict(
        defense=("pgd", "trades", "wr_fgsm"),
        a1=1.0,
        epsilon=0.1,
        epochs=15,
        limit=0,
        select_by="pgd",
    ),
}


def _known(defense: str) -> bool:
    try:
        TrainConfig(defense=defense).validate()
    except ValueError:
        return False
    return True


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #555; font-size: 8pt;")
    return label


# (label, dataset name, needs a folder, uses the dataset's own train/test split)
DATASETS = [
    ("MNIST digits: 5000 bundled (10-fold protocol)", "mnist-5k", False, False),
    ("Fashion-MNIST (train/test split)", "fashion-mnist", False, True),
    ("MNIST idx files in a folder...", "mnist", True, True),
    ("CIFAR-10 python batches folder...", "cifar10", True, True),
    ("Images, one folder per class (10-fold protocol)...", "folder", True, False),
]


def _spin(
    lo: float, hi: float, value: float, decimals: int = 0, step: float = 1.0
) -> QSpinBox | QDoubleSpinBox:
    box = QDoubleSpinBox() if decimals else QSpinBox()
    if decimals:
        box.setDecimals(decimals)
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setValue(value)
    return box


class TrainForm(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._issued: set[Path] = (
            set()
        )  # checkpoint paths given to jobs (queued ones not on disk yet)
        self.dataset = QComboBox()
        self.dataset.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.dataset.setMinimumContentsLength(18)
        for label, *_ in DATASETS:
            self.dataset.addItem(label)
        if not FASHION_SYSTEM_DIR.is_dir():
            self.dataset.setItemText(1, "Fashion-MNIST: choose its idx folder...")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("dataset folder")
        self.browse = QPushButton("Browse...")
        self.arch = QComboBox()
        self.arch.addItems(list(TRAINABLE))
        self.preset = QComboBox()
        self.preset.addItem("Custom (the fields below)")
        self.preset.addItems(list(PRESETS))
        self.preset.setToolTip("A preset fills the fields below; change any of them after.")
        self.defense = QComboBox()
        for value, label in DEFENSES:
            if _known(value):
                self.defense.addItem(label, value)
        self.select_by = QComboBox()
        for value, label in SELECT_BY:
            self.select_by.addItem(label, value)
        self.select_by.setToolTip(
            "What early stopping and the saved best epoch watch on the validation set "
            "(auto: clean + FGSM with a defense, clean without). "
            "PGD accuracy is the honest choice for a defense (Wong et al., Rice et al.)."
        )
        self.a1 = QSlider(Qt.Orientation.Horizontal)
        self.a1.setRange(0, 100)
        self.a1.setValue(50)
        self.a1_label = QLabel()
        self.reg = QComboBox()
        self.reg.setToolTip(
            "literal: Eq. 8 as written (drives weights to zero for a2 >= 0.5); scaled: weight-decay size"
        )
        self.reg.addItem("scaled: a2*5e-4*||W||^2", "scaled")
        self.reg.addItem("literal: a2*||W||^2", "literal")
        self.epsilon = _spin(0.0, 0.5, 0.1, 3, 1 / 255)
        self.epochs = _spin(1, 100, 5)
        self.lr = _spin(1e-6, 1.0, 1e-3, 6, 1e-4)
        self.batch = _spin(2, 4096, 32)
        self.patience = _spin(1, 100, 4)
        self.seed = _spin(0, 10**6, 0)
        self.limit = _spin(0, 10**7, 0)
        self.limit.setSpecialValueText("all")
        self.device = QComboBox()
        for key, label in available_devices():
            self.device.addItem(label, key)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. my defended digits model")

        form = QFormLayout(self)
        form.addRow("Preset", self.preset)
        form.addRow("Dataset", self.dataset)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(self.browse)
        form.addRow("", row)
        form.addRow("Architecture", self.arch)
        form.addRow("Defense", self.defense)
        a1row = QHBoxLayout()
        a1row.addWidget(self.a1, 1)
        a1row.addWidget(self.a1_label)
        form.addRow("a1 (FGSM loss)", a1row)
        form.addRow(
            "",
            _note("a1: weight of the loss on FGSM images; a2 = 1 - a1: of the penalty."),
        )
        form.addRow("Penalty", self.reg)
        form.addRow("", _note("scaled: weight-decay size (5e-4); literal: Eq. 8 as written."))
        form.addRow("Training epsilon", self.epsilon)
        form.addRow("Epochs (max)", self.epochs)
        form.addRow("Learning rate (Adam)", self.lr)
        form.addRow("Batch size", self.batch)
        form.addRow("Patience (epochs)", self.patience)
        form.addRow("Best epoch by", self.select_by)
        form.addRow("Seed", self.seed)
        form.addRow("Training images", self.limit)
        form.addRow("Device", self.device)
        form.addRow("Name", self.name)
        self.a1.valueChanged.connect(self._on_a1_value_changed)
        self.defense.currentIndexChanged.connect(self._on_defense_changed)
        self.dataset.currentIndexChanged.connect(self._on_dataset_changed)
        self.browse.clicked.connect(self._on_browse_clicked)
        self.preset.currentTextChanged.connect(self._on_preset_changed)
        self._on_a1_value_changed(50)
        self._on_dataset_changed(0)

    def apply_preset(self, name: str) -> None:
        """Fill the fields from the preset ``name`` (one of ``PRESETS``)."""
        p = PRESETS[name]
        self.dataset.setCurrentIndex(0)
        self.arch.setCurrentText("small_cnn")
        known = [self.defense.itemData(i) for i in range(self.defense.count())]
        defense = next(d for d in p["defense"] if d in known)
        self.defense.setCurrentIndex(known.index(defense))
        self.a1.setValue(round(100 * p["a1"]))
        self.reg.setCurrentIndex(0)
        self.epsilon.setValue(p["epsilon"])
        self.epochs.setValue(p["epochs"])
        self.limit.setValue(p["limit"])
        self.select_by.setCurrentIndex(self.select_by.findData(p["select_by"]))

    def _on_preset_changed(self, name: str) -> None:
        if name in PRESETS:
            self.apply_preset(name)

    def _on_a1_value_changed(self, value: int) -> None:
        self.a1_label.setText(f"a1 {value / 100:.2f} | a2 {1 - value / 100:.2f}")

    def _on_defense_changed(self) -> None:
        on = self.defense.currentData() != "none"
        for w in (self.a1, self.a1_label, self.reg):
            w.setEnabled(on)

    def _on_dataset_changed(self, index: int) -> None:
        _, name, needs_folder, _ = DATASETS[index]
        needs = needs_folder or (name == "fashion-mnist" and not FASHION_SYSTEM_DIR.is_dir())
        self.folder.setEnabled(needs)
        self.browse.setEnabled(needs)

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Choose the dataset folder", self.folder.text() or str(Path.home())
        )
        if folder:
            self.folder.setText(folder)

    def job(self, *, a1: float | None = None, sweep: str = "") -> TrainJob:
        """A TrainJob from the current settings (``a1`` overrides the slider, for sweeps)."""
        _, dataset, _, own_split = DATASETS[self.dataset.currentIndex()]
        defense = self.defense.currentData()
        a1 = self.a1.value() / 100 if a1 is None else a1
        spec = RunSpec.of(
            dataset=dataset,
            root=self.folder.text().strip() or None,
            device=self.device.currentData(),
            arch=self.arch.currentText(),
            defense=defense,
            a1=a1,
            reg=self.reg.currentData(),
            epsilon=self.epsilon.value(),
            fold=0,
            folds=0 if own_split else 10,
            epochs=self.epochs.value(),
            lr=self.lr.value(),
            batch_size=self.batch.value(),
            patience=self.patience.value(),
            select_by=self.select_by.currentData(),
            seed=self.seed.value(),
            limit=self.limit.value() or None,
            eval_epsilons=(self.epsilon.value() or 0.1,),
            eval_attacks=("fgsm", "pgd"),
            eval_limit=1000,
        )
        kind = f"{defense}_a1-{a1:.2f}" if defense != "none" else "standard"
        label = f"{defense.upper()} a1={a1:.2f}" if defense != "none" else "standard"
        name = self.name.text().strip() or f"{dataset} {spec.train.arch} ({label})"
        stem = f"{dataset}_{spec.train.arch}_{kind}_{time.strftime('%Y%m%d-%H%M%S')}"
        return TrainJob(spec=spec, save_to=self._unique(stem), name=name, sweep=sweep)

    def _unique(self, stem: str) -> Path:
        """A checkpoint path no earlier job of this form and no file on disk has."""
        folder = user_data_dir() / "models"
        for n in count(1):
            path = folder / f"{stem}{'' if n == 1 else f'-{n}'}.safetensors"
            if (
                path not in self._issued
                and not path.exists()
                and not best_so_far_path(path).exists()
            ):
                self._issued.add(path)
                return path
        raise AssertionError("unreachable")
