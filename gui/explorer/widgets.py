"""The Explorer's parts, each a typed widget that owns its children and draws from the state.

``Sidebar`` (left, hidden in presenter mode): the model panel, the image inputs,
the MNIST-style switch, the samples and the save buttons (``Stage``, what a demo
card captures, is in ``stage``; it uses the verdict words defined here).
``Banner``: the error message, floating over the top of the stage so that it
moves nothing. The layout is fixed: the headline has one line of fixed height
(the attack and epsilon on a second, smaller one), the image panels and the
charts keep their size and place while epsilon moves. Each subscribes to the ``ExplorerState``
signals it draws; buttons that need the controller (file dialogs, loads) are
connected by ``ExplorerView``. Names and titles from files (class names, model
titles) are escaped wherever Qt would read them as HTML.
"""

from __future__ import annotations

import torch
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QFont, QMouseEvent, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from fgsm_studio.core.explorer.session import AttackFrame
from fgsm_studio.core.names import strip_bidi

from ..safe_text import escape
from .controls import eps_text
from .inputs import SampleGallery, camera_available
from .model_panel import ModelPanel
from .state import ExplorerState

FOOLED, HOLDS = "#e53935", "#43a047"  # readable on white and on black
PRESENTER_CHART = 118  # px: a chart's height in presenter mode (the top 3 classes)


def is_mnist_like(card) -> bool:
    """A model of handwritten digits (MNIST-style input): not Fashion-MNIST's clothes,
    whose images are grey 28 px too (no "Draw a digit", no digit-photo conversion)."""
    digits = "fashion" not in card.dataset.lower()
    return card.in_channels == 1 and card.image_size == 28 and digits


class Banner(QLabel):
    """A message shown for 15 s over the top of the stage (it moves nothing); plain text.

    ``kind`` "error" is red, "info" (a file saved, copied) is green; a click hides it.
    """

    STYLES = {
        "error": "background:#fde2e1; color:#7a1010; border:1px solid #c62828;",
        "info": "background:#e3f4e4; color:#124d16; border:1px solid #2e7d32;",
    }

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.kind = "error"
        self._style()
        self.hide()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(15000)
        self._timer.timeout.connect(state.clear_message)
        state.message_changed.connect(self._on_state_message_changed)

    def _style(self) -> None:
        self.setStyleSheet(
            f"QLabel {{ {self.STYLES[self.kind]} padding:6px; border-radius:4px; font-weight:bold; }}"
        )

    def _on_state_message_changed(self, message: str, kind: str) -> None:
        if not message:
            self._timer.stop()
            self.hide()
            return
        self.kind = kind
        self._style()
        self.setText(strip_bidi(message))
        self.show()
        self.raise_()
        self._timer.start()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.state.clear_message()


class Sidebar(QWidget):
    def __init__(
        self,
        state: ExplorerState,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.panel = ModelPanel(state, settings)
        self.gallery = SampleGallery(state)
        self.mnist_style = QCheckBox("Digit photos -> MNIST style (invert, crop, centre)")
        self.mnist_style.setChecked(state.mnist_style)
        self.open_button = QPushButton("Open image...")
        self.paste_button = QPushButton("Paste")
        self.draw_button = QPushButton("Draw a digit...")
        self.camera_button = QPushButton("Camera...")
        self.camera_button.setVisible(camera_available())
        self.save_button = QPushButton("Save image...")
        self.card_button = QPushButton("Save card...")
        self.copy_button = QPushButton("Copy card")
        tips = {
            self.open_button: "Attack an image file of your own (PNG, JPEG, ...)",
            self.paste_button: "Attack the image on the clipboard (Ctrl+V)",
            self.draw_button: "Draw a digit with the mouse and attack it",
            self.camera_button: "Take a photo with the camera and attack it",
            self.mnist_style: "Make a photo of a handwritten digit look like the MNIST "
            "training images: white ink on black, cropped and centred",
            self.save_button: "Save the adversarial image (lossless PNG, plus its exact "
            "values as .npy) to a folder you choose",
            self.card_button: "Save a picture of the verdict, the images and the bars (PNG)",
            self.copy_button: "Copy that picture to the clipboard, to paste into slides or chat",
        }
        for widget, tip in tips.items():
            widget.setToolTip(tip)
        self.mnist_style.setText("Digit photos -> MNIST style")
        inner = QWidget()
        side = QVBoxLayout(inner)
        side.setContentsMargins(0, 0, 4, 0)
        side.addWidget(self.panel)
        side.addSpacing(2)  # (every pixel counts: the sidebar fits 1280x720 unscrolled)
        side.addWidget(QLabel("<b>Image</b> (or drop a file, or Ctrl+V)"))
        rows = ((self.open_button, self.paste_button), (self.draw_button, self.camera_button))
        for row in rows:
            line = QHBoxLayout()
            for b in row:
                line.addWidget(b)
            side.addLayout(line)
        side.addWidget(self.mnist_style)
        side.addWidget(QLabel("<b>Samples</b>"))
        # The gallery takes the height left over (at least one row), never more than it needs.
        self.gallery.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.gallery.setMinimumHeight(64)
        self.gallery.setMaximumHeight(16777215)  # (its own default cap left gaps on big screens)
        side.addWidget(self.gallery, 1)
        line = QHBoxLayout()
        for b in (self.save_button, self.card_button, self.copy_button):
            line.addWidget(b)
        side.addLayout(line)
        scroll = QScrollArea()  # below 720 px of height the sidebar scrolls, never clips
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.scroll_area = scroll
        scroll.installEventFilter(self)  # (``_drop_needless_bar``)
        self.setFixedWidth(330)
        self.mnist_style.toggled.connect(state.set_mnist_style)
        state.mnist_style_changed.connect(self.mnist_style.setChecked)
        state.model_changed.connect(self._on_state_model_changed)

    def _on_state_model_changed(self) -> None:
        card = self.state.card
        self.mnist_style.setVisible(is_mnist_like(card))
        self.draw_button.setVisible(is_mnist_like(card))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.scroll_area and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            QTimer.singleShot(0, self, self._drop_needless_bar)
        return False

    def _drop_needless_bar(self) -> None:
        """The scroll bar only where the column needs it at its full width. With the bar
        the card is narrower, so taller: once shown (presenter mode's larger type overflowed
        the hidden column, or a moment's smaller window), it kept itself needed."""
        bar = self.scroll_area.verticalScrollBar()
        inner, card = self.scroll_area.widget(), self.panel.card_view
        if not bar.isVisible() or inner is None:
            return
        taller = card.height_at(card.width()) - card.height_at(card.width() + bar.width())
        if inner.minimumSizeHint().height() - taller > self.scroll_area.viewport().height():
            return  # it needs the bar anyway
        self.scroll_area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner.resize(self.scroll_area.width(), inner.height())  # the full width (no frame)
        for _ in range(3):  # the card's new width, its height, the panel's, the column's
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        self.scroll_area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)


def model_kind(card) -> str:
    """ "Standard" (no defense) or "Defended" (trained on attacked images, any defense)."""
    return "Defended" if card.defended else "Standard"


def verdict_word(frame: AttackFrame, *, flipped: bool | None = None) -> str:
    flipped = frame.flipped if flipped is None else flipped
    if frame.target is not None:
        return "target reached" if flipped else "target not reached"
    if wrong_before(frame):  # nothing left to hold: not "holds" in green
        return "wrong before the attack"
    return "fooled" if flipped else "holds"


def wrong_before(frame: AttackFrame) -> bool:
    """The image's true label is known and the model misreads it clean (an untargeted
    attack aims at the true label when it is known, at the clean answer otherwise)."""
    return frame.target is None and frame.label != frame.pred_clean


def noise_words(noise: AttackFrame, names: list[str]) -> str:
    """After the detail line: what random noise of the same size does (usually nothing)."""
    said = escape(names[noise.pred_adv])
    if noise.pred_adv == noise.pred_clean:
        return f"; random noise of the same size: still {said}"
    return f"; random noise of the same size: {said} (it changed the answer too)"


def fit_font(label: QLabel, points: int) -> None:
    """``label``'s rich text at ``points``, or smaller (down to 10 pt) where it would be
    wider than the label (a long ImageNet class name in presenter mode): never clipped.
    Its height is fixed for ``points``, so a smaller size moves nothing."""
    font = QFont(label.font())
    doc = QTextDocument()
    doc.setHtml(label.text())
    width = label.width() - 8
    size = points
    while True:
        font.setPointSize(size)
        doc.setDefaultFont(font)
        wide = doc.idealWidth()
        if wide <= width or size <= 10:
            break
        size = max(10, min(size - 1, int(size * width / wide)))
    if font.pointSize() != label.font().pointSize():
        label.setFont(font)


def detector_words(frame: AttackFrame) -> str:
    """After the verdict, smaller: the Feature Squeezing detector's call ("" with no detector)."""
    if frame.flagged is None:
        return ""
    said = "the detector flags it" if frame.flagged else "the detector sees nothing"
    return f"<small> &nbsp;({said})</small>"


STRONGEST_BY = {  # core.squeezing.STRONGEST in words
    "bpda-pgd": "BPDA-PGD",
    "transfer-fgsm": "FGSM made on the plain model (transfer)",
    "transfer-pgd": "PGD made on the plain model (transfer)",
    "square": "Square (no gradient)",
}


def verdict_detail(frame: AttackFrame, names: list[str]) -> str:
    """The second line: which attack at which epsilon, and in words what happened."""
    what = f"{frame.attack.upper()} at epsilon {eps_text(frame.epsilon)}"
    if frame.attack == "strongest":  # Feature Squeezing, "attacker knows it"
        what = f"Strongest attack at epsilon {eps_text(frame.epsilon)}"
        if frame.by in STRONGEST_BY:
            return f"{what}: {STRONGEST_BY[frame.by]} fools it"
        if frame.by == "clean":
            return f"{what}: the squeezed model is wrong on the clean image already"
        return f"{what}: the squeezed model holds against {escape(frame.how)}"
    if frame.target is not None:
        target = escape(names[frame.target])
        if frame.flipped:
            return f"{what}: the model now sees the target, {target}"
        if frame.pred_adv != frame.pred_clean:
            return f"{what}: the answer changed, but not to the target {target}"
        return f"{what}: the model still sees {escape(names[frame.pred_clean])}, not {target}"
    if frame.epsilon > 0 and torch.equal(frame.adversarial, frame.original):
        if frame.attack == "apgd-ce":  # it returns the image unchanged where it finds no flip
            return f"{what}: no flip found within this epsilon"
        return f"{what}: no gradient to follow, nothing changed"
    if frame.flipped and frame.epsilon * 255 <= 8:  # a few /255: invisible to the eye
        return f"{what}: the model is fooled by a change too small to notice"
    if frame.flipped:
        return f"{what}: the model is fooled"
    return f"{what}: the model still gives the same answer"
