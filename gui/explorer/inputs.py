"""Ways a person gives the app an image, besides drag-and-drop and Open...

* ``SampleGallery``: thumbnails of the sample images matching the model's dataset;
* ``DrawDialog``: a canvas to draw a digit with the mouse (for MNIST-like models);
* ``CameraDialog``: a snapshot from a camera, offered only where Qt Multimedia
  finds one;
* ``image_bytes_from_mime``: the image or file path inside a drop or a paste.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (
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
    """Thumbnails; emits the chosen sample's path and true label (or -1)."""

    chosen = Signal(object, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(48, 48))
        self.setGridSize(QSize(58, 58))
        self.setMovement(QListWidget.Movement.Static)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMaximumHeight(140)
        self.setToolTip("Sample images for this model's dataset: click one to attack it")
        self.itemClicked.connect(self._on_item_clicked)

    def set_samples(self, samples: list) -> None:
        self.clear()
        for s in samples:
            pix = QPixmap(str(s.path))
            if pix.isNull():
                continue
            pix = pix.scaled(
                48, 48, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
            )
            item = QListWidgetItem(QIcon(pix), "")
            item.setToolTip(s.path.name)
            item.setData(Qt.ItemDataRole.UserRole, (s.path, -1 if s.label is None else s.label))
            self.addItem(item)

    def show_current(self, name: str) -> None:
        """Highlight the sample called ``name``, or nothing if the image is not a sample."""
        for row in range(self.count()):
            path, _label = self.item(row).data(Qt.ItemDataRole.UserRole)
            if path.name == name:
                self.setCurrentRow(row)
                return
        self.clearSelection()
        self.setCurrentRow(-1)

    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        path, label = item.data(Qt.ItemDataRole.UserRole)
        self.chosen.emit(path, label)


class DrawCanvas(QWidget):
    """White strokes on black, like MNIST; 280x280 on screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(280, 280)
        self.image = QImage(280, 280, QImage.Format.Format_Grayscale8)
        self.image.fill(0)
        self._last: QPoint | None = None

    def clear(self) -> None:
        self.image.fill(0)
        self.update()

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
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Attack this digit")
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
