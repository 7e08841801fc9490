"""The Train view: real background training on the bundled digits, stop, close, queue."""

from __future__ import annotations

import csv

import pytest

from fgsm_studio.core.measure import evaluation
from fgsm_studio.core.measure.evaluation import EvalResult
from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.runs.spec import RunRecord


@pytest.fixture
def view(qtbot, settings):
    from fgsm_studio.gui.train.view import TrainView

    v = TrainView(settings)
    qtbot.addWidget(v)
    v.show()
    yield v
    assert v.shutdown(60000)


def _configure(view, *, epochs=1, limit=300, defense=0, arch="small_cnn"):
    """A short run; no augmentation (on by default), which slows the first epoch's learning."""
    f = view.form
    f.augment.setCurrentIndex(f.augment.findData("none"))
    f.dataset.setCurrentIndex(0)  # the bundled 5000 MNIST digits
    f.arch.setCurrentText(arch)
    f.defense.setCurrentIndex(defense)  # 0 = WR_FGSM
    f.epochs.setValue(epochs)
    f.limit.setValue(limit)
    f.device.setCurrentIndex(f.device.findData("cpu"))


def test_one_epoch_run_finishes_and_saves_a_loadable_checkpoint(view, qtbot):
    _configure(view, limit=1000)
    bar_while_testing = []  # session 8: it said "100%" while the held-out test ran on
    view.evaluation_shown.connect(lambda _done: bar_while_testing.append(view.progress.text()))
    with qtbot.waitSignal(view.run_ended, timeout=120000) as done:
        view.train_button.click()
    how, job, record = done.args
    assert how == "finished" and isinstance(record, RunRecord)
    model, card = load(record.saved_to)
    assert card.training["defense"] == "wr_fgsm" and card.training["a2"] == 0.5
    # one epoch on 1000 digits; chance is 0.1
    assert EvalResult.from_card(card.metrics).clean == record.test.clean > 0.3
    assert view.table.rowCount() == 1 and view.explorer_button.isEnabled()
    assert view.records == [record]
    x, y = view.curves["val_acc"].getData()
    assert list(x) == [1] and 0 < y[0] <= 100
    x, y = view.curves["val_pgd_acc"].getData()  # issue 14.7: the PGD monitor, drawn live
    assert list(x) == [1] and 0 <= y[0] <= 100 and record.history[0].val_pgd_acc is not None
    assert view.progress.text() == "done: 100%" and "Finished" in view.status.text()
    assert bar_while_testing and all(t.startswith("trained; testing ") for t in bar_while_testing)
    assert view.saved.text() == f"Last model saved: {record.saved_to}"
    assert len(view.curves["loss_adv"].getData()[0]) == 1
    # a single run belongs to no sweep: Figure 3 shows sweeps only
    assert view.curves["sweep_clean"].getData()[0] is None and view.state.shown_sweep == ""
    with qtbot.waitSignal(view.open_in_explorer, timeout=1000) as opened:
        view.explorer_button.click()
    assert opened.args[0] == record.saved_to


def test_stop_mid_run(view, qtbot):
    _configure(view, epochs=5, limit=2000)
    with qtbot.waitSignal(view.progress_shown, timeout=60000):
        view.train_button.click()
    with qtbot.waitSignal(view.run_ended, timeout=10000) as stopped:
        view.stop()
    assert stopped.args[0] == "stopped" and stopped.args[2] is None
    assert not view.running  # its record says it was stopped (issue 24, 13)
    assert [(r.stopped is not None, r.test) for r in view.records] == [(True, None)]
    assert "Stopped" in view.log.toPlainText() or "stopped" in view.log.toPlainText()
    # issue 14.5: the bar and the status say the same thing (not 16% beside "Idle.")
    percent = view.progress.text().removeprefix("stopped at ")
    assert view.progress.text().startswith("stopped at ") and f"({percent})" in view.status.text()


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
    assert not window.trainer.running and window.runner.stopped


def test_close_during_held_out_evaluation_does_not_hang(qtbot, settings, monkeypatch):
    """Issue 11.8: closing while the held-out set was evaluated froze the window for 120 s."""
    from PySide6.QtWidgets import QMessageBox

    from fgsm_studio.gui.main_window import MainWindow

    monkeypatch.setitem(evaluation.evaluation.__kwdefaults__, "batch_size", 8)
    taken = []
    real = evaluation.iterate_batches

    def counting(dataset, batch_size, **kw):
        for batch in real(dataset, batch_size, **kw):
            taken.append(batch_size)
            yield batch

    monkeypatch.setattr(evaluation, "iterate_batches", counting)
    window = MainWindow(settings, None)
    qtbot.addWidget(window)
    window.show()
    window.finish_setup()
    _configure(window.trainer, epochs=1, limit=100)
    with qtbot.waitSignal(window.trainer.evaluation_shown, timeout=120000):
        window.trainer.train_button.click()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    at_stop = len(taken)
    assert window.close()  # returns once the worker has ended
    assert not window.trainer.running
    assert len(taken) <= at_stop + 1  # the batch in hand at most; 500 images were left


def test_jobs_made_in_the_same_second_get_different_checkpoints(view, monkeypatch):
    """Issue 11.3: two jobs in one second shared a name; the second overwrote the first."""
    from fgsm_studio.gui.train import form

    monkeypatch.setattr(form.time, "strftime", lambda *a: "20260101-120000")
    _configure(view)
    paths = [view.form.job().save_to for _ in range(3)]
    paths += [view.form.job(a1=0.5, sweep="s").save_to for _ in range(2)]
    assert len(set(paths)) == 5
    assert paths[4].name.endswith("-5.safetensors")  # same settings, same second: numbered
    nxt = paths[0].with_name(paths[0].stem + "-6.safetensors")
    nxt.parent.mkdir(parents=True, exist_ok=True)
    nxt.write_bytes(b"a model trained earlier")  # on disk already: never reused
    assert view.form.job().save_to.name.endswith("-7.safetensors")


def test_a_limit_of_one_says_what_happened(view, qtbot):
    """Issue 11.20: not 'Stopped before the first epoch finished' when nobody pressed Stop."""
    _configure(view, limit=1)
    with qtbot.waitSignal(view.run_ended, timeout=60000) as ended:
        view.train_button.click()
    assert ended.args[0] == "failed" and "training set has 1 image" in ended.args[2]
    assert "Stopped" not in view.log.toPlainText()


def test_results_come_back_after_a_restart_and_figure3_shows_one_sweep(qtbot, settings):
    from fgsm_studio.gui.train.view import TrainView
    from tests.gui.test_train_results import RECORDS

    first = TrainView(settings)
    qtbot.addWidget(first)
    for r in RECORDS:
        first.state.store.add(r)
    assert first.shutdown(1000)
    again = TrainView(settings)
    qtbot.addWidget(again)
    assert again.records == RECORDS and again.table.rowCount() == len(RECORDS)
    assert again.state.shown_sweep == "s2"  # the latest sweep, and only its runs
    x, y = again.curves["sweep_clean"].getData()
    assert list(x) == [0.0, 0.5] and list(y) == pytest.approx([30.0, 20.0])
    assert again.shutdown(1000)


def test_presets_fill_the_form_in_plain_words(view):
    """Issue 14.6: a preset fills the detailed fields, which stay for experts."""
    from fgsm_studio.gui.train.form import PRESETS

    f = view.form
    assert [f.preset.itemText(i) for i in range(1, f.preset.count())] == list(PRESETS)
    f.preset.setCurrentText("Quick look: about a minute")
    assert f.epochs.value() == 3 and f.limit.value() == 1000
    assert f.defense.currentData() == "wr_fgsm" and f.select_by.currentData() == "auto"
    f.preset.setCurrentText("Strongest defense we have")
    assert f.select_by.currentData() == "pgd" and f.limit.value() == 0
    job = f.job()
    assert job.spec.train.select_by == "pgd" and job.spec.train.defense == f.defense.currentData()
    f.epochs.setValue(7)  # an expert can still change any field
    assert f.job().spec.train.epochs == 7


def test_warning_appears_when_the_defense_only_looks_robust(view):
    """Issue 14.8: the banner shows the findings of core.training.robust_monitor, in words."""
    from tests.core.test_robust_monitor import COLLAPSE, HEALTHY, _history

    view.state.set_current(view.form.job())  # a WR_FGSM run in progress
    try:
        for m in _history(HEALTHY):
            view._on_epoch(m)
        assert view.warning.isHidden()
        view.state.history.clear()
        for m in _history(COLLAPSE):
            view._on_epoch(m)
    finally:
        view.state.set_current(None)
    assert view.warning.isVisible() and "only looks robust" in view.warning.text()
    assert "collapsed" in view.warning.text() and "PGD training" in view.warning.text()
    assert view.log.toPlainText().count("WARNING") == 2


def test_export_asks_for_a_file_and_says_where(view, tmp_path, monkeypatch):
    """Issue 14.3: a file chooser, not a folder chooser that refuses a typed name."""
    from PySide6.QtWidgets import QFileDialog

    from tests.gui.test_train_results import RECORDS

    for r in RECORDS:
        view.state.store.add(r)
    view.state.set_shown_sweep("s1")
    asked = []

    def save_name(parent, caption, start, filters):
        asked.append(caption)
        return str(tmp_path / "mine"), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_name)
    view.export_button.click()
    assert asked and (tmp_path / "mine.csv").is_file() and (tmp_path / "mine-figure3.png").is_file()
    assert str(tmp_path / "mine.csv") in view.status.text()


def test_results_table_fits_1280x720_without_scrolling_sideways(view):
    """Issue 14.4: name + clean / FGSM / PGD visible, no horizontal scroll bar."""
    from tests.gui.test_train_results import RECORDS

    for r in RECORDS:
        view.table.add_record(r)
    view.resize(1280, 690)
    view.show()
    t = view.table
    assert t.horizontalHeader().length() <= t.viewport().width()
    headers = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    assert headers[:4] == ["name", "clean %", "FGSM %", "PGD %"]
    assert t.item(0, 1).text() == "90.00" and "dataset" in t.item(0, 0).toolTip()


def test_stop_mid_epoch_says_where_and_the_stopped_run_is_in_the_table(
    view, qtbot, monkeypatch, tmp_path
):
    """Issue 24, 13: the true epoch and batch (not "96 of 96 (100%)"), a row in the results
    table, and "the best checkpoint so far is kept" only once one exists."""
    from PySide6.QtWidgets import QMessageBox

    from fgsm_studio.gui.train.view import TrainView

    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a: asked.append(a[2]) or QMessageBox.StandardButton.No
    )
    _configure(view, epochs=3, limit=2000)
    with qtbot.waitSignal(view.progress_shown, timeout=60000):
        view.train_button.click()
    assert not view.confirm_close(view)  # no epoch done yet: nothing to keep
    assert "nothing will be saved" in asked[-1] and "is kept" not in asked[-1]
    qtbot.waitUntil(lambda: len(view.state.history) == 1, timeout=120000)
    assert not view.confirm_close(view)
    assert "The best checkpoint so far is kept." in asked[-1]
    qtbot.waitUntil(lambda: view.state.last_batch.epoch == 2, timeout=60000)
    with qtbot.waitSignal(view.run_ended, timeout=30000):
        view.stop()
    p = view.state.last_batch  # the last batch the worker really did (all its events are in)
    assert view.progress.value() == (p.epoch - 1) * p.batches + p.batch
    if p.batch < p.batches:
        said = f"Stopped in epoch 2 of 3 after {p.batch} of its {p.batches} batches"
        assert said in view.status.text() and "before its validation" in view.status.text()
        xs, ys = view.plots.partial.getData()  # the partial epoch shows, marked as such
        assert list(xs) == [1 + p.batch / p.batches] and ys[0] > 0
        assert "not validated" in view.plots.partial_text.toPlainText()
    assert view.table.rowCount() == 1
    assert view.table.item(0, 0).text().endswith("(stopped)")
    assert "Best validated epoch 1" in view.table.item(0, 0).toolTip()
    # ... and the row is a saved record: it comes back after a restart and is exported
    (stopped,) = view.records
    assert (stopped.stopped.epoch, stopped.stopped.batch) == (2, p.batch) and stopped.test is None
    assert stopped.saved_to and stopped.saved_to.endswith(".best-so-far.safetensors")
    again = TrainView(view.settings)
    qtbot.addWidget(again)
    assert again.records == [stopped] and again.table.rowCount() == 1
    assert again.table.item(0, 0).toolTip() == view.table.item(0, 0).toolTip()
    csv_path = again.export(tmp_path / "runs.csv")[0]
    with open(csv_path, newline="", encoding="utf-8") as f:
        (row,) = list(csv.DictReader(f))
    assert (
        row["status"] == "stopped"
        and row["stopped_at"] == f"epoch 2, batch {p.batch} of {p.batches}"
    )
    assert row["epochs_run"] == "1" and row["clean %"] == ""
    assert again.shutdown(1000)
