"""The guided walk-through (issue 24, 9): six steps, each a state of the Explorer set
through ``ExplorerState``, advanced with Next and Back (real clicks); the figures its
words quote are what the Explorer then shows for the bundled 7."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from fgsm_studio.gui.explorer import walkthrough
from fgsm_studio.gui.guide import GUIDE
from fgsm_studio.gui.main_window import MainWindow, fitted_size


def click(qtbot, button) -> None:
    assert button.isEnabled()
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def settled(view, qtbot, epsilon: float, attack: str) -> None:
    s = view.state
    qtbot.waitUntil(
        lambda: (
            s.frame is not None
            and s.image.name == "mnist_17_7.png"
            and s.frame.epsilon == epsilon
            and s.frame.attack == attack
            and view.idle
        ),
        timeout=60000,
    )


def test_the_walk_through_steps_through_six_states(explorer, qtbot):
    view, s = explorer, explorer.state
    tour = view.walkthrough
    assert not tour.isVisible()
    click(qtbot, view.attack.tour)
    assert tour.isVisible() and "step 1 of 6" in tour.title.text()
    settled(view, qtbot, 0.0, "fgsm")
    assert s.frame.pred_clean == 7 and not s.frame.flipped and not tour.back.isEnabled()

    click(qtbot, tour.next)  # random noise of the same size
    assert "Random noise does nothing" in tour.title.text()
    if hasattr(s, "set_noise"):
        assert s.noise
        qtbot.waitUntil(lambda: s.noise_frame is not None, timeout=60000)
        assert s.noise_frame.pred_adv == 7
    else:
        settled(view, qtbot, 0.0, "fgsm")
        assert "network says <b>7</b>" in tour.words.text()  # measured on the noisy 7

    click(qtbot, tour.next)  # FGSM at the same size fools it
    settled(view, qtbot, 0.16, "fgsm")
    assert s.frame.flipped and s.frame.pred_adv != 7
    assert not getattr(s, "noise", False)

    click(qtbot, tour.next)  # the defended twin holds
    assert "trained on attacked" in tour.words.text()
    qtbot.waitUntil(lambda: s.compare_probs is not None, timeout=60000)
    assert int(s.compare_probs.argmax()) == 7

    click(qtbot, tour.next)  # PGD
    settled(view, qtbot, 0.25, "pgd")
    assert s.frame.flipped

    click(qtbot, tour.next)
    assert "step 6 of 6" in tour.title.text() and not tour.next.isEnabled()
    settled(view, qtbot, 0.1, "fgsm")

    click(qtbot, tour.back)
    settled(view, qtbot, 0.25, "pgd")
    click(qtbot, tour.close_button)
    assert not tour.isVisible()


def test_the_walk_through_brings_its_model_back(explorer, qtbot):
    """Started on another model, the first step loads the standard network and the 7."""
    view, s = explorer, explorer.state
    other = next(e for e in view.entries if e.path.name == "mnist_small_cnn_wr_fgsm.safetensors")
    with qtbot.waitSignal(view.model_loaded, timeout=60000):
        view.load_model(other.path)
    view.walkthrough.start()
    qtbot.waitUntil(
        lambda: (
            s.model.path.name == walkthrough.MODEL
            and s.image is not None
            and s.image.name == "mnist_17_7.png"
        ),
        timeout=60000,
    )
    settled(view, qtbot, 0.0, "fgsm")


def test_the_guide_says_what_defended_and_epsilon_01_mean():
    assert "trained on attacked images" in GUIDE
    assert "epsilon of <b>0.1</b>" in GUIDE and "26 of 255" in GUIDE
    assert "Walk-through" in GUIDE


def tick_labels(axis) -> list:
    """The tick labels pyqtgraph draws on ``axis`` now: (rectangle, text) each."""
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [] if specs is None else [(rect, text) for rect, _flags, text in specs[2]]


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_the_walk_through_leaves_the_charts_room_for_every_label(qtbot, settings, settle, size):
    """Session 7, 1b: with the walk-through's bar open at 1280x720 the charts were so short
    that the bars' ten class labels (0-9) touched and overlapped, and so did the curve's."""
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(fitted_size(QRect(0, 0, *size)))
    win.show()
    win.finish_setup()
    view = win.explorer
    qtbot.waitUntil(lambda: view.state.frame is not None and view.idle, timeout=60000)
    click(qtbot, view.attack.tour)
    settled(view, qtbot, 0.0, "fgsm")
    settle(win)
    stage = view.stage
    try:
        for chart in (stage.bars_clean.plot, stage.bars_adv.plot, stage.bars_cmp.plot, stage.curve):
            labels = tick_labels(chart.getAxis("left"))
            assert len(labels) >= (10 if chart is not stage.curve else 2)
            rects = sorted((rect for rect, _ in labels), key=lambda r: r.top())
            crowded = [
                (a, b) for a, b in zip(rects, rects[1:], strict=False) if a.bottom() > b.top()
            ]
            assert crowded == [], f"{type(chart).__name__}: labels overlap {crowded[:2]}"
        assert win.minimumSizeHint().height() <= win.height()  # nothing pushed off screen
    finally:
        win.shutdown()


def test_the_walk_through_reads_in_presenter_modes_large_type(qtbot, settings, settle):
    """Session 7, 3 (seen at 1280x720 and 1920x1080): in presenter mode the walk-through's
    title and words stayed 9 pt under 15 pt buttons, too small to read on a projector."""
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(fitted_size(QRect(0, 0, 1280, 720)))
    win.show()
    win.finish_setup()
    view = win.explorer
    qtbot.waitUntil(lambda: view.state.frame is not None and view.idle, timeout=60000)
    tour = view.walkthrough
    click(qtbot, view.attack.tour)
    try:
        win.set_presenter_look(True)
        settle(win)
        for label in (tour.title, tour.words):
            assert label.font().pointSizeF() >= 13, label.text()[:40]
        assert tour.words.height() >= 4 * tour.words.fontMetrics().lineSpacing()
        assert view.stage.triptych.height() > tour.height()  # the pictures still lead
        win.set_presenter_look(False)
        settle(win)
        assert tour.words.font().pointSizeF() < 13
        assert tour.words.minimumHeight() == 4 * tour.words.fontMetrics().lineSpacing()
    finally:
        win.set_presenter_look(False)
        win.shutdown()


def test_space_after_starting_the_walk_through_steps_on(explorer, qtbot):
    """Session 7, 3 (seen at 1920x1080): after a click on Walk-through the focus stayed on
    that button, so the next key press started the walk-through over instead of stepping."""
    view = explorer
    view.window().activateWindow()
    click(qtbot, view.attack.tour)
    settled(view, qtbot, 0.0, "fgsm")
    focused = QApplication.focusWidget() or view.attack.tour
    QTest.keyClick(focused, Qt.Key.Key_Space)
    assert "step 2 of 6" in view.walkthrough.title.text()


def test_the_arrows_and_space_step_the_walk_through_not_the_samples(qtbot, settings, settle):
    """Session 8, polish 3 (seen at 1280x720): with the walk-through open, Right stepped the
    sample (a 3 under "This is a 7") instead of the walk-through. Its keys step it only:
    Right and Space on, Left back, wherever the focus is (the Back button a presenter just
    clicked too); closed, they step the samples again."""
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(fitted_size(QRect(0, 0, 1280, 720)))
    win.show()
    win.activateWindow()
    win.finish_setup()
    view, s = win.explorer, win.explorer.state
    tour = view.walkthrough
    try:
        qtbot.waitUntil(lambda: s.frame is not None and view.idle, timeout=60000)
        qtbot.waitUntil(win.isActiveWindow, timeout=5000)
        click(qtbot, view.attack.tour)
        settled(view, qtbot, 0.0, "fgsm")
        qtbot.waitUntil(lambda: QApplication.focusWidget() is tour.next, timeout=5000)
        sample = s.current_sample
        for key, step in ((Qt.Key.Key_Right, 2), (Qt.Key.Key_Space, 3), (Qt.Key.Key_Left, 2)):
            QTest.keyClick(QApplication.focusWidget(), key)
            assert f"step {step} of 6" in tour.title.text(), (key, tour.title.text())
        click(qtbot, tour.back)  # step 1; the focus may now be on Back
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
        assert "step 2 of 6" in tour.title.text()
        qtbot.waitUntil(lambda: view.idle, timeout=60000)
        assert s.image.name == "mnist_17_7.png" and s.current_sample == sample
        click(qtbot, tour.close_button)
        qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5000)
        with qtbot.waitSignal(s.image_changed, timeout=10000):
            QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
        assert s.current_sample != sample
    finally:
        win.shutdown()
