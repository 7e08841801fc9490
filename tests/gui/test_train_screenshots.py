"""The Train view's screenshots in docs/screenshots (train-*.png), from real runs at 1280x720.

Not run by default (marker ``screenshots``, as ``tests/e2e/test_screenshots.py``);
run it after a change to the Train view, then look at every one:

    QT_QPA_PLATFORM=offscreen python -m pytest -m screenshots tests/gui/test_train_screenshots.py

* ``train-normal``: "Strongest defense we have" filled in, the expert settings open;
* ``train-warning``: WR_FGSM with a1 = 1 at eps 0.3 (FGSM training) after 5 epochs on
  1000 digits: PGD accuracy has collapsed and the warning says so;
* ``train-results``: the window started again (the table comes back from disk) and a
  "Quick look" run finished.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_screenshots import OUT, save_small

pytestmark = pytest.mark.screenshots


def _window(qtbot, settings):
    from fgsm_studio.gui.main_window import TITLE_BAR, MainWindow

    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(1280, 720 - TITLE_BAR)
    window.show()
    window.finish_setup()
    qtbot.waitUntil(
        lambda: window.explorer.idle and window.explorer.state.frame is not None, timeout=120000
    )
    window.tabs.setCurrentWidget(window.trainer)
    return window


def _run(view, qtbot) -> None:
    f = view.form
    f.device.setCurrentIndex(f.device.findData("cpu"))
    with qtbot.waitSignal(view.run_ended, timeout=900000) as ended:
        view.train_button.click()
    assert ended.args[0] == "finished", ended.args


def _shot(window, settle, name: str) -> None:
    settle(window)
    shot = window.grab()
    assert shot.width() <= 1280 and shot.height() <= 720
    save_small(shot, OUT / f"train-{name}.png")


def test_train_screenshots(qtbot, settings, settle):
    window = _window(qtbot, settings)
    try:
        f = window.trainer.form
        f.preset.setCurrentText("Strongest defense we have")
        f.expert.button.click()
        _shot(window, settle, "normal")
        f.expert.button.click()
        f.preset.setCurrentText("Quick look: about a minute")
        f.epsilon.setValue(0.3)
        f.a1.setValue(100)
        f.epochs.setValue(5)
        f.name.setText("FGSM training at eps 0.3")
        _run(window.trainer, qtbot)
        assert window.trainer.warning.isVisible()  # else this is not the picture it claims
        _shot(window, settle, "warning")
    finally:
        window.shutdown()
    window.close()
    window = _window(qtbot, settings)
    try:
        assert window.trainer.table.rowCount() == 1  # back from disk
        window.trainer.form.preset.setCurrentText("Quick look: about a minute")
        _run(window.trainer, qtbot)
        _shot(window, settle, "results")
    finally:
        window.shutdown()
