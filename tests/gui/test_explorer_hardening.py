"""Issue 11, the Explorer's side: what a user opens never hangs the window or loses work.

5: Save adversarial on a full disk leaves both files or neither. 6: two windows'
Recent lists merge. 7: a FIFO dropped on the window does not block it. 8: closing
during a model load does not wait for it. 10: a settings value of the wrong type
is reset. 18: names holding HTML are shown as text. 19: a failed model load puts
the selection and the headline back.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest

from fgsm_studio.core.models.card import CheckpointError
from fgsm_studio.core.models.checkpoint import load, save
from fgsm_studio.core.paths import resource_path
from tests.gui.test_explorer import _drop

MNIST = resource_path("models", "mnist_small_cnn_standard.safetensors")


def test_save_adversarial_on_a_full_disk_leaves_both_files_or_neither(explorer, tmp_path):
    # A file-size limit makes the second, larger file (.npy, 3 KB) fail as a full disk
    # would, after the PNG (under 1 KB) was written.
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, old_limit[1]))
    try:
        with pytest.raises(OSError):  # noqa: PT011 (EFBIG's text varies by platform)
            explorer.save_adversarial(tmp_path / "adv.png")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    png, npy = explorer.save_adversarial(tmp_path / "adv.png")  # with room: both
    assert png.stat().st_size > 0 and npy.stat().st_size > 0


def test_two_windows_merge_their_recent_lists(explorer, tmp_path, settings):
    panel = explorer.sidebar.panel
    mine, theirs = tmp_path / "mine.safetensors", tmp_path / "theirs.safetensors"
    for p in (mine, theirs):
        p.write_bytes(MNIST.read_bytes())
    other_window = (
        "import sys; from PySide6.QtCore import QSettings;"
        "s = QSettings(sys.argv[1], QSettings.Format.IniFormat);"
        "s.setValue('recent_models', [sys.argv[2]]); s.sync()"
    )
    subprocess.run(
        [sys.executable, "-c", other_window, settings.fileName(), str(theirs)], check=True
    )
    explorer.remember_model(mine)
    assert explorer.state.recent == (str(mine), str(theirs))
    assert [a.data() for a in panel.recent_menu.actions()] == [str(mine), str(theirs)]
    again = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from PySide6.QtCore import QSettings;"
            "print(QSettings(sys.argv[1], QSettings.Format.IniFormat).value('recent_models'))",
            settings.fileName(),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(mine) in again.stdout and str(theirs) in again.stdout


def test_a_fifo_dropped_on_the_window_does_not_block_it(explorer, qtbot, tmp_path):
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    errors: list[str] = []
    explorer.error_shown.connect(errors.append)
    _drop(explorer, fifo)
    with qtbot.waitSignal(explorer.frame_rendered, timeout=5000):  # the window still answers
        explorer.epsilon.slider.setValue(explorer.epsilon.slider.value() + 7)
    try:  # a reader still waiting on the FIFO gets end-of-file (an empty file)
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass  # nobody reads it: the FIFO was refused without being opened
    qtbot.waitUntil(lambda: bool(errors), timeout=10000)
    assert "photo.png" in errors[-1] and explorer.state.image.name != "photo.png"


def test_a_settings_value_of_the_wrong_type_is_reset(qtbot, runner, tmp_path):
    from PySide6.QtCore import QSettings

    from fgsm_studio.gui.explorer.view import ExplorerView

    ini = tmp_path / "settings.ini"
    ini.write_text("[General]\nrecent_models=@Point(1 2)\n")
    settings = QSettings(str(ini), QSettings.Format.IniFormat)
    view = ExplorerView(runner, settings)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.frame_rendered, timeout=60000):
        view.start()
    assert view.state.recent == ()
    settings.sync()
    assert "Point" not in ini.read_text()


def test_html_in_class_and_model_names_is_shown_as_text(explorer, qtbot, tmp_path):
    net, card = load(MNIST)
    names = ["<b>zero</b>", *card.class_names[1:]]
    names = [f"<img src='x{i}'>" if i else n for i, n in enumerate(names)]
    path = tmp_path / "html.safetensors"
    for pad in range(0, 64, 8):  # a header length of 128 mod 256 trips issue 11 item 2
        save(path, net, replace(card, name="<h1>Mine</h1>" + " " * pad, class_names=names))
        if path.read_bytes()[0] != 0x80:
            break
    with qtbot.waitSignal(explorer.frame_rendered, timeout=30000):
        explorer.load_model(path)
    qtbot.waitUntil(lambda: explorer.state.model.path == path, timeout=10000)
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.epsilon.slider.setValue(explorer.epsilon.slider.value() + 1)
    headline, card_text = explorer.stage.headline.text(), explorer.sidebar.panel.card.text()
    assert "<img" not in headline and "<b>zero" not in headline
    shown = [n for n in names if n in {names[explorer.state.frame.pred_clean]}]
    assert shown and shown[0].replace("<", "&lt;").replace(">", "&gt;") in headline.replace(
        "&#x27;", "'"
    )
    assert "<h1>" not in card_text and "&lt;h1&gt;Mine&lt;/h1&gt;" in card_text


def test_a_failed_model_load_restores_the_selection_and_headline(explorer, qtbot, monkeypatch):
    import fgsm_studio.gui.explorer.view

    def offline(source, progress=None):
        raise CheckpointError("Could not download the ResNet-50 weights: this machine is offline.")

    monkeypatch.setattr(fgsm_studio.gui.explorer.view, "resolve", offline)
    panel, model = explorer.sidebar.panel, explorer.state.model
    before_index, before_headline = panel.combo.currentIndex(), explorer.stage.headline.text()
    i = panel.index_of("imagenet:resnet50")
    assert i >= 0
    panel.combo.setCurrentIndex(i)  # as the user picks it
    done = lambda what, source: what == "model" and source is None  # noqa: E731
    with qtbot.waitSignal(explorer.state.loading_changed, timeout=10000, check_params_cb=done):
        panel.combo.activated.emit(i)
    # issue 24, 15: a sentence that stays in the model panel, not a banner that goes
    assert "offline" in panel.notice.text() and not panel.notice.isHidden()
    assert panel.combo.currentIndex() == before_index
    assert explorer.stage.headline.text() == before_headline  # not "Loading..."
    assert explorer.state.model is model


def test_closing_during_a_model_load_does_not_wait_for_it(qtbot, settings, monkeypatch):
    import fgsm_studio.gui.explorer.view
    from fgsm_studio.gui.main_window import MainWindow

    window = MainWindow(settings, None)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.ready, timeout=60000):
        window.finish_setup()
    qtbot.waitUntil(lambda: window.explorer.state.frame is not None, timeout=60000)
    qtbot.waitUntil(lambda: window.explorer.idle, timeout=60000)  # the warm-up import is done
    stalled = threading.Event()  # a download that does not answer (offline, 30 s timeout)
    reading = threading.Event()

    def stalled_download(source, progress=None):
        reading.set()
        stalled.wait(60)
        return MNIST

    monkeypatch.setattr(fgsm_studio.gui.explorer.view, "resolve", stalled_download)
    window.explorer.load_model("imagenet:resnet50")
    qtbot.waitUntil(reading.is_set, timeout=30000)  # the read has begun and hangs
    t0 = time.perf_counter()
    try:
        assert window.close()
        assert time.perf_counter() - t0 < 5
    finally:
        stalled.set()  # and let the read end here, not during the interpreter's exit
        qtbot.waitUntil(
            lambda: not any(t.name == "fgsm-read-model" for t in threading.enumerate()),
            timeout=30000,
        )


def test_switching_to_a_model_with_fewer_classes_never_draws_the_old_frame(
    explorer, qtbot, tmp_path
):
    from fgsm_studio.core.models.checkpoint import build_from_card

    _, card = load(MNIST)
    three = replace(card, num_classes=3, class_names=["a", "b", "c"], dataset="three", name="3")
    path = tmp_path / "three.safetensors"
    for pad in range(0, 64, 8):  # a header length of 128 mod 256 trips issue 11 item 2
        save(path, build_from_card(three), replace(three, name="3" + " " * pad))
        if path.read_bytes()[0] != 0x80:
            break
    old = explorer.state.frame
    assert old.pred_clean >= 3 or old.pred_adv >= 3  # indices the new model's names lack
    with qtbot.waitSignal(explorer.model_loaded, timeout=30000):
        explorer.load_model(path)
    explorer.epsilon.slider.setValue(explorer.epsilon.slider.value() + 5)  # before the new image
    qtbot.waitUntil(
        lambda: explorer.state.frame is not None and explorer.state.frame.probs_clean.numel() == 3,
        timeout=30000,
    )
    assert "Loading" not in explorer.stage.headline.text()


def test_a_float_image_dropped_on_the_window_says_how_it_was_scaled(explorer, qtbot, tmp_path):
    """Issue 11, item 17 in the window: a float TIFF of values 0-300 is scaled by its own
    range (not shown near black) and the window says so."""
    import numpy as np
    from PIL import Image as PILImage

    path = tmp_path / "float.tif"
    ramp = np.linspace(0, 300, 28 * 28, dtype=np.float32).reshape(28, 28)
    PILImage.fromarray(ramp, mode="F").save(path, "TIFF")
    _drop(explorer, path)
    qtbot.waitUntil(lambda: explorer.state.image.name == "float.tif", timeout=10000)
    assert float(explorer.state.image.raw.max()) == 1.0  # scaled, not clipped to black
    assert "300" in " ".join(explorer.state.image.notes)
    qtbot.waitUntil(lambda: "300" in explorer.banner.text(), timeout=5000)
    assert explorer.banner.kind == "info" and not explorer.banner.isHidden()
