"""The screenshots of the README: each screen at 1280x720 and 1920x1080, normal and presenter.

Not run by default (marker ``screenshots``); run it after a change to the window:

    QT_QPA_PLATFORM=offscreen python -m pytest -m screenshots tests/e2e/test_screenshots.py

It opens the real main window on MNIST, Fashion-MNIST and ImageNet (EfficientNet-Lite0
on a bundled photo), waits for the first frame, the curve and the compare bars,
and saves ``docs/screenshots/<dataset>-<width>x<height>[-presenter].png`` as the
window draws itself at that size (the window manager's title bar aside), reduced
to 256 colours (fewer if needed) so each PNG stays under 150 KB. Every screenshot is also checked to be no
larger than its screen. Look at every one after running it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from fgsm_studio.core.paths import resource_path
from fgsm_studio.gui.app import parse_args
from fgsm_studio.gui.main_window import TITLE_BAR, MainWindow

pytestmark = pytest.mark.screenshots
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENS = ((1280, 720), (1920, 1080))
MAX_BYTES = 150_000
CASES = {
    "mnist": [],
    "fashion": ["--model", str(resource_path("models", "fashion_small_cnn_standard.safetensors"))],
    "imagenet": [
        "--model",
        "imagenet:efficientnet_lite0",
        "--image",
        str(resource_path("samples", "photos", "orange.jpg")),
    ],
}


def save_small(pixmap, path: Path) -> None:
    """The window's pixels as a 256-colour PNG (charts and text lose nothing visible)."""
    tmp = path.with_suffix(".full.png")
    assert pixmap.save(str(tmp), "PNG")
    with Image.open(tmp) as full:
        for colours in (256, 128, 64):  # fewer colours until it is small (photos need more)
            full.convert("RGB").quantize(colours, method=Image.Quantize.MEDIANCUT).save(
                path, optimize=True
            )
            if path.stat().st_size <= MAX_BYTES:
                break
    tmp.unlink()


@pytest.mark.parametrize("case", sorted(CASES))
def test_screenshots(case, qtbot, tmp_path, settle):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, parse_args(CASES[case]))
    qtbot.addWidget(window)
    window.resize(1280, 720 - TITLE_BAR)
    window.show()
    window.finish_setup()
    e = window.explorer
    qtbot.waitUntil(lambda: e.state.frame is not None, timeout=120000)
    qtbot.waitUntil(lambda: e.idle and e.state.sweep is not None, timeout=120000)
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        for width, height in SCREENS:
            for presenter in (False, True):
                window.set_presenter_look(presenter)
                # presenter mode is full screen; the normal window leaves room for a title bar
                window.resize(width, height if presenter else height - TITLE_BAR)
                settle(window)
                shot = window.grab()
                assert shot.width() <= width and shot.height() <= height
                name = f"{case}-{width}x{height}{'-presenter' if presenter else ''}.png"
                save_small(shot, OUT / name)
    finally:
        window.set_presenter_look(False)
        window.shutdown()
