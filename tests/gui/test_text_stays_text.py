"""Names from files and folders are shown as text in every label and tooltip of both tabs.

Issue 20, section 3: the Train tab's status line (a ``QLabel`` in AutoText) drew
a class folder named ``<h1 style='color:red'>HACKED...`` as a red heading and a
link; U+202E in a card or class name reversed the text around it; a card whose
metrics the typed reader refused raised in the model panel's slot.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTableWidget, QWidget
from safetensors.torch import save_file

from fgsm_studio.core.models.checkpoint import load, save
from fgsm_studio.core.names import BIDI_CONTROLS
from fgsm_studio.core.paths import resource_path

MNIST = resource_path("models", "mnist_small_cnn_standard.safetensors")
# A folder name cannot hold "/", so the issue wrote "&#47;" for it.
HOSTILE_FOLDER = "<h1 style='color:red'>HACKED<&#47;h1><img src='x.png'>gnp\u202eexe"
HOSTILE = "<h1 style='color:red'>HACKED</h1><a href='http://x'>click</a>\u2066<img src='/x.png'>"


def _walk(root: QWidget) -> list[tuple[str, str, bool]]:
    """(where, text, shown as rich text) for every label and tooltip under ``root``."""
    found = []
    for w in [root, *root.findChildren(QWidget)]:
        if w.toolTip():
            found.append((f"tooltip of {type(w).__name__}", w.toolTip(), True))
        if isinstance(w, QLabel):
            rich = w.textFormat() != Qt.TextFormat.PlainText
            found.append((f"QLabel {w.objectName() or type(w).__name__}", w.text(), rich))
        if isinstance(w, QTableWidget):
            for r in range(w.rowCount()):
                for c in range(w.columnCount()):
                    item = w.item(r, c)
                    if item is not None and item.toolTip():
                        found.append(("table tooltip", item.toolTip(), True))
    return found


def _assert_text_stays_text(root: QWidget, marker: str) -> None:
    found = _walk(root)
    assert any(marker in text for _, text, _ in found), "the hostile name is not shown at all"
    for where, text, rich in found:
        if rich:  # Qt would read it as HTML: the name's markup must arrive escaped
            assert "<h1" not in text and "<img" not in text and "<a href" not in text, where
        assert not any(ch in text for ch in BIDI_CONTROLS), (where, text)


def test_a_hostile_class_folder_stays_text_in_the_train_tab(qtbot, settings, tmp_path):
    from fgsm_studio.gui.train.options import DATASETS
    from fgsm_studio.gui.train.view import TrainView

    root = tmp_path / "data"
    (root / "good").mkdir(parents=True)
    Image.new("L", (8, 8), 200).save(root / "good" / "a.png")
    (root / HOSTILE_FOLDER).mkdir()
    (root / HOSTILE_FOLDER / "b.png").write_bytes(b"not an image")
    view = TrainView(settings)
    qtbot.addWidget(view)
    view.show()
    view.form.dataset.setCurrentIndex([d[1] for d in DATASETS].index("folder"))
    view.form.folder.setText(str(root))
    with qtbot.waitSignal(view.run_ended, timeout=60000) as ended:
        view.train_button.click()
    assert ended.args[0] == "failed" and "HACKED" in view.status.text()
    try:
        _assert_text_stays_text(view, "HACKED")
        assert "gnpexe" in view.status.text()  # the override removed, the name as stored
        assert "gnpexe" in view.log.toPlainText()
        assert not any(ch in view.log.toPlainText() for ch in BIDI_CONTROLS)
    finally:
        assert view.shutdown(60000)


def _hostile_model(tmp_path):
    net, card = load(MNIST)
    names = [f"{HOSTILE} {i}" for i in range(card.num_classes)]
    path = tmp_path / "hostile.safetensors"
    for pad in range(0, 64, 8):  # a header length of 128 mod 256 trips issue 11 item 2
        save(path, net, replace(card, name=HOSTILE + " " * pad, class_names=names))
        if path.read_bytes()[0] != 0x80:
            return path
    raise AssertionError("no padding gave a loadable header")


def test_hostile_model_and_class_names_stay_text_in_the_explorer(explorer, qtbot, tmp_path):
    path = _hostile_model(tmp_path)
    with qtbot.waitSignal(explorer.frame_rendered, timeout=30000):
        explorer.load_model(path)
    qtbot.waitUntil(lambda: explorer.state.model.path == path, timeout=10000)
    with qtbot.waitSignal(explorer.frame_rendered, timeout=10000):
        explorer.epsilon.slider.setValue(explorer.epsilon.slider.value() + 1)
    _assert_text_stays_text(explorer, "HACKED")
    assert "\u2066" not in explorer.state.card.title()


@pytest.mark.parametrize(
    "metrics", [{"n": 5, "clean": 0.5, "attacks": {"fgsm": {"abc": 0.5}}}, {"clean": 0.5}]
)
def test_a_card_with_unreadable_metrics_fails_to_load_and_the_card_shown_is_the_models(
    explorer, qtbot, tmp_path, metrics
):
    from fgsm_studio.gui.explorer.card_words import card_details_html, card_summary_html

    net, card = load(MNIST)
    bad = tmp_path / "bad.safetensors"
    text = json.dumps({**card.to_dict(), "name": "Bad metrics", "metrics": metrics})
    save_file(
        {k: v.contiguous() for k, v in net.state_dict().items()},
        bad,
        metadata={"fgsm_studio_card": text},
    )
    model = explorer.state.model
    with qtbot.waitSignal(explorer.error_shown, timeout=10000) as shown:
        explorer.load_model(bad)
    assert "metrics" in shown.args[0]
    qtbot.waitUntil(lambda: not explorer.state.loading("model"), timeout=10000)
    panel = explorer.sidebar.panel
    assert explorer.state.model is model
    assert panel.card.text() == card_summary_html(model.card)
    assert panel.details.text() == card_details_html(model.card)
    assert "Bad metrics" not in panel.card.text() + panel.card.toolTip()
