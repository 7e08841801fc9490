"""GUI fixtures: the real Explorer on the bundled models, offscreen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def runner(qtbot):
    from fgsm_studio.gui.workers import TaskRunner

    r = TaskRunner()
    yield r
    assert r.shutdown()


@pytest.fixture
def explorer(qtbot, runner, settings):
    """ExplorerView opened on the default first screen, its first frame drawn."""
    from fgsm_studio.gui.explorer.view import ExplorerView

    view = ExplorerView(runner, settings)
    qtbot.addWidget(view)
    view.resize(1300, 850)
    view.show()
    with qtbot.waitSignal(view.frame_rendered, timeout=60000):
        view.start()
    qtbot.waitUntil(
        lambda: view.state.compare is not None and view.stage.bars_cmp.isVisible(), timeout=30000
    )
    return view
