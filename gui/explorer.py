"""The Attack Explorer: load a model, drop an image in, move epsilon, watch it fail.

The view holds widgets; the state (model, image, session) lives here too but
flows one way: inputs -> ``core`` -> frames -> widgets. FGSM frames use the
``AttackSession``'s cached gradient and are drawn on the GUI thread (one
forward pass); slider events are coalesced so at most one frame is computed
per event-loop turn. BIM/PGD frames, the epsilon sweep and model loading run on
the ``TaskRunner`` (latest value wins). Bad images or checkpoints show a message
in the banner and leave what was on screen untouched.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QWidget,
)

from fgsm_studio.core.bundled import (
    ModelEntry,
    bundled_models,
    default_model,
    first_screen,
    samples_for,
    twin,
)
from fgsm_studio.core.checkpoint import ModelCard, load
from fgsm_studio.core.devices import configure_threads
from fgsm_studio.core.imagenet import resolve
from fgsm_studio.core.images import (
    ImageError,
    load_image,
    looks_like_paper,
    save_adversarial,
    to_mnist_style,
    to_model_input,
)
from fgsm_studio.core.session import AttackFrame, AttackSession
from fgsm_studio.gui import share
from fgsm_studio.gui.controls import eps_text
from fgsm_studio.gui.explorer_layout import build_layout
from fgsm_studio.gui.inputs import (
    CameraDialog,
    DrawDialog,
    image_source_from_mime,
)
from fgsm_studio.gui.panels import big_font
from fgsm_studio.gui.workers import TaskRunner

log = logging.getLogger(__name__)
SWEEP = torch.linspace(0, 0.5, 101)
SWEEP_FINE = torch.linspace(0, 0.05, 51)  # large photos flip at a few /255


class ExplorerView(QWidget):
    frame_rendered = Signal()
    error_shown = Signal(str)
    model_loaded = Signal(str)
    compare_shown = Signal()  # the compare model's bars were updated
    _download_progress = Signal(str)  # emitted from the worker while weights download

    def __init__(
        self, runner: TaskRunner, settings: QSettings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.runner, self.settings = runner, settings
        self.entries = bundled_models()
        self.model: torch.nn.Module | None = None
        self.card: ModelCard | None = None
        self.model_path: Path | None = None
        self.compare: tuple[torch.nn.Module, ModelCard] | None = None
        self.raw_image: torch.Tensor | None = None
        self.true_label: int | None = None
        self.image_name = ""
        self.session: AttackSession | None = None
        self.frame: AttackFrame | None = None
        self._render_scheduled = False
        self._start_image: Path | None = None  # --image, shown once the first model is in
        self._auto_first = False  # pick the opening sample and epsilon (first screen)
        self._source: Path | str | None = None  # what load_model was asked for
        self._ids = {"model": -1, "compare": -1, "attack": -1, "sweep": -1, "first": -1}
        # One image at a time is fastest on one intra-op thread (measured: MobileNetV2 at
        # 28 px 7 ms vs 18 ms with two, EfficientNet-Lite0 at 224 px 23 vs 32 ms, when a
        # worker's thread team is alive too). torch's setting is per thread with OpenMP:
        # the GUI thread and the explorer's worker take one core each; training sets its own.
        configure_threads("gui")
        runner.submit("threads", lambda: configure_threads("explorer-worker"))
        self._build()
        self.setAcceptDrops(True)
        runner.finished.connect(self._on_runner_finished)
        self._download_progress.connect(self.headline.setText)
        runner.failed.connect(self._on_runner_failed)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        build_layout(self)
        self._banner_timer = QTimer(self, singleShot=True, interval=15000, timeout=self.banner.hide)
        self.epsilon.changed.connect(self._on_epsilon_changed)
        self.attack.changed.connect(self._on_attack_changed)
        self.panel.model_chosen.connect(self.load_model)
        self.panel.compare_chosen.connect(self.load_compare)
        self.gallery.chosen.connect(self._on_gallery_chosen)
        self.mnist_style.toggled.connect(lambda _: self._image_changed())
        self.open_button.clicked.connect(self._on_open_button_clicked)
        self.paste_button.clicked.connect(self.paste)
        self.draw_button.clicked.connect(self._on_draw_button_clicked)
        self.camera_button.clicked.connect(self._on_camera_button_clicked)
        self.save_button.clicked.connect(lambda: share.save_adversarial_dialog(self))
        self.card_button.clicked.connect(lambda: share.save_demo_card_dialog(self))
        self.copy_button.clicked.connect(lambda: share.copy_demo_card(self))
        QShortcut(QKeySequence.StandardKey.Paste, self, activated=self.paste)

    def set_presenter(self, on: bool) -> None:
        """Presenter mode: big headline, advanced controls hidden."""
        self.sidebar.setVisible(not on)
        self.curve.setVisible(not on)
        self.attack.steps.setVisible(not on and self.attack.name() != "fgsm")
        big_font(self.headline, 34 if on else 20)

    # ------------------------------------------------------------------ errors
    def show_error(self, message: str) -> None:
        log.warning("shown to user: %s", message)
        self.banner.setText(message)
        self.banner.show()
        self._banner_timer.start()
        self.error_shown.emit(message)

    # ------------------------------------------------------------------ models
    def start(
        self, model: Path | None = None, image: Path | None = None, *, epsilon_given: bool = False
    ) -> None:
        """First screen: the given (or default) model and image.

        With neither a model, an image nor an epsilon given, the opening sample and
        epsilon are chosen so that the attack already flips the label.
        """
        self._start_image = image
        self._auto_first = model is None and image is None and not epsilon_given
        entry = default_model(self.entries)
        path = model or (entry.path if entry else None)
        if path is None:
            self.headline.setText("No model found: open a checkpoint")
            return
        self.load_model(Path(path))

    def load_model(self, source: Path | str) -> None:
        """Load a checkpoint file or an ``imagenet:<arch>`` entry, off the GUI thread."""
        self.headline.setText(f"Loading {Path(str(source)).name}...")
        self._source = source

        def task() -> tuple:
            path = resolve(source, progress=self._download_progress.emit)
            return (path, *load(path))

        self._ids["model"] = self.runner.submit("model", task)

    def load_compare(self, path: Path | None) -> None:
        if path is None:
            self.compare = None
            self.bars_cmp.hide()
            self.schedule_render()
            return
        self._ids["compare"] = self.runner.submit("compare", lambda: (Path(path), *load(path)))

    def _model_ready(self, path: Path, model: torch.nn.Module, card: ModelCard) -> None:
        old_dataset = self.card.dataset if self.card else None
        self.model, self.card, self.model_path = model, card, path
        self.panel.select(path, card, self._source)
        if not any(e.path == path for e in self.entries):
            self.panel.remember(path)
        self.attack.set_classes(card.class_names)
        mnist_like = card.in_channels == 1 and card.image_size == 28
        self.mnist_style.setVisible(mnist_like)
        self.draw_button.setVisible(mnist_like)
        other = twin(ModelEntry(path, card), self.entries)
        self.panel.select_compare(other.path if other else None)
        self.load_compare(other.path if other else None)
        new_image = False  # set_image computes the session itself: do it once
        if card.dataset != old_dataset:
            samples = samples_for(card.dataset)
            self.gallery.set_samples(samples)
            start, self._start_image = self._start_image, None
            if start is not None:
                new_image = self.set_image(start)
            elif samples and self._auto_first:
                self._auto_first = False
                self._ids["first"] = self.runner.submit(
                    "first", lambda: first_screen(model, card, samples, SWEEP)
                )
            elif samples and (self.raw_image is None or old_dataset is not None):
                new_image = self.set_image(samples[0].path, samples[0].label)
        if not new_image:
            self._image_changed()
        self.model_loaded.emit(str(path))

    # ------------------------------------------------------------------ images
    def set_image(self, source, label: int | None = None) -> bool:
        """Load an image (path or bytes); on failure show why and keep the current one."""
        try:
            raw = load_image(source)
        except ImageError as exc:
            self.show_error(str(exc))
            return False
        self.raw_image, self.true_label = raw, (label if label is not None and label >= 0 else None)
        self.image_name = Path(source).name if isinstance(source, str | Path) else "pasted image"
        self.banner.hide()
        self._image_changed()
        return True

    def model_input(self) -> torch.Tensor:
        card, raw = self.card, self.raw_image
        if card.in_channels == 1 and card.image_size == 28 and self.mnist_style.isChecked():
            if looks_like_paper(raw) or tuple(raw.shape[1:]) != (28, 28):
                return to_mnist_style(raw)
        return to_model_input(raw, card.in_channels, card.image_size)

    def _image_changed(self) -> None:
        if self.model is None or self.raw_image is None:
            return
        label = (
            self.true_label
            if self.true_label is not None and self.true_label < self.card.num_classes
            else None
        )
        self.session = AttackSession(
            self.model, self.model_input(), label=label, target=self.attack.target_class()
        )
        session = self.session
        grid = SWEEP_FINE if self.card.image_size > 64 else SWEEP
        self._ids["sweep"] = self.runner.submit(
            "sweep", lambda: (session, session.sweep(grid, chunk=16))
        )
        self.schedule_render()

    # ------------------------------------------------------------------ frames
    def schedule_render(self) -> None:
        if not self._render_scheduled:
            self._render_scheduled = True
            QTimer.singleShot(0, self._render)

    def _render(self) -> None:
        self._render_scheduled = False
        if self.session is None:
            return
        eps, attack, session = self.epsilon.value(), self.attack.name(), self.session
        self.curve.set_epsilon(eps)
        if attack == "fgsm":
            self.runner.cancel("attack")
            self._draw(session.frame(eps))
        else:
            steps = self.attack.steps.value()
            self.headline.setText(f"Running {attack.upper()} ({steps} steps)...")
            self._ids["attack"] = self.runner.submit(
                "attack", lambda: (session, session.frame(eps, attack=attack, steps=steps))
            )

    def _draw(self, frame: AttackFrame) -> None:
        self.frame = frame
        names = self.card.class_names
        p0, p1 = frame.probs_clean[frame.pred_clean], frame.probs_adv[frame.pred_adv]
        self.triptych.show_frame(frame.original, frame.adversarial, frame.epsilon)
        self.triptych.set_titles(
            f"Original: {names[frame.pred_clean]} ({p0:.1%})",
            f"Adversarial: {names[frame.pred_adv]} ({p1:.1%})",
        )
        true = (
            self.true_label
            if self.true_label is not None and self.true_label < len(names)
            else None
        )
        self.bars_clean.show_probs(
            frame.probs_clean, names, pred=frame.pred_clean, true=true, target=frame.target
        )
        self.bars_adv.show_probs(
            frame.probs_adv, names, pred=frame.pred_adv, true=true, target=frame.target
        )
        verdict = "fooled" if frame.flipped else "holds"
        color = "#c62828" if frame.flipped else "#2e7d32"
        self.headline.setText(
            f"<span>{names[frame.pred_clean]} ({p0:.1%}) &rarr; </span>"
            f"<span style='color:{color}'>{names[frame.pred_adv]} ({p1:.1%})</span>"
            f"<span style='font-size:small; color:#555'> &nbsp; {frame.attack.upper()}, eps {eps_text(frame.epsilon)}: "
            f"model {verdict}</span>"
        )
        self._draw_compare(frame)
        self.frame_rendered.emit()

    def _draw_compare(self, frame: AttackFrame) -> None:
        """The compare model's belief about this frame: one more forward, on this thread.

        (Measured: computing it on the worker instead lowers p50 but raises p95, since
        the two threads then contend for the GIL and both cores.)
        """
        if self.compare is None:
            self.bars_cmp.hide()
            return
        model, card = self.compare
        x = to_model_input(frame.adversarial, card.in_channels, card.image_size)
        with torch.no_grad():
            probs = model(x[None]).softmax(1)[0]
        self._show_compare(card, probs)

    def _show_compare(self, card: ModelCard, probs: torch.Tensor) -> None:
        pred = int(probs.argmax())
        true = (
            self.true_label
            if self.true_label is not None and self.true_label < card.num_classes
            else None
        )
        kind = "Defended (WR_FGSM)" if card.defense == "wr_fgsm" else "Standard"
        self.bars_cmp.set_title(
            f"{kind} model: {card.class_names[pred]} ({float(probs[pred]):.1%})"
        )
        self.bars_cmp.setToolTip(card.title())
        self.bars_cmp.show()
        self.bars_cmp.show_probs(probs, card.class_names, pred=pred, true=true)
        self.compare_shown.emit()

    # ------------------------------------------------------------------ worker results
    def _on_runner_finished(self, channel: str, task_id: int, result: object) -> None:
        if task_id != self._ids.get(channel):
            return  # a stale answer
        if channel == "model":
            self._model_ready(*result)
        elif channel == "first":
            sample, eps = result
            self.epsilon.set_value(eps)
            self.set_image(sample.path, sample.label)
        elif channel == "compare":
            path, model, card = result
            if self.card is not None and card.num_classes != self.card.num_classes:
                self.show_error(
                    f"{card.title()} has {card.num_classes} classes, not {self.card.num_classes}: it cannot be compared."
                )
                return
            self.compare = (model, card)
            self.schedule_render()
        elif channel == "attack":
            session, frame = result
            if session is self.session:
                self._draw(frame)
        elif channel == "sweep":
            session, sweep = result
            if session is self.session:
                cls = session.target if session.target is not None else session.pred_clean
                self.curve.show_sweep(sweep.epsilons, sweep.probs, cls, sweep.flip_epsilon)

    def _on_runner_failed(self, channel: str, task_id: int, message: str, details: str) -> None:
        if channel in ("model", "compare"):
            prefix = (
                "Could not open the model"
                if channel == "model"
                else "Could not open the compare model"
            )
            self.show_error(f"{prefix}: {message}")
            if self.model is None:
                self.headline.setText("No model loaded: choose one on the left")
        elif task_id == self._ids.get(channel):
            self.show_error(f"The {channel} computation failed: {message}")

    # ------------------------------------------------------------------ handlers
    def _on_epsilon_changed(self, eps: float) -> None:
        self.schedule_render()

    def _on_attack_changed(self) -> None:
        if self.session is not None and self.attack.target_class() != self.session.target:
            self._image_changed()  # a new target needs a new gradient
        else:
            self.schedule_render()

    def _on_gallery_chosen(self, path: Path, label: int) -> None:
        self.set_image(path, label)

    def _on_open_button_clicked(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open an image",
            str(Path.home()),
            "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff);;All files (*)",
        )
        if path:
            self.set_image(Path(path))

    def _on_draw_button_clicked(self) -> None:
        dialog = DrawDialog(self)
        if dialog.exec():
            self.set_image(dialog.png())

    def _on_camera_button_clicked(self) -> None:
        dialog = CameraDialog(self)
        if dialog.exec() and dialog.result_png:
            self.set_image(dialog.result_png)

    def paste(self) -> None:
        source, what = image_source_from_mime(QApplication.clipboard().mimeData())
        if source is None:
            self.show_error(f"Nothing to paste: {what}.")
        else:
            self.set_image(source)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        source, what = image_source_from_mime(event.mimeData())
        if source is None:
            self.show_error(f"That drop could not be used: {what}.")
            return
        event.acceptProposedAction()
        self.set_image(source)

    # ------------------------------------------------------------------ save and share
    def save_adversarial(self, path: Path) -> tuple[Path, Path]:
        """Lossless PNG at model resolution, plus the exact float tensor as .npy."""
        return save_adversarial(self.frame.adversarial, path)

    def demo_card(self) -> QPixmap:
        return self.stage.grab()
