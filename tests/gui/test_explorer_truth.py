"""Issue 24's "the whole truth" items on the real Explorer widgets.

The epsilon spin box keeps what the user types (real key events at a normal typing
speed), the defended twin is attacked with its own gradient (its frames equal a direct
call of ``core.attacks.gradient``), random noise of the same epsilon is shown beside the attack,
a model switch clears the old verdict at once, and the smaller fixes of the issue.
"""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget

from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.paths import resource_path
from fgsm_studio.gui.explorer.state import ExplorerState, LoadedModel

MNIST = resource_path("models", "mnist_small_cnn_standard.safetensors")


@pytest.fixture(scope="module")
def mnist():
    net, card = load(MNIST)
    return LoadedModel(MNIST, net, card, MNIST)


def test_typing_an_epsilon_at_normal_speed_keeps_every_key(qtbot, mnist):
    """Click, Ctrl+A, "0.15" at 50 ms a key, Tab: the state gets 0.15 and the box shows it."""
    from fgsm_studio.gui.explorer.controls import EpsilonControl

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


def _settled(explorer, qtbot):
    qtbot.waitUntil(
        lambda: explorer.idle and explorer.state.compare_frame is not None, timeout=60000
    )


def test_the_twin_is_attacked_with_its_own_gradient(explorer, qtbot):
    """Its frame equals core.attacks.gradient on the twin itself, for FGSM (from the sweep cache or
    not) and PGD; the headline gives each model's own verdict; transfer is an option."""
    from fgsm_studio.core.attacks.gradient import fgsm

    s = explorer.state
    assert s.compare_mode == "own"
    twin, x = s.compare.net, explorer.model_input()[None]
    label = s.frame.label  # the sample's true label
    for value in (40, 150, 300):
        with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
            explorer.epsilon.slider.setValue(value)
        _settled(explorer, qtbot)
        eps = value / 1000
        expected = fgsm(twin, x, torch.tensor([label]), eps)[0]
        own = s.compare_frame
        assert own.epsilon == pytest.approx(eps) and torch.equal(own.adversarial, expected)
        with torch.no_grad():
            probs = twin(expected[None]).softmax(1)[0]
        assert torch.allclose(s.compare_probs, probs, atol=1e-5)
        assert not torch.equal(own.adversarial, s.frame.adversarial)  # two attacked images
        assert explorer.stage.triptych.extras["twin"]
        text = explorer.stage.headline.text()
        assert text.startswith("standard:") and "defended:" in text
    # the whole sweep of the twin is its own attack's too
    qtbot.waitUntil(lambda: "compare" in explorer.frames.sweep_seconds, timeout=60000)
    cache = explorer.frames._compare
    assert cache.session is explorer.frames._twin and cache.model is twin
    i = cache.index(0.2)
    adv = fgsm(twin, x, torch.tensor([label]), 0.2)
    with torch.no_grad():
        assert torch.allclose(cache.probs_at(0.2), twin(adv).softmax(1)[0], atol=1e-5)
    assert i is not None
    # PGD: each model its own PGD, on the worker
    with qtbot.waitSignal(explorer.frame_rendered, timeout=60000):
        s.set_attack("pgd")
    assert s.frame.attack == "pgd" and s.compare_frame.attack == "pgd"
    # transfer: the twin judges our adversarial image, and the switch says so
    s.set_attack("fgsm")
    panel = explorer.sidebar.panel
    panel.transfer.setChecked(True)
    assert s.compare_mode == "transfer" and "Transfer" in panel.transfer_words.text()
    qtbot.waitUntil(lambda: explorer.idle and s.compare_frame is None, timeout=30000)
    with torch.no_grad():
        expected = twin(s.frame.adversarial[None]).softmax(1)[0]
    assert torch.allclose(s.compare_probs, expected, atol=1e-5)
    assert not explorer.stage.triptych.extras["twin"]
    assert "(same image)" in explorer.stage.headline.text()


def test_random_noise_of_the_same_epsilon_beside_the_attack(explorer, qtbot):
    from PySide6.QtTest import QTest

    s = explorer.state
    explorer.setFocus()
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        QTest.keyClick(explorer, Qt.Key.Key_N)  # the key
    assert s.noise and explorer.attack.noise.isChecked()  # and the switch shows it
    for value in (100, 250):
        with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
            explorer.epsilon.slider.setValue(value)
        eps = value / 1000
        noise = s.noise_frame
        change = noise.adversarial - noise.original
        assert float(change.abs().max()) == pytest.approx(eps, abs=1e-6)
        assert float(noise.adversarial.min()) >= 0 and float(noise.adversarial.max()) <= 1
        inside = (noise.original > eps) & (noise.original < 1 - eps)
        assert torch.allclose(change[inside].abs(), torch.full_like(change[inside], eps))
        with torch.no_grad():
            probs = s.model.net(noise.adversarial[None]).softmax(1)[0]
        assert torch.allclose(noise.probs_adv, probs, atol=1e-5)
        assert "random noise of the same size" in explorer.stage.detail.text()
        assert explorer.stage.triptych.extras["noise"]
    explorer.attack.noise.setChecked(False)  # the switch
    qtbot.waitUntil(lambda: not explorer.stage.triptych.extras["noise"], timeout=10000)
    assert s.noise_frame is None


def test_smallest_flip_line_says_targeted_mode_is_untargeted(explorer, qtbot):
    label = explorer.epsilon.flip_size
    assert label.text().startswith("Smallest change that flips it:")
    explorer.state.set_target((explorer.state.frame.pred_clean + 1) % 10)
    assert label.text().startswith("Smallest change to any other class:")
    explorer.state.set_target(None)
    assert label.text().startswith("Smallest change that flips it:")


def test_a_model_switch_clears_the_old_verdict_at_once(explorer, qtbot):
    """The moment the new model is in, nothing of the old one's answer is on screen."""
    s, stage = explorer.state, explorer.stage
    old_headline = stage.headline.text()
    assert "fooled" in old_headline or "holds" in old_headline
    other = next(
        e for e in explorer.entries if e.card.dataset == "mnist-5k" and "pgd" in e.path.name
    )
    seen = []

    def on_model():  # what a user sees the instant the new name shows
        seen.append((stage.headline.text(), s.frame, list(stage.bars_adv.heights)))

    s.model_changed.connect(on_model, Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(s.model_changed, timeout=30000):
        explorer.load_model(other.path)
        # while it loads (its name already chosen): the old answers are gone already
        assert stage.bars_adv.heights.size == 0 and "Loading" in stage.headline.text()
        assert not stage.triptych.titles[0].text.startswith("Original:")
    headline, frame, bars = seen[0]
    assert frame is None and bars == []
    assert "fooled" not in headline and "holds" not in headline
    qtbot.waitUntil(lambda: s.frame is not None, timeout=30000)
    assert s.frame.probs_clean.numel() == 10 and "attacking" not in stage.headline.text()


def test_fashion_models_offer_no_digit_tools_and_epsilon_0_is_not_magnified(explorer, qtbot):
    side, s = explorer.sidebar, explorer.state
    assert side.draw_button.isVisible() and side.mnist_style.isVisible()  # digits
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.epsilon.slider.setValue(0)
    assert explorer.stage.triptych.titles[1].text == "Perturbation: none"
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.epsilon.slider.setValue(100)
    assert explorer.stage.triptych.titles[1].text.startswith("Perturbation, magnified x")
    fashion = next(e for e in explorer.entries if e.card.dataset == "fashion-mnist")
    with qtbot.waitSignal(s.model_changed, timeout=30000):
        explorer.load_model(fashion.path)
    assert not side.draw_button.isVisible() and not side.mnist_style.isVisible()


def test_long_model_names_are_whole_in_the_list_and_the_card_fits_the_sidebar(explorer):
    panel = explorer.sidebar.panel
    view, metrics = panel.combo.view(), panel.combo.view().fontMetrics()
    widest = max(
        metrics.horizontalAdvance(panel.combo.itemText(i)) for i in range(panel.combo.count())
    )
    assert view.minimumWidth() >= min(widest + 48, 900)
    assert view.textElideMode() == Qt.TextElideMode.ElideMiddle
    for i in range(panel.combo.count()):
        assert panel.combo.itemData(i, Qt.ItemDataRole.ToolTipRole)
    # the standard model's card lists four epsilons for FGSM and PGD: it wraps, nothing clipped
    side = explorer.sidebar
    scroll = side.findChild(type(side.layout().itemAt(0).widget()))
    viewport = scroll.viewport().width()
    assert scroll.widget().width() <= viewport
    for w in (panel.card, side.copy_button):
        right = w.mapTo(scroll.widget(), w.rect().topRight()).x()
        assert right <= viewport, (w, right, viewport)
    panel.transfer.setChecked(True)  # its sentence takes three lines: the card keeps all of its
    explorer.resize(1280, 720)
    QApplication.processEvents()
    for _ in range(3):  # (the scroll bar comes, the card's width changes, it refits)
        QApplication.processEvents()
    assert panel.card.height() >= panel.card.heightForWidth(panel.card.width())
    assert panel.card.geometry().bottom() < panel.compare.geometry().top()  # nothing drawn over
    assert "worst case" in panel.details.text() and "worst case" in panel.card.toolTip()


def test_the_curve_legend_and_flip_words_are_outside_the_plot_area(explorer, qtbot):
    """Issue 24, 11: nothing is drawn over the curves, nothing is cut at the plot's edge."""
    s, curve = explorer.state, explorer.curve
    qtbot.waitUntil(lambda: s.sweep is not None and s.sweep.flip_epsilon is not None, timeout=60000)
    plot = curve.plotItem.vb.sceneBoundingRect()
    legend = curve.legend.sceneBoundingRect()
    title = curve.plotItem.titleLabel.sceneBoundingRect()
    assert not legend.intersects(plot) and not title.intersects(plot)
    assert curve.flip_words == f"flips at {s.sweep.flip_epsilon:.3f}"
    assert curve.flip_words in curve.plotItem.titleLabel.text
    s.set_target((s.frame.pred_clean + 1) % 10)
    qtbot.waitUntil(lambda: explorer.idle and s.sweep is not None, timeout=60000)
    words = curve.flip_words
    assert words == "" or words.startswith("reaches the target at")
    # the title's two lines fit the curve's width (not clipped): its text is narrower
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(curve.plotItem.titleLabel.text)
    doc.setDefaultFont(curve.plotItem.titleLabel.item.font())
    assert doc.idealWidth() <= curve.width()
    assert curve.legend.sceneBoundingRect().right() <= curve.sceneRect().right() + 1


def test_a_logo_on_a_digit_model_is_called_out_below_the_verdict(explorer, qtbot, tmp_path):
    import numpy as np
    from PIL import Image as PILImage

    from tests.core.test_out_of_domain import logo

    path = tmp_path / "logo.png"
    PILImage.fromarray((logo().permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(path)
    with qtbot.waitSignal(explorer.error_shown, timeout=10000) as shown:
        explorer.set_image(path)
    assert "logo.png is a colour picture" in shown.args[0]
    qtbot.waitUntil(lambda: explorer.idle, timeout=30000)
    banner, stage = explorer.banner, explorer.stage
    assert banner.isVisible()
    for line in (stage.headline, stage.detail):  # the verdict stays readable
        rect = line.geometry().translated(stage.pos())
        assert not banner.geometry().intersects(rect), (line.text(), banner.geometry(), rect)


def test_an_imagenet_download_offline_says_so_in_a_sentence_that_stays(
    explorer, qtbot, monkeypatch
):
    """Issue 24, 15: not a URLError in a banner that vanishes; one sentence in the model
    panel until another model loads, and a button for the model that needs no download."""
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    panel, s = explorer.sidebar.panel, explorer.state
    old = s.model
    with qtbot.waitSignal(
        s.loading_changed, timeout=30000, check_params_cb=lambda w, src: src is None
    ):
        explorer.load_model("imagenet:resnet50")
    assert s.model is old  # what was on screen stays
    assert not panel.notice.isHidden() and not explorer.banner.isVisible()
    text = panel.notice.text()
    assert text.startswith("ResNet50 needs its weights from the internet") and "offline" in text
    assert "URLError" not in text and "URLError" in panel.notice.toolTip()  # details on hover
    assert not panel.offer.isHidden() and "EfficientNet-Lite0 (offline)" in panel.offer.text()
    for _ in range(3):
        QApplication.processEvents()
    assert panel.notice.geometry().bottom() < panel.offer.geometry().top()
    assert panel.card.geometry().bottom() < panel.compare.geometry().top()  # nothing overlaps
    explorer.banner.hide()  # (nothing times the sentence out: it is no banner)
    with qtbot.waitSignal(explorer.model_loaded, timeout=120000):
        panel.offer.click()
    assert s.card.image_size == 224 and panel.notice.isHidden() and panel.offer.isHidden()


def test_the_image_titles_never_run_into_each_other(explorer, qtbot):
    """Four or five panels at 1280 px: each title fits its column, frame after frame."""
    from PySide6.QtGui import QTextDocument

    explorer.resize(1280, 720)
    explorer.state.set_noise(True)
    for value in (150, 90):
        with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
            explorer.epsilon.slider.setValue(value)
        qtbot.waitUntil(lambda: explorer.idle, timeout=30000)
        tri = explorer.stage.triptych
        shown = [t for i, t in enumerate(tri.titles) if i < 3 or list(tri.extras.values())[i - 3]]
        assert len(shown) == 5
        for label in shown:
            doc = QTextDocument()
            doc.setHtml(label.text)
            font = label.item.font()
            font.setPointSizeF(float(label.opts["size"].removesuffix("pt")))
            doc.setDefaultFont(font)
            assert doc.idealWidth() <= tri.width() / len(shown), label.text


def test_after_a_model_switch_the_images_fill_their_panels(explorer, qtbot):
    """The twin's and the noise panels leave and come back on a switch: every image is
    framed again (not a speck in a huge range, as a removed, still linked view made it)."""
    s = explorer.state
    s.set_noise(True)
    qtbot.waitUntil(lambda: explorer.idle and s.noise_frame is not None, timeout=30000)
    other = next(
        e for e in explorer.entries if e.card.dataset == "mnist-5k" and "pgd" in e.path.name
    )
    with qtbot.waitSignal(explorer.model_loaded, timeout=30000):
        explorer.load_model(other.path)
    qtbot.waitUntil(
        lambda: explorer.idle and s.frame is not None and s.noise_frame is not None, timeout=60000
    )
    tri = explorer.stage.triptych
    qtbot.waitUntil(lambda: explorer.idle and len(tri.shown_views()) == 5, timeout=60000)
    for vb in tri.shown_views():
        (x0, x1), (y0, y1) = vb.viewRange()
        assert max(x1 - x0, y1 - y0) < 28 * 3, vb.viewRange()  # the 28 px image fills it
