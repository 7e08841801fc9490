"""The window paints at once: torch is imported on a thread while a progress panel shows."""

from __future__ import annotations

from fgsm_studio.gui.main_window import MainWindow
from fgsm_studio.gui.startup import HEAVY, StartupPanel


def test_start_loading_paints_progress_then_builds_the_views(qtbot, settings):
    window = MainWindow(settings)
    qtbot.addWidget(window)
    painted = []
    assert isinstance(window.loading, StartupPanel)
    window.loading.on_first_paint = lambda: painted.append(True)
    window.show()
    window.loading.grab()  # paints it, as the screen would
    assert painted == [True]  # drawn before any torch-backed view exists
    assert window.explorer is None
    with qtbot.waitSignal(window.ready, timeout=120000):
        window.start_loading()
    assert window.loading.bar.value() == len(HEAVY)
    assert window.explorer is not None and window.tabs.widget(0) is window.explorer
    window.finish_setup()  # a second call builds nothing twice
    assert window.tabs.count() == (2 if window.trainer is not None else 1)
    window.shutdown()
