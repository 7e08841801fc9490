"""The Train view: real background training on the bundled digits, stop, close, queue."""

from __future__ import annotations

import pytest

from fgsm_studio.core.checkpoint import load


@pytest.fixture
def view(qtbot, settings):
    from fgsm_studio.gui.train_view import TrainView

    v = TrainView(settings)
    qtbot.addWidget(v)
    v.show()
    yield v
    assert v.shutdown(60000)


def _configure(view, *, epochs=1, limit=300, defense=0, arch="small_cnn"):
    f = view.form
    f.dataset.setCurrentIndex(0)  # the bundled 5000 MNIST digits
    f.arch.setCurrentText(arch)
    f.defense.setCurrentIndex(defense)  # 0 = WR_FGSM
    f.epochs.setValue(epochs)
    f.limit.setValue(limit)
    f.device.setCurrentIndex(f.device.findData("cpu"))


def test_one_epoch_run_finishes_and_saves_a_loadable_checkpoint(view, qtbot):
    _configure(view, limit=1000)
    with qtbot.waitSignal(view.run_ended, timeout=120000) as done:
        view.train_button.click()
    how, job, record = done.args
    assert how == "finished"
    model, card = load(record["saved_to"])
    assert card.training["defense"] == "wr_fgsm" and card.training["a2"] == 0.5
    assert (
        card.metrics["clean"] == record["test"]["clean"] > 0.3
    )  # one epoch on 1000 digits; chance is 0.1
    assert view.table.rowCount() == 1 and view.explorer_button.isEnabled()
    x, y = view.curves["val_acc"].getData()
    assert list(x) == [1] and 0 < y[0] <= 100
    assert len(view.curves["loss_adv"].getData()[0]) == 1
    assert view.curves["sweep_clean"].getData()[0] is not None
    with qtbot.waitSignal(view.open_in_explorer, timeout=1000) as opened:
        view.explorer_button.click()
    assert opened.args[0] == record["saved_to"]


def test_stop_mid_run(view, qtbot):
    _configure(view, epochs=5, limit=2000)
    with qtbot.waitSignal(view.progress_shown, timeout=60000):
        view.train_button.click()
    with qtbot.waitSignal(view.run_ended, timeout=10000) as stopped:
        view.stop()
    assert stopped.args[0] == "stopped" and stopped.args[2]["stopped"] is True
    assert not view.running
    assert "Stopped" in view.log.toPlainText() or "stopped" in view.log.toPlainText()


def test_second_run_waits_in_the_queue(view, qtbot):
    _configure(view, limit=200)
    view.train_button.click()
    view.train_button.click()
    assert view.running and len(view.queue) == 1
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=180000)
    assert not view.running and not view.queue


def test_missing_dataset_folder_is_a_message(view, qtbot, tmp_path):
    view.form.dataset.setCurrentIndex(3)  # CIFAR-10 folder
    view.form.folder.setText(str(tmp_path / "gone"))
    with qtbot.waitSignal(view.run_ended, timeout=30000) as failed:
        view.train_button.click()
    assert failed.args[0] == "failed" and "does not exist" in failed.args[2]
    assert "FAILED" in view.log.toPlainText() and not view.running


def test_close_during_training_stops_the_worker_cleanly(qtbot, settings, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from fgsm_studio.gui.main_window import MainWindow

    window = MainWindow(settings, None)
    qtbot.addWidget(window)
    window.show()
    window.finish_setup()
    _configure(window.trainer, epochs=5, limit=2000)
    with qtbot.waitSignal(window.trainer.progress_shown, timeout=60000):
        window.trainer.train_button.click()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    assert not window.close()  # the user said no: keep training
    assert window.trainer.running
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert window.close()
    assert window.trainer.thread.isFinished() and window.runner._thread.isFinished()
