"""Hostile and odd inputs dropped on the real window, checkpoint faults, training faults, crashes."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from tests.data.make_bad_images import EXPECT, OUT
from tests.gui.test_explorer import _drop
from tests.payload import Payload


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_drop_each_file_of_the_corpus(explorer, qtbot, name):
    before = explorer.state.frame
    path = OUT / name
    if EXPECT[name]:
        with qtbot.waitSignal(explorer.frame_rendered, timeout=20000):
            _drop(explorer, path)
        assert explorer.state.image.name == name and explorer.state.frame is not before
        assert explorer.state.frame.original.shape == (1, 28, 28)
    else:
        with qtbot.waitSignal(explorer.error_shown, timeout=10000) as shown:
            _drop(explorer, path)
        assert name in shown.args[0] or "empty" in shown.args[0]
        assert explorer.state.frame is before  # what was on screen stays


def test_hostile_and_broken_checkpoints_in_the_window(explorer, qtbot, tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PAYLOAD_MARKER", str(marker))
    good = explorer.state.model.path
    (tmp_path / "evil.pth").write_bytes(pickle.dumps({"w": Payload()}))
    (tmp_path / "resnet50-evil.pth").write_bytes(pickle.dumps({"w": Payload()}))
    data = good.read_bytes()
    (tmp_path / "truncated.safetensors").write_bytes(data[: len(data) // 3])
    (tmp_path / "empty.safetensors").write_bytes(b"")
    torch.save({"conv.weight": torch.zeros(3, 3)}, tmp_path / "other_arch_resnet50.pth")
    for name in (
        "evil.pth",
        "resnet50-evil.pth",
        "truncated.safetensors",
        "empty.safetensors",
        "other_arch_resnet50.pth",
    ):
        with qtbot.waitSignal(explorer.error_shown, timeout=20000) as shown:
            explorer.load_model(tmp_path / name)
        assert "Could not open the model" in shown.args[0], name
        assert explorer.state.model.path == good
    assert not marker.exists()


def test_uncaught_exception_in_a_slot_is_logged_and_shown(qtbot, tmp_path):
    from PySide6.QtWidgets import QApplication, QMessageBox

    from fgsm_studio.gui import errors

    errors.setup_logging()
    try:
        raise RuntimeError("a bug nobody saw coming")
    except RuntimeError as exc:
        errors._hook(type(exc), exc, exc.__traceback__)
    qtbot.waitUntil(
        lambda: any(
            isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets()
        ),
        timeout=5000,
    )
    box = next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    )
    assert "a bug nobody saw coming" in box.text() and "Traceback" in box.detailedText()
    for handler in __import__("logging").getLogger().handlers:
        handler.flush()
    assert "a bug nobody saw coming" in errors.log_path().read_text()
    box.close()


@pytest.fixture
def train_view(qtbot, settings):
    from fgsm_studio.gui.train.view import TrainView

    view = TrainView(settings)
    qtbot.addWidget(view)
    f = view.form
    f.dataset.setCurrentIndex(0)
    f.epochs.setValue(2)
    f.limit.setValue(600)
    f.device.setCurrentIndex(f.device.findData("cpu"))
    return view


def test_simulated_cuda_out_of_memory_is_a_message(qtbot, train_view, monkeypatch):
    from fgsm_studio.core.training import trainer

    def oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(trainer.F, "cross_entropy", oom)
    view = train_view
    with qtbot.waitSignal(view.run_ended, timeout=60000) as ended:
        view.train_button.click()
    assert ended.args[0] == "failed" and "GPU ran out of memory" in ended.args[2]


def test_disk_full_on_save_keeps_the_last_good_checkpoint(qtbot, train_view, monkeypatch):
    import fgsm_studio.core.models.checkpoint

    real_replace = os.replace
    calls = {"n": 0}

    def flaky_replace(src, dst):
        calls["n"] += 1
        if calls["n"] >= 2:  # the first best epoch saves; then the disk "fills up"
            Path(src).unlink(missing_ok=True)
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(fgsm_studio.core.models.checkpoint.os, "replace", flaky_replace)
    from fgsm_studio.core.models.checkpoint import load
    from fgsm_studio.core.runs.experiments import best_so_far_path

    view = train_view
    with qtbot.waitSignal(view.run_ended, timeout=120000) as ended:
        view.train_button.click()
    assert ended.args[0] == "failed" and "disk is full" in ended.args[2]
    saved = best_so_far_path(ended.args[1].save_to)  # a run keeps its best epoch here

    model, card = load(saved)  # the epoch-1 checkpoint, intact
    assert card.training["best_epoch"] == 1
    assert "last good checkpoint is kept" in view.log.toPlainText()
    assert not list(saved.parent.glob("*.tmp"))


def test_dataset_folder_removed_before_and_during_a_run(qtbot, train_view, tmp_path):
    import shutil

    from PIL import Image

    root = tmp_path / "hands"
    for c in ("fist", "palm"):
        for s in range(10):
            for i in range(6):
                (root / c / f"p{s}").mkdir(parents=True, exist_ok=True)
                Image.new("RGB", (40, 60), (40 * s, 100 if c == "fist" else 200, 7 * i)).save(
                    root / c / f"p{s}" / f"{i}.png"
                )
    view = train_view
    view.form.dataset.setCurrentIndex(4)  # class-per-folder images
    view.form.folder.setText(str(root))
    view.form.limit.setValue(0)
    with qtbot.waitSignal(view.run_ended, timeout=120000) as ended:
        # a batch has trained: the images are in memory (no fixed wait, which loses under load)
        with qtbot.waitSignal(view.progress_shown, timeout=60000):
            view.train_button.click()
        shutil.rmtree(root)  # vanishes mid-run
    assert ended.args[0] == "finished"
    with qtbot.waitSignal(view.run_ended, timeout=60000) as ended:
        view.train_button.click()  # and now it is gone: reported
    assert ended.args[0] == "failed" and "does not exist" in ended.args[2]
