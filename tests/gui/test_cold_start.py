"""The first frame comes first (issue 24, 10): the Train tab is built when first opened,
nothing of matplotlib, scipy, torchattacks, ray or the Train view is imported before the
first attacked frame, and a ``--screenshot`` that times out says so on stderr."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtWidgets import QApplication

from fgsm_studio.gui.main_window import MainWindow
from fgsm_studio.gui.startup import StartupPanel


@pytest.fixture
def window(qtbot, settings):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    win.finish_setup()
    yield win
    win.shutdown()


def test_the_train_tab_is_built_when_first_opened(window, qtbot):
    assert window._trainer is None and window.tabs.count() == 2
    assert isinstance(window.tabs.widget(1), StartupPanel)
    assert window.tabs.tabText(1) == "Train a defense"
    window.tabs.setCurrentIndex(1)  # as a click on the tab does
    from fgsm_studio.gui.train.view import TrainView

    assert isinstance(window.tabs.widget(1), TrainView) and window._trainer is not None
    assert window.tabs.currentWidget() is window._trainer  # still the tab the user chose
    assert window.tabs.tabText(1) == "Train a defense" and window.tabs.count() == 2
    assert window.trainer is window._trainer  # built once


def test_asking_for_the_trainer_builds_it_without_switching_tabs(window, qtbot):
    trainer = window.trainer
    assert trainer is not None and window.tabs.widget(1) is trainer
    assert window.tabs.currentIndex() == 0


def test_a_screenshot_that_times_out_says_so(window, qtbot, tmp_path, capfd, monkeypatch):
    codes = []
    monkeypatch.setattr(QApplication, "exit", lambda *args: codes.append(args[-1]))
    window.args = None
    window.screenshot_when_ready(tmp_path / "shot.png", timeout_s=0.01)
    qtbot.waitUntil(lambda: codes == [1], timeout=5000)
    err = capfd.readouterr().err
    assert "--screenshot timed out" in err and "shot.png was not saved" in err


@pytest.mark.slow
def test_nothing_heavy_is_imported_before_the_first_frame(tmp_path):
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "FGSM_STUDIO_TIMING": "1",
        "FGSM_STUDIO_HOME": str(tmp_path),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "fgsm_studio", "--screenshot", str(tmp_path / "shot.png")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    early = [line for line in proc.stderr.splitlines() if line.startswith("IMPORTED_EARLY ")]
    assert early == ["IMPORTED_EARLY -"], early
