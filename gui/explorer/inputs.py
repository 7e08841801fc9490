"""Ways a person gives the app an image, besides drag-and-drop and Open...

* ``SampleGallery``: thumbnails of the sample images matching the model's dataset;
* ``DrawDialog``: a canvas to draw a digit with the mouse (for MNIST-like models);
* ``CameraDialog``: a snapshot from a camera, offered only where Qt Multimedia
  finds one;
* ``image_bytes_from_mime``: the image or file path inside a drop or a paste.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QPoint, QSize, Qt, Signal
from PySide6.QtGui import (
    QIcon,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from .state import ExplorerState


def qimage_to_png(image: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")  # type: ignore[call-overload]  # (stubs want bytes; PySide6 6.11 takes str only)
    return bytes(data.data())


def image_source_from_mime(mime: QMimeData) -> tuple[bytes | Path | None, str]:
    """(source, description): a local file path, PNG bytes of an image, or None."""
    if mime.hasUrls():
        for url in mime.urls():
            if url.isLocalFile():
                return Path(url.toLocalFile()), url.fileName()
        return None, "only files on this computer can be opened (not web links)"
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return qimage_to_png(image), "pasted image"
    if mime.hasText():
        text = mime.text().strip().strip('"')
        if text.startswith("file://"):
            text = text[7:]
        path = Path(text).expanduser()
        if text and len(text) < 4096 and path.is_file():
            return path, path.name
        return None, "the clipboard text is not the path of an image file"
    return None, "there is no image in it"


class SampleGallery(QListWidget):
    """Thumbnails of the state's samples, the current one selected; ``chosen`` says which
    the user clicked (its index in ``state.samples``).

    Its rows are whole: the list shows as many rows as its height holds (at least one),
    the pixels left over are blank list below them, and it scrolls by whole rows (its
    height, set by the sidebar, showed half a row cut at the top or the bottom)."""

    chosen = Signal(int)
    INDEX = Qt.ItemDataRole.UserRole + 1  # (UserRole holds the sample's path and label)
    ROW = 58  # px: a thumbnail's cell, each way

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.explorer_state = state  # (``state()`` is QAbstractItemView's)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(48, 48))
        self.setGridSize(QSize(self.ROW, self.ROW))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setBackgroundRole(QPalette.ColorRole.Base)  # the spare pixels look like the list
        self.setAutoFillBackground(True)
        self.setMovement(QListWidget.Movement.Static)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMaximumHeight(140)
        self.setToolTip("Sample images for this model's dataset: click one to attack it")
        self.itemClicked.connect(self._on_item_clicked)
        self.verticalScrollBar().rangeChanged.connect(self._on_bar_range_changed)
        self.verticalScrollBar().valueChanged.connect(self._on_bar_value_changed)
        self.verticalScrollBar().sliderReleased.connect(self._on_bar_value_changed)
        state.samples_changed.connect(self._on_state_samples_changed)
        state.current_sample_changed.connect(self._on_state_current_sample_changed)

    def _on_state_samples_changed(self) -> None:
        self.clear()
        for i, s in enumerate(self.explorer_state.samples):
            pix = QPixmap(str(s.path))
            if pix.isNull():
                continue
            pix = pix.scaled(
                48, 48, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
            )
            item = QListWidgetItem(QIcon(pix), "")
            item.setToolTip(s.path.name)
            item.setData(Qt.ItemDataRole.UserRole, (s.path, -1 if s.label is None else s.label))
            item.setData(self.INDEX, i)
            self.addItem(item)
        self._on_state_current_sample_changed(self.explorer_state.current_sample)

    def _on_state_current_sample_changed(self, index: int) -> None:
        """Highlight the current sample, or nothing if the image is not a sample."""
        for row in range(self.count()):
            if self.item(row).data(self.INDEX) == index:
                self.setCurrentRow(row)
                return
        self.clearSelection()
        self.setCurrentRow(-1)

    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        self.chosen.emit(int(item.data(self.INDEX)))

    def doItemsLayout(self) -> None:
        """Qt lays the thumbnails out again after a style, font or size change (presenter
        mode on and off) and left the list scrolled elsewhere, often to the top: the scroll
        position is kept, and the chosen sample stays in view."""
        bar = self.verticalScrollBar()
        value = bar.value()
        super().doItemsLayout()
        bar.setValue(value)
        self._on_bar_range_changed()

    def resizeEvent(self, event) -> None:
        self._whole_rows()
        super().resizeEvent(event)

    def _whole_rows(self) -> None:
        """The viewport as tall as the whole rows that fit; the rest is a margin below."""
        inner = self.height() - 2 * self.frameWidth()
        spare = inner % self.ROW if inner >= self.ROW else 0
        if self.viewportMargins().bottom() != spare:
            self.setViewportMargins(0, 0, 0, spare)

    def updateGeometries(self) -> None:
        super().updateGeometries()
        self.verticalScrollBar().setSingleStep(self.ROW)  # the wheel and arrows: whole rows

    def _on_bar_value_changed(self, *_value: int) -> None:
        """A scroll ends on a row's top (a drag of the handle, once it is let go)."""
        bar = self.verticalScrollBar()
        if bar.isSliderDown():
            return
        snapped = min(round(bar.value() / self.ROW) * self.ROW, bar.maximum())
        if snapped != bar.value():
            bar.setValue(snapped)

    def _on_bar_range_changed(self, *_range: int) -> None:
        """The list's height or layout changed (the sidebar shown again, the card above it
        taller): the chosen sample is scrolled back into view if it left it."""
        item = self.currentItem()
        if item is not None and item.isSelected():
            self.scrollToItem(item, QAbstractItemView.ScrollHint.EnsureVisible)


class DrawCanvas(QWidget):
    """White strokes on black, like MNIST; 280x280 on screen. ``drawn`` says whether it
    holds a stroke (True at the first, False when cleared)."""

    drawn = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(280, 280)
        self.image = QImage(280, 280, QImage.Format.Format_Grayscale8)
        self.image.fill(0)
        self._last: QPoint | None = None
        self.empty = True

    def clear(self) -> None:
        self.image.fill(0)
        self.update()
        self.empty = True
        self.drawn.emit(False)

    def paintEvent(self, event: QPaintEvent) -> None:
        QPainter(self).drawImage(0, 0, self.image)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._last = event.position().toPoint()
        self._stroke(self._last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is not None:
            self._stroke(event.position().toPoint())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._last = None

    def _stroke(self, to: QPoint) -> None:
        painter = QPainter(self.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(
            QPen(Qt.GlobalColor.white, 22, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        )
        painter.drawLine(self._last or to, to)
        painter.end()
        self._last = to
        self.update()
        if self.empty:
            self.empty = False
            self.drawn.emit(True)


class DrawDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Draw a digit")
        self.canvas = DrawCanvas()
        clear = QPushButton("Clear")
        clear.clicked.connect(self.canvas.clear)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        attack = buttons.button(QDialogButtonBox.StandardButton.Ok)
        attack.setText("Attack this digit")
        # an empty canvas is no digit (the model read a blank square as a 1 at 13%, "fooled")
        attack.setEnabled(False)
        attack.setToolTip("Draw a digit first")
        self.canvas.drawn.connect(attack.setEnabled)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(clear)
        row.addStretch(1)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Draw one digit, large, in the middle:"))
        layout.addWidget(self.canvas)
        layout.addLayout(row)

    def png(self) -> bytes:
        return qimage_to_png(self.canvas.image)


def camera_available() -> bool:
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError:
        return False
    return bool(QMediaDevices.videoInputs())


class CameraDialog(QDialog):
    """Live camera preview and a snapshot button (only built when a camera exists)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtMultimedia import QCamera, QImageCapture, QMediaCaptureSession
        from PySide6.QtMultimediaWidgets import QVideoWidget

        self.setWindowTitle("Camera snapshot")
        self.result_png: bytes | None = None
        self.camera = QCamera(self)
        self.capture = QImageCapture(self)
        self.session = QMediaCaptureSession(self)
        self.session.setCamera(self.camera)
        self.session.setImageCapture(self.capture)
        video = QVideoWidget()
        video.setMinimumSize(480, 360)
        self.session.setVideoOutput(video)
        snap = QPushButton("Take snapshot")
        snap.clicked.connect(self.capture.capture)
        self.capture.imageCaptured.connect(self._on_capture_image_captured)
        self.camera.errorOccurred.connect(lambda *_: self.reject())
        layout = QVBoxLayout(self)
        layout.addWidget(video)
        layout.addWidget(snap)
        self.camera.start()

    def _on_capture_image_captured(self, _id: int, image: QImage) -> None:
        self.result_png = qimage_to_png(image)
        self.camera.stop()
        self.accept()

    def done(self, result: int) -> None:
        self.camera.stop()
        super().done(result)
