"""The Train view's settings form: presets in plain words, the main fields, expert settings.

A preset ("Quick look: about a minute", "The paper's WR_FGSM", "Strongest
defense we have") fills every field, the expert ones included. Below it the
fields most runs change; "Expert settings" opens the rest: the penalty, the
optimiser's numbers, what the best epoch is chosen by, augmentation, and the
options of one defense or network (attack steps for PGD / TRADES, beta for
TRADES, the epsilon warm-up for any defense, the first layer of the paper's big
networks), each shown only where it applies, with a one-line explanation under
it. Closed, the section says in one line what it holds. Only widgets, ``job(...)``
(the current settings as a ``TrainJob``) and ``problem()`` (why that job should
not start, in one sentence); the view decides when to run it. The choices and the
check live in ``train_options``.
"""

from __future__ import annotations

import time
from itertools import count
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

from fgsm_studio.core import augment
from fgsm_studio.core.data import FASHION_SYSTEM_DIR
from fgsm_studio.core.devices import available_devices
from fgsm_studio.core.experiments import RunSpec, best_so_far_path
from fgsm_studio.core.models import TRAINABLE
from fgsm_studio.core.paths import user_data_dir
from fgsm_studio.core.training import TrainConfig
from fgsm_studio.gui.train_options import (
    AUGMENTS,
    DATASETS,
    DEFENSES,
    NOTES,
    PRESETS,
    SELECT_BY,
    STEMS,
    TIPS,
    applies,
    problem,
)
from fgsm_studio.gui.train_worker import TrainJob

DEFAULT = TrainConfig()


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


def _combo(items: list[tuple[str, str]]) -> QComboBox:
    box = QComboBox()
    for value, label in items:
        box.addItem(label, value)
    return box


class TrainForm(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._issued: set[Path] = set()  # checkpoints given to jobs (queued ones not on disk yet)
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
        self.defense = _combo([(v, label) for v, label in DEFENSES if _known(v)])
        self.select_by = _combo(SELECT_BY)
        self.select_by.setToolTip(
            "What early stopping and the saved best epoch watch on the validation set "
            "(auto: clean + FGSM with a defense, clean without). "
            "PGD accuracy is the honest choice for a defense (Wong et al., Rice et al.)."
        )
        self.a1 = QSlider(Qt.Orientation.Horizontal)
        self.a1.setRange(0, 100)
        self.a1.setValue(50)
        self.a1_label = QLabel()
        self.reg = _combo(
            [("scaled", "scaled: a2*5e-4*||W||^2"), ("literal", "literal: a2*||W||^2")]
        )
        self.reg.setToolTip(
            "literal: Eq. 8 as written (drives weights to zero for a2 >= 0.5); scaled: weight-decay size"
        )
        self.epsilon = _spin(0.0, 0.5, 0.1, 3, 1 / 255)
        self.epochs = _spin(1, 100, 5)
        self.lr = _spin(1e-6, 1.0, 1e-3, 6, 1e-4)
        self.batch = _spin(2, 4096, 32)
        self.patience = _spin(1, 100, 4)
        self.seed = _spin(0, 10**6, 0)
        self.limit = _spin(0, 10**7, 0)
        self.limit.setSpecialValueText("all")
        self.augment = _combo(AUGMENTS)
        self.augment.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.augment.setMinimumContentsLength(14)
        self.attack_steps = _spin(1, 100, DEFAULT.attack_steps)
        self.beta = _spin(0.0, 100.0, DEFAULT.beta, 1, 0.5)
        self.warmup_epochs = _spin(0.0, 100.0, DEFAULT.warmup_epochs, 1, 0.5)
        self.warmup_epochs.setSpecialValueText("none")
        self.stem = _combo(STEMS)
        self.device = _combo(available_devices())
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. my defended digits model")
        self.expert_button = QToolButton()
        self.expert_button.setText("Expert settings")
        self.expert_button.setCheckable(True)
        self.expert_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.expert_button.setArrowType(Qt.ArrowType.RightArrow)
        self.expert_button.setAutoRaise(True)
        self.summary = _note("")
        self._width = 0
        self._layout()
        self._width = self.sizeHint().width()  # every row shown: the width the view reserves
        self.a1.valueChanged.connect(self._on_a1_value_changed)
        self.dataset.currentIndexChanged.connect(self._on_dataset_changed)
        self.browse.clicked.connect(self._on_browse_clicked)
        self.preset.currentTextChanged.connect(self._on_preset_changed)
        self.expert_button.toggled.connect(self._on_expert_button_toggled)
        for box in (self.defense, self.arch, self.augment, self.stem, self.select_by, self.reg):
            box.currentIndexChanged.connect(self._refresh)
        for spin in (self.attack_steps, self.beta, self.warmup_epochs, self.lr, self.batch):
            spin.valueChanged.connect(self._refresh)
        self.patience.valueChanged.connect(self._refresh)
        self._on_a1_value_changed(50)
        self._on_dataset_changed(0)
        self._on_expert_button_toggled(False)

    def _layout(self) -> None:
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
        form.addRow("Training epsilon", self.epsilon)
        form.addRow("Epochs (max)", self.epochs)
        form.addRow("Training images", self.limit)
        form.addRow("Device", self.device)
        form.addRow("Name", self.name)
        form.addRow(self.expert_button)
        form.addRow(self.summary)
        self._form = form
        # (field, the option it is, or "" when it always applies): shown while the section is open
        self._expert: list[tuple[QWidget, str]] = []
        for label, widget, note, key in (
            (
                "Penalty",
                self.reg,
                "scaled: weight-decay size (5e-4); literal: Eq. 8 as written.",
                "",
            ),
            ("Learning rate (Adam)", self.lr, "", ""),
            ("Batch size", self.batch, "", ""),
            ("Patience (epochs)", self.patience, "", ""),
            ("Best epoch by", self.select_by, "", ""),
            ("Seed", self.seed, "", ""),
            ("Augmentation", self.augment, NOTES["augment"], "augment"),
            ("Attack steps", self.attack_steps, NOTES["attack_steps"], "attack_steps"),
            ("TRADES beta", self.beta, NOTES["beta"], "beta"),
            ("Epsilon warm-up", self.warmup_epochs, NOTES["warmup_epochs"], "warmup_epochs"),
            ("First layer (stem)", self.stem, NOTES["stem"], "stem"),
        ):
            form.addRow(label, widget)
            self._expert.append((widget, key))
            if note:
                explained = _note(note)
                form.addRow("", explained)
                self._expert.append((explained, key))
            if key:
                widget.setToolTip(TIPS[key])
                if note:
                    explained.setToolTip(TIPS[key])

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
        self.reg.setCurrentIndex(0)
        self.epsilon.setValue(p["epsilon"])
        self.epochs.setValue(p["epochs"])
        self.limit.setValue(p["limit"])
        for key in ("select_by", "augment"):
            box = getattr(self, key)
            box.setCurrentIndex(box.findData(p[key]))
        self.stem.setCurrentIndex(0)
        for key in ("attack_steps", "beta", "warmup_epochs"):
            getattr(self, key).setValue(p[key])

    def _on_preset_changed(self, name: str) -> None:
        if name in PRESETS:
            self.apply_preset(name)

    def _on_a1_value_changed(self, value: int) -> None:
        self.a1_label.setText(f"a1 {value / 100:.2f} | a2 {1 - value / 100:.2f}")

    def _on_dataset_changed(self, index: int) -> None:
        self.folder.setEnabled(self._needs_folder())
        self.browse.setEnabled(self._needs_folder())
        kind = augment.resolve("auto", DATASETS[index][1])
        self.augment.setItemText(0, f"auto: {kind} for this dataset")
        self._refresh()

    def _on_expert_button_toggled(self, on: bool) -> None:
        arrow = Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow
        self.expert_button.setArrowType(arrow)
        self._refresh()
        if on:  # once the rows are laid out, scroll them into view
            QTimer.singleShot(0, self._scroll_to_expert)

    def _scroll_to_expert(self) -> None:
        area = self.parentWidget()
        while area is not None and not isinstance(area, QScrollArea):
            area = area.parentWidget()
        if area is not None:
            last = next(w for w, _ in reversed(self._expert) if not w.isHidden())
            area.ensureWidgetVisible(last, 0, 8)  # as many rows as fit ...
            area.ensureWidgetVisible(self.expert_button, 0, 8)  # ... from the button down

    def _refresh(self) -> None:
        """Show each expert option only where it applies; say in one line what they hold."""
        defense, arch = self.defense.currentData(), self.arch.currentText()
        on = defense != "none"
        for w in (self.a1, self.a1_label, self.reg):
            w.setEnabled(on)
        opened = self.expert_button.isChecked()
        for widget, key in self._expert:
            shown = opened and (not key or applies(key, defense=defense, arch=arch))
            self._form.setRowVisible(widget, shown)
        self._form.setRowVisible(self.summary, not opened)
        self.summary.setText(self.describe_expert())

    def describe_expert(self) -> str:
        """The expert settings that apply, in one line (shown while the section is closed)."""
        defense, arch = self.defense.currentData(), self.arch.currentText()
        aug = self.augment.currentData()
        if aug == "auto":
            aug = f"auto ({augment.resolve(aug, DATASETS[self.dataset.currentIndex()][1])})"
        parts = [f"augmentation {aug}"]
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
    def _expert_values(self, defense: str, arch: str) -> dict:
        """The expert options that apply; the others at their defaults (the record stays clean)."""
        values = {
            "attack_steps": self.attack_steps.value(),
            "beta": self.beta.value(),
            "warmup_epochs": self.warmup_epochs.value(),
            "stem": self.stem.currentData(),
        }
        return {
            key: v if applies(key, defense=defense, arch=arch) else getattr(DEFAULT, key)
            for key, v in values.items()
        }

    def problem(self) -> str | None:
        """Why the current settings should not start, in one sentence (None: they may)."""
        return problem(self.job(reserve=False).spec, needs_folder=self._needs_folder())

    def job(self, *, a1: float | None = None, sweep: str = "", reserve: bool = True) -> TrainJob:
        """A TrainJob from the current settings (``a1`` overrides the slider, for sweeps)."""
        _, dataset, _, own_split = DATASETS[self.dataset.currentIndex()]
        defense, arch = self.defense.currentData(), self.arch.currentText()
        a1 = self.a1.value() / 100 if a1 is None else a1
        spec = RunSpec.of(
            dataset=dataset,
            root=self.folder.text().strip() or None,
            device=self.device.currentData(),
            arch=arch,
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
            augment=self.augment.currentData(),
            **self._expert_values(defense, arch),
            eval_epsilons=(self.epsilon.value() or 0.1,),
            eval_attacks=("fgsm", "pgd"),
            eval_limit=1000,
        )
        kind = f"{defense}_a1-{a1:.2f}" if defense != "none" else "standard"
        label = f"{defense.upper()} a1={a1:.2f}" if defense != "none" else "standard"
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
