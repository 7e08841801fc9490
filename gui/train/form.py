"""The Train view's settings form: presets in plain words, the main fields, expert settings.

A preset ("Quick look: about a minute", "The paper's WR_FGSM", "Strongest
defense we have") fills every field, the expert ones included. Below it the
fields most runs change; "Expert settings" (``train_expert``) opens the rest,
each shown only where it applies, the new ones with a one-line explanation.
Only widgets, ``job(...)`` (the current settings as a ``TrainJob``) and
``problem()`` (why that job should not start, in one sentence, from
``train_options``); the view decides when to run it.
"""

from __future__ import annotations

import time
from itertools import count
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QWidget,
)

from fgsm_studio.core.catalogue import defended
from fgsm_studio.core.data.loaders import FASHION_SYSTEM_DIR
from fgsm_studio.core.devices import available_devices
from fgsm_studio.core.models.networks import TRAINABLE
from fgsm_studio.core.paths import user_data_dir
from fgsm_studio.core.runs.experiments import best_so_far_path
from fgsm_studio.core.runs.spec import RunSpec

from .expert import ExpertSettings, combo, note, spin
from .options import DATASETS, DEFENSES, PRESETS, problem
from .worker import TrainJob


class TrainForm(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._issued: set[Path] = set()  # checkpoints given to jobs (queued ones not on disk yet)
        self._width = 0
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
        self.defense = combo(DEFENSES)
        self.a1 = QSlider(Qt.Orientation.Horizontal)
        self.a1.setRange(0, 100)
        self.a1.setValue(50)
        self.a1_label = QLabel()
        self.epsilon = spin(0.0, 0.5, 0.1, 3, 1 / 255)
        self.epochs = spin(1, 100, 5)
        self.limit = spin(0, 10**7, 0)
        self.limit.setSpecialValueText("all")
        self.device = combo(available_devices())
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
        form.addRow("", note("a1: weight of the loss on FGSM images; a2 = 1 - a1: of the penalty."))
        form.addRow("Training epsilon", self.epsilon)
        form.addRow("Epochs (max)", self.epochs)
        form.addRow("Training images", self.limit)
        form.addRow("Device", self.device)
        form.addRow("Name", self.name)
        self.expert = e = ExpertSettings(form, self._refresh)
        self.reg, self.lr, self.batch, self.patience, self.select_by, self.seed = (
            e.reg,
            e.lr,
            e.batch,
            e.patience,
            e.select_by,
            e.seed,
        )
        self.augment, self.attack_steps, self.beta, self.warmup_epochs, self.stem = (
            e.augment,
            e.attack_steps,
            e.beta,
            e.warmup_epochs,
            e.stem,
        )
        self._width = self.sizeHint().width()  # every row shown: the width the view reserves
        self.a1.valueChanged.connect(self._on_a1_value_changed)
        self.dataset.currentIndexChanged.connect(self._on_dataset_changed)
        self.browse.clicked.connect(self._on_browse_clicked)
        self.preset.currentTextChanged.connect(self._on_preset_changed)
        for box in (self.defense, self.arch):
            box.currentIndexChanged.connect(self._refresh)
        self._on_a1_value_changed(50)
        self._on_dataset_changed(0)

    def sizeHint(self) -> QSize:
        """As wide as with every expert row open, so opening them never scrolls sideways."""
        hint = super().sizeHint()
        return QSize(max(hint.width(), self._width), hint.height())

    # ------------------------------------------------------------------ handlers
    def apply_preset(self, name: str) -> None:
        """Fill the fields, the expert ones included, from the preset ``name`` (of ``PRESETS``)."""
        p = PRESETS[name]
        self.dataset.setCurrentIndex(0)
        self.arch.setCurrentText("small_cnn")
        known = [self.defense.itemData(i) for i in range(self.defense.count())]
        defense = next(d for d in p["defense"] if d in known)
        self.defense.setCurrentIndex(known.index(defense))
        self.a1.setValue(round(100 * p["a1"]))
        self.epsilon.setValue(p["epsilon"])
        self.epochs.setValue(p["epochs"])
        self.limit.setValue(p["limit"])
        self.expert.fill(p)

    def _on_preset_changed(self, name: str) -> None:
        if name in PRESETS:
            self.apply_preset(name)

    def _on_a1_value_changed(self, value: int) -> None:
        self.a1_label.setText(f"a1 {value / 100:.2f} | a2 {1 - value / 100:.2f}")

    def _on_dataset_changed(self, index: int) -> None:
        self.folder.setEnabled(self._needs_folder())
        self.browse.setEnabled(self._needs_folder())
        self._refresh()

    def _refresh(self) -> None:
        """After any change: a1 and the penalty need a defense; the expert rows that apply."""
        defense, arch = self.defense.currentData(), self.arch.currentText()
        for w in (self.a1, self.a1_label, self.reg):
            w.setEnabled(defended(defense))
        self.expert.show_for(defense, arch, DATASETS[self.dataset.currentIndex()][1])

    def _needs_folder(self) -> bool:
        _, name, needs_folder, _ = DATASETS[self.dataset.currentIndex()]
        return needs_folder or (name == "fashion-mnist" and not FASHION_SYSTEM_DIR.is_dir())

    def _on_browse_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Choose the dataset folder", self.folder.text() or str(Path.home())
        )
        if folder:
            self.folder.setText(folder)

    # ------------------------------------------------------------------ the job
    def problem(self, *, defense: str | None = None) -> str | None:
        """Why the current settings (with ``defense`` if given) should not start, in one
        sentence (None: they may)."""
        job = self.job(reserve=False, defense=defense)
        return problem(job.spec, needs_folder=self._needs_folder())

    def job(
        self,
        *,
        a1: float | None = None,
        sweep: str = "",
        reserve: bool = True,
        defense: str | None = None,
    ) -> TrainJob:
        """A TrainJob from the current settings (``a1`` overrides the slider and ``defense``
        the menu, for sweeps; the form's fields stay as the user left them).

        ``reserve=False``: a job to look at only; its checkpoint name is not taken.
        """
        _, dataset, _, own_split = DATASETS[self.dataset.currentIndex()]
        defense = defense or self.defense.currentData()
        arch = self.arch.currentText()
        a1 = self.a1.value() / 100 if a1 is None else a1
        spec = RunSpec.of(
            dataset=dataset,
            root=self.folder.text().strip() or None,
            device=self.device.currentData(),
            arch=arch,
            defense=defense,
            a1=a1,
            epsilon=self.epsilon.value(),
            fold=0,
            folds=0 if own_split else 10,
            epochs=self.epochs.value(),
            limit=self.limit.value() or None,
            **self.expert.values(defense, arch),
            eval_epsilons=(self.epsilon.value() or 0.1,),
            eval_attacks=("fgsm", "pgd"),
            eval_limit=1000,
        )
        kind = f"{defense}_a1-{a1:.2f}" if defended(defense) else "standard"
        label = f"{defense.upper()} a1={a1:.2f}" if defended(defense) else "standard"
        name = self.name.text().strip() or f"{dataset} {spec.train.arch} ({label})"
        stem = f"{dataset}_{spec.train.arch}_{kind}_{time.strftime('%Y%m%d-%H%M%S')}"
        save_to = self._unique(stem) if reserve else Path(f"{stem}.safetensors")
        return TrainJob(spec=spec, save_to=save_to, name=name, sweep=sweep)

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
