"""The Attack Explorer driven as a user would: drops, slider, targets, bad files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication

from fgsm_studio.core.attacks.gradient import fgsm
from fgsm_studio.core.explorer.session import AttackSession
from fgsm_studio.core.paths import resource_path

SAMPLES = resource_path("samples", "mnist")


def _drop(widget, path):
    """A real drag-enter then drop of a local file, as a file manager sends them."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    try:  # Qt >= 6.12 takes a QPointF; earlier releases a QPoint
        enter = QDragEnterEvent(QPointF(50, 50), *args)
    except TypeError:
        enter = QDragEnterEvent(QPoint(50, 50), *args)
    assert QApplication.sendEvent(widget, enter) and enter.isAccepted()
    QApplication.sendEvent(widget, QDropEvent(QPointF(50, 50), *args))


def test_first_screen_already_shows_an_attack(explorer):
    f = explorer.state.frame
    assert explorer.state.card.dataset == "mnist-5k" and explorer.state.card.defense == "none"
    assert f.flipped and f.epsilon > 0
    assert f.probs_clean[f.pred_clean] > 0.95
    assert "fooled" in explorer.stage.headline.text()
    assert explorer.state.compare.card.defense == "wr_fgsm"  # the defended twin, one glance away
    assert explorer.sidebar.gallery.count() == 20


def test_drop_a_file(explorer, qtbot):
    path = SAMPLES / "mnist_03_0.png"
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        _drop(explorer, path)
    assert explorer.state.image.name == path.name
    with Image.open(path) as im:
        expected = torch.from_numpy(np.array(im, dtype=np.float32) / 255)
    assert torch.allclose(explorer.state.frame.original[0], expected)


def test_slider_frames_equal_core_session(explorer, qtbot):
    session = AttackSession(explorer.state.model.net, explorer.model_input())
    for value in (0, 37, 120, 300):
        with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
            explorer.epsilon.slider.setValue(value)
        eps = value / 1000
        expected = session.frame(eps)
        f = explorer.state.frame
        assert f.epsilon == pytest.approx(eps)
        assert torch.equal(f.adversarial, expected.adversarial)
        assert torch.allclose(f.probs_adv, expected.probs_adv)
        heights = explorer.stage.bars_adv.heights
        assert np.allclose(heights, expected.probs_adv.numpy())
        shown = explorer.stage.triptych.items[2].image
        assert np.array_equal(
            shown, (expected.adversarial[0].numpy() * 255).round().astype(np.uint8)
        )
        assert explorer.epsilon.spin.value() == pytest.approx(eps)
        assert f"{eps:.3f}" in explorer.epsilon.units.text()


def test_keyboard_arrows_move_epsilon(explorer, qtbot):
    start = explorer.state.epsilon
    explorer.epsilon.slider.setFocus()
    qtbot.keyClick(explorer.epsilon.slider, Qt.Key.Key_Right)
    assert explorer.state.epsilon == pytest.approx(start + 0.001)


def test_targeted_mode(explorer, qtbot):
    x = explorer.model_input()
    target = (explorer.state.frame.pred_clean + 2) % 10
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.attack.targeted.setChecked(True)  # as a user: tick "targeted", pick a class
        explorer.attack.target.setCurrentIndex(explorer.attack.target.findData(target))
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.state.set_epsilon(0.2)
    f = explorer.state.frame
    assert f.target == target
    expected = fgsm(explorer.state.model.net, x[None], torch.tensor([target]), 0.2, targeted=True)[
        0
    ]
    assert torch.equal(f.adversarial, expected)
    assert f.probs_adv[target] > f.probs_clean[target]


def test_pgd_runs_in_the_worker(explorer, qtbot):
    with qtbot.waitSignal(explorer.frame_rendered, timeout=30000):
        explorer.state.set_attack("pgd")
    assert explorer.state.frame.attack == "pgd"
    assert explorer.state.frame.perturbation.abs().max() <= explorer.state.epsilon + 1e-6


def test_bad_file_shows_message_and_keeps_state(explorer, qtbot, tmp_path):
    before = explorer.state.frame
    bad = tmp_path / "holiday.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with qtbot.waitSignal(explorer.error_shown, timeout=5000) as blocker:
        _drop(explorer, bad)
    assert "holiday.png" in blocker.args[0]
    assert explorer.banner.isVisible() and "not an image" in explorer.banner.text()
    assert explorer.state.frame is before and explorer.state.image.name != bad.name


def test_bad_checkpoint_shows_message_and_keeps_model(explorer, qtbot, tmp_path):
    model = explorer.state.model
    bad = tmp_path / "weights.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}garbage")
    with qtbot.waitSignal(explorer.error_shown, timeout=10000) as blocker:
        explorer.load_model(bad)
    assert "Could not open the model" in blocker.args[0]
    assert explorer.state.model is model


def test_paste_image_and_path(explorer, qtbot):
    QApplication.clipboard().setImage(QImage(str(SAMPLES / "mnist_02_1.png")))
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.paste()
    assert explorer.state.image.name == "pasted image"
    QApplication.clipboard().setText(str(SAMPLES / "mnist_04_4.png"))
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.paste()
    assert explorer.state.image.name == "mnist_04_4.png"
    QApplication.clipboard().setText("hello")
    with qtbot.waitSignal(explorer.error_shown, timeout=5000):
        explorer.paste()


def test_digit_photo_becomes_mnist_style(explorer, qtbot, tmp_path):
    photo = np.full((120, 90, 3), 235, np.uint8)  # light paper
    photo[30:95, 40:52] = 20  # a dark stroke: a "1"
    path = tmp_path / "photo.jpg"
    Image.fromarray(photo).save(path)
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.set_image(path)
    x = explorer.state.frame.original
    assert x.shape == (1, 28, 28)
    assert x[0, 0, 0] < 0.05 and x.max() > 0.9  # black background, white ink
    explorer.sidebar.mnist_style.setChecked(False)
    assert explorer.state.frame.original[0, 0, 0] > 0.8 or explorer.model_input()[0, 0, 0] > 0.8


def test_save_adversarial_and_demo_card(explorer, tmp_path):
    png, npy = explorer.save_adversarial(tmp_path / "adv.png")
    assert np.array_equal(np.load(npy), explorer.state.frame.adversarial.numpy())
    with Image.open(png) as im:
        assert im.size == (28, 28)
    card = explorer.demo_card()
    assert card.width() > 300 and card.save(str(tmp_path / "card.png"))
    QApplication.clipboard().clear()
    explorer.sidebar.copy_button.click()  # "Copy demo card"
    assert QApplication.clipboard().pixmap().width() == card.width()


def test_screenshot_command_line(tmp_path):
    out = tmp_path / "shot.png"
    env = {
        **__import__("os").environ,
        "QT_QPA_PLATFORM": "offscreen",
        "FGSM_STUDIO_HOME": str(tmp_path),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fgsm_studio",
            "--image",
            str(SAMPLES / "mnist_00_7.png"),
            "--epsilon",
            "0.2",
            "--attack",
            "fgsm",
            "--target",
            "3",
            "--screenshot",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(out) as img:
        assert img.size[0] > 800 and img.size[1] > 500


def test_a_model_trained_in_the_window_is_compared_with_its_bundled_twin(explorer, qtbot, tmp_path):
    import shutil

    mine = tmp_path / "my_defended_digits.safetensors"  # as the Train view saves them
    shutil.copy(resource_path("models", "mnist_small_cnn_wr_fgsm.safetensors"), mine)
    with qtbot.waitSignal(explorer.model_loaded, timeout=30000):
        explorer.load_model(mine)
    qtbot.waitUntil(
        lambda: (
            explorer.state.compare is not None and explorer.state.compare.card.defense == "none"
        ),
        timeout=30000,
    )
    assert explorer.state.model.path == mine
    assert str(mine) in explorer.state.recent


def test_compare_bars_follow_the_adversarial_image(explorer, qtbot):
    """The compare model's bars are its answer on its own attacked image (issue 24, 1)."""
    with qtbot.waitSignal(explorer.compare_shown, timeout=20000):
        explorer.epsilon.slider.setValue(150)
    qtbot.waitUntil(lambda: explorer.idle, timeout=20000)
    model = explorer.state.compare.net
    with torch.no_grad():
        expected = model(explorer.state.compare_frame.adversarial[None]).softmax(1)[0]
    assert np.allclose(explorer.stage.bars_cmp.heights, expected.numpy(), atol=1e-6)
