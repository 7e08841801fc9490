"""The Attack Explorer: load a model, drop an image in, move epsilon, watch it fail.

``ExplorerView`` is the controller: it owns the ``ExplorerState`` (the only place
the model, image, epsilon, attack, target, session and frame live), the widgets
that draw it (``Sidebar``, ``Stage``, ``EpsilonControl``, ``AttackControls``) and
the ``FrameEngine`` (``frames``) that turns state into frames. Images and
checkpoints are read by the ``Loader`` on threads the window never waits for; the
opening sample is picked on the ``TaskRunner``. A bad file shows a message in the
banner and leaves what was on screen, and the model selection, untouched. The
opening screen (``core.explorer.opening``'s plan) and what each model that arrives
brings (its twin, its image) are ``arrivals``; Open/Draw/Camera/Paste are ``ways_in``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeyEvent, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from fgsm_studio.core.data.images import (
    looks_like_paper,
    read_image,
    to_mnist_style,
    to_model_input,
)
from fgsm_studio.core.devices import configure_threads
from fgsm_studio.core.explorer.opening import epsilon_scale, out_of_domain
from fgsm_studio.core.models.bundled import ModelEntry, bundled_models, samples_for
from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.models.imagenet import resolve, virtual_sources

from ..guide import show_guide
from ..workers import Loader, TaskRunner
from . import share, ways_in
from .arrivals import ModelArrivals
from .controls import ATTACK_CHOICES, AttackControls, EpsilonControl
from .frames import FrameEngine
from .inputs import image_source_from_mime
from .stage import Stage
from .state import ExplorerState, Image, LoadedModel
from .walkthrough import WalkThrough
from .widgets import Banner, Sidebar, is_mnist_like

log = logging.getLogger(__name__)


class ExplorerView(QWidget):
    error_shown = Signal(str)
    model_loaded = Signal(str)
    _download_progress = Signal(str)  # emitted from a reading thread while weights download

    def __init__(
        self, runner: TaskRunner, settings: QSettings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.runner, self.settings = runner, settings
        self.state = ExplorerState(self)
        self.loader = Loader(self)
        # One image at a time is fastest on one intra-op thread (measured: MobileNetV2 at
        # 28 px 7 ms vs 18 ms with two, EfficientNet-Lite0 at 224 px 23 vs 32 ms, when a
        # worker's thread team is alive too). torch's setting is per thread with OpenMP:
        # the GUI thread and the explorer's worker take one core each; training sets its own.
        configure_threads("gui")
        runner.submit("threads", lambda: configure_threads("explorer-worker"))
        self.banner = Banner(self.state)
        self.state.set_catalogue(bundled_models())
        self.state.set_recent(ways_in.recent_models(settings))
        self.sidebar = Sidebar(self.state, settings)
        self.stage = Stage(self.state)
        self.epsilon = EpsilonControl(self.state)
        self.attack = AttackControls(self.state)
        self.curve = self.stage.curve
        self.walkthrough = WalkThrough(self)
        self.frames = FrameEngine(
            self.state,
            runner,
            model_input=self.model_input,
            parent=self,
        )
        self.frame_rendered = self.frames.frame_rendered
        self.compare_shown = self.frames.compare_shown
        self.arrivals = ModelArrivals(self)  # the first screen; what each new model brings
        self._place()
        self._connect()
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def _place(self) -> None:
        center = QVBoxLayout()
        center.addWidget(self.walkthrough)
        center.addWidget(self.stage, 1)
        center.addWidget(self.epsilon)
        center.addWidget(self.attack)
        root = QHBoxLayout(self)
        root.addWidget(self.sidebar)
        root.addLayout(center, 1)
        self.banner.setParent(self)  # floats over the stage's top: moves nothing

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Keys no control took: Right/Space/Left step through samples (through the
        walk-through's steps only, while it is open), 1/2/3/4... the attack, N random
        noise of the same epsilon beside the attack."""
        key = event.key()
        attacks = {Qt.Key.Key_1 + i: choice[0] for i, choice in enumerate(ATTACK_CHOICES[:9])}
        if self.walkthrough.isVisible() and key in (Qt.Key.Key_Right, Qt.Key.Key_Space):
            self.walkthrough.step(1)
        elif self.walkthrough.isVisible() and key == Qt.Key.Key_Left:
            self.walkthrough.step(-1)
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Space):
            self.step_image(1)
        elif key == Qt.Key.Key_Left:
            self.step_image(-1)
        elif key in attacks:
            self.state.set_attack(attacks[key])
        elif key == Qt.Key.Key_N:
            self.state.set_noise(not self.state.noise)
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_banner()

    def _place_banner(self) -> None:
        """Over the top of the images, below the verdict's two lines: never over the verdict."""
        top = self.stage.geometry()
        below = self.stage.detail.geometry().bottom() + 2  # in the stage's coordinates
        self.banner.setFixedWidth(max(200, top.width() - 40))
        self.banner.adjustSize()
        self.banner.move(top.x() + 20, top.y() + below)

    def _connect(self) -> None:
        s, side = self.state, self.sidebar
        s.model_changed.connect(self._on_state_model_changed)
        s.image_changed.connect(self._on_state_image_changed)
        s.presenter_changed.connect(self._on_state_presenter_changed)
        s.curve_in_presenter_changed.connect(self._on_state_curve_in_presenter_changed)
        self.frames.failed.connect(self.show_error)
        self.attack.previous.clicked.connect(lambda: self.step_image(-1))
        self.attack.next.clicked.connect(lambda: self.step_image(1))
        self.attack.help.clicked.connect(lambda: show_guide(self.window()))
        self.attack.tour.clicked.connect(self.walkthrough.start)
        side.panel.model_chosen.connect(self.load_model)
        side.panel.compare_chosen.connect(self.load_compare)
        side.gallery.chosen.connect(self._on_gallery_chosen)
        side.open_button.clicked.connect(self.open_image_dialog)
        side.paste_button.clicked.connect(self.paste)
        side.draw_button.clicked.connect(lambda: ways_in.draw_digit(self))
        side.camera_button.clicked.connect(lambda: ways_in.take_snapshot(self))
        side.save_button.clicked.connect(lambda: share.save_adversarial_dialog(self))
        side.card_button.clicked.connect(lambda: share.save_demo_card_dialog(self))
        side.copy_button.clicked.connect(lambda: share.copy_demo_card(self))
        QShortcut(QKeySequence.StandardKey.Paste, self).activated.connect(self.paste)
        self.loader.finished.connect(self._on_loader_finished)
        self.loader.failed.connect(self._on_loader_failed)
        self._download_progress.connect(s.set_status)

    @property
    def entries(self) -> list[ModelEntry]:
        """The bundled models (the state's catalogue)."""
        return list(self.state.catalogue)

    @property
    def idle(self) -> bool:
        """Nothing is being read, computed or waiting to be drawn."""
        return not (self.runner.busy or self.loader.busy or self.frames.scheduled)

    def shutdown(self) -> None:
        """The window is closing: answers still being read are dropped, none are started."""
        self.loader.shutdown()

    def set_presenter(self, on: bool) -> None:
        """Presenter mode: big type, light on black, the sidebar and curve hidden;
        Previous / Next image (and the arrow keys) step through the samples."""
        self.state.set_presenter(on)

    def _on_state_presenter_changed(self, on: bool) -> None:
        """(The controls and the stage draw their own part from the state.)"""
        self.sidebar.setVisible(not on)
        self.curve.setVisible(not on or self.state.curve_in_presenter)
        self.stage.set_headline_size(26 if on else 20)
        ink, paper = ("#fff", "#000") if on else ("#222", "w")
        for bars in (self.stage.bars_clean, self.stage.bars_adv, self.stage.bars_cmp):
            bars.set_look("16pt" if on else "10pt", ink, paper, 12 if on else 9)
        self.stage.triptych.setBackground(paper)
        self.stage.triptych.set_title_size("18pt" if on else "12pt", ink)
        if on:
            self.setFocus()  # the arrow keys step through samples, not the slider
        self._place_banner()

    def set_curve_in_presenter(self, on: bool) -> None:
        """Presenter mode shows the curve beside the bars (key C), or leaves it out."""
        self.state.set_curve_in_presenter(on)

    def _on_state_curve_in_presenter_changed(self, on: bool) -> None:
        if self.state.presenter:
            self.curve.setVisible(on)

    def show_error(self, message: str) -> None:
        log.warning("shown to user: %s", message)
        self.state.show_message(message)
        self._place_banner()
        self.error_shown.emit(message)

    def show_info(self, message: str) -> None:
        """Feedback that an action worked (a file saved, a card copied), where errors go."""
        log.info("shown to user: %s", message)
        self.state.show_message(message, "info")
        self._place_banner()

    def last_folder(self) -> str:
        return ways_in.last_folder(self.settings)

    def remember_folder(self, path: str | Path) -> None:
        ways_in.remember_folder(self.settings, path)

    def remember_model(self, path: Path) -> None:
        """Put ``path`` first in the Recent list (kept in the settings, merged with what
        other windows wrote there meanwhile)."""
        self.state.set_recent(ways_in.remember_model(self.settings, path))

    def step_image(self, delta: int) -> None:
        """Show the next (``delta`` 1) or previous (-1) sample of the model's dataset."""
        sample = self.state.step_sample(delta)
        if sample is not None:
            self.set_image(sample.path, sample.label)

    def _on_gallery_chosen(self, index: int) -> None:
        sample = self.state.choose_sample(index)
        self.set_image(sample.path, sample.label)

    # ------------------------------------------------------------------ models
    def start(
        self, model: Path | None = None, image: Path | None = None, *, epsilon: float | None = None
    ) -> None:
        """The first screen, as ``core.explorer.opening.plan_opening`` decides it."""
        self.arrivals.start(model, image, epsilon)

    def load_model(self, source: Path | str) -> None:
        """Load a checkpoint file or an ``imagenet:<arch>`` entry, off the GUI thread."""
        self.state.set_loading("model", source)
        self.state.set_status(f"Loading {Path(str(source)).name}...")
        progress = self._download_progress.emit

        def read() -> LoadedModel:
            path = resolve(source, progress=progress)
            net, card = load(path)
            return LoadedModel(Path(path), net, card, source)

        self.loader.submit("model", read)

    def load_compare(self, path: Path | None) -> None:
        if path is None:
            self.loader.cancel("compare")
            self.state.set_compare(None)
            return
        self.state.set_loading("compare", path)
        self.loader.submit("compare", lambda: LoadedModel(Path(path), *load(path), path))

    # ------------------------------------------------------------------ images
    def set_image(self, source: Path | str | bytes, label: int | None = None) -> None:
        """Read an image (path or bytes) off the GUI thread; a bad one is reported and skipped."""
        name = Path(source).name if isinstance(source, str | Path) else "pasted image"
        label = label if label is not None and label >= 0 else None

        def read() -> Image:
            loaded = read_image(source)
            return Image(loaded.tensor, name, label, loaded.notes)

        self.loader.submit("image", read)

    def model_input(self) -> torch.Tensor:
        card, image = self.state.card, self.state.image
        if card is None or image is None:
            raise ValueError("no model or no image yet")  # callers have both
        raw = image.raw
        if is_mnist_like(card) and self.state.mnist_style:
            if looks_like_paper(raw) or tuple(raw.shape[1:]) != (28, 28):
                return to_mnist_style(raw)
        return to_model_input(raw, card.in_channels, card.image_size)

    def _on_state_model_changed(self) -> None:
        """A model of another kind (digits, photos) brings its epsilon range and default."""
        card = self.state.card
        if card is None:
            return
        self.state.set_samples(samples_for(card.dataset))
        scale = epsilon_scale(card.image_size)
        if scale != self.state.scale:
            self.state.set_scale(scale)
            if not self.arrivals.keeps_epsilon:
                self.state.set_epsilon(scale.default)
        self.curve.clear_sweep("Updating...")

    def _on_state_image_changed(self) -> None:
        self.warn_if_out_of_domain()

    def warn_if_out_of_domain(self) -> None:
        """A colour photo under a model of small grey images: one sentence, and an offer."""
        card, image = self.state.card, self.state.image
        if card is None or image is None:
            return
        if out_of_domain(image.raw, in_channels=card.in_channels, image_size=card.image_size):
            photo = next((t for src, t in virtual_sources()), None)
            offer = f" Try {photo} in the Model list." if photo else ""
            self.show_error(
                f"{image.name} is a colour picture, not like the small grey images "
                f"{card.title()} was trained on, so its answer means little.{offer}"
            )

    # ------------------------------------------------------------------ answers from threads
    def _on_loader_finished(self, channel: str, task_id: int, result: object) -> None:
        s = self.state
        if channel == "model" and isinstance(result, LoadedModel):
            self.arrivals.model_arrived(result)
        elif channel == "compare" and isinstance(result, LoadedModel):
            s.set_loading("compare", None)
            if s.card is not None and result.card.num_classes != s.card.num_classes:
                self.show_error(
                    f"{result.card.title()} has {result.card.num_classes} classes, "
                    f"not {s.card.num_classes}: it cannot be compared."
                )
                return
            s.set_compare(result)
        elif channel == "image" and isinstance(result, Image):
            s.clear_message()
            s.set_image(result)
            if result.notes:  # e.g. "a float image, scaled from its own range 0-300"
                self.show_info(" ".join(result.notes))

    def _on_loader_failed(self, channel: str, task_id: int, message: str, details: str) -> None:
        s = self.state
        if channel == "model":
            source = s.loading("model")
            s.set_loading("model", None)  # the panel shows the model still loaded again
            s.set_status("" if s.model is not None else "No model loaded: choose one on the left")
            if not self.arrivals.download_failed(source, message):
                self.show_error(f"Could not open the model: {message}")
        elif channel == "compare":
            s.set_loading("compare", None)
            self.show_error(f"Could not open the compare model: {message}")
        else:
            self.show_error(message)
            if s.model is not None and (s.session is None or s.session.model is not s.model.net):
                self.frames.new_session()  # a model came in while this image was being read

    # ------------------------------------------------------------------ user intent
    def open_image_dialog(self) -> None:
        ways_in.open_image(self)

    def paste(self) -> None:
        ways_in.paste(self)

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
        """Lossless PNG at model resolution, plus the exact float tensor as .npy: both or neither."""
        frame = self.state.frame
        if frame is None:
            raise ValueError("There is no adversarial image yet.")
        return share.save_pair(frame.adversarial, path)

    def demo_card(self) -> QPixmap:
        return self.stage.grab()
