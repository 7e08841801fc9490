"""Issue 24's "the whole truth" items on the real Explorer widgets.

The epsilon spin box keeps what the user types (real key events at a normal typing
speed), the defended twin is attacked with its own gradient (its frames equal a direct
call of ``core.attacks``), random noise of the same epsilon is shown beside the attack,
a model switch clears the old verdict at once, and the smaller fixes of the issue.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget

from fgsm_studio.core.checkpoint import load
from fgsm_studio.core.paths import resource_path
from fgsm_studio.gui.explorer_state import ExplorerState, LoadedModel

MNIST = resource_path("models", "mnist_small_cnn_standard.safetensors")


@pytest.fixture(scope="module")
def mnist():
    net, card = load(MNIST)
    return LoadedModel(MNIST, net, card, MNIST)


def test_typing_an_epsilon_at_normal_speed_keeps_every_key(qtbot, mnist):
    """Click, Ctrl+A, "0.15" at 50 ms a key, Tab: the state gets 0.15 and the box shows it."""
    from fgsm_studio.gui.controls import EpsilonControl

    state = ExplorerState()
    state.set_model(mnist)
    host = QWidget()
    column = QVBoxLayout(host)
    control = EpsilonControl(state)
    after = QLineEdit()  # where Tab goes
    column.addWidget(control)
    column.addWidget(after)
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    seen: list[float] = []
    state.epsilon_changed.connect(seen.append)
    edit = control.spin.lineEdit()
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is control.spin, timeout=5000)
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, "0.15", delay=50)
    assert edit.text() == "0.15"  # nothing rewrote it under the cursor
    assert seen == []  # not applied while typing
    qtbot.keyClick(edit, Qt.Key.Key_Tab)
    assert state.epsilon == pytest.approx(0.15)
    assert seen == [pytest.approx(0.15)]  # applied once, when the user left the box
    assert control.spin.value() == pytest.approx(0.15) and control.slider.value() == 150
    # Enter applies too, and the slider still moves epsilon at once
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, "0.2", delay=50)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert state.epsilon == pytest.approx(0.2)
    control.slider.setValue(37)
    assert state.epsilon == pytest.approx(0.037) and control.spin.value() == pytest.approx(0.037)
