"""Issue 23, 5 and issue 24, 3/13: one record store, one CSV, one meaning of Figure 3's bars.

The Train tab's runs are run records (``core.runs.record_store``, read by
``core.runs.records``), a stopped run's too; an old ``train_results.json`` moves in
without losing a row; ``core.reports.runs_csv`` writes the report's ``runs.csv`` and the
Train tab's export alike; the best-so-far file's card carries the monitor's
warnings as a finished model's does.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import threading

import pytest
import torch

from fgsm_studio.core.data.loaders import folds
from fgsm_studio.core.measure.evaluation import EvalResult
from fgsm_studio.core.models.card import ModelCard
from fgsm_studio.core.models.checkpoint import read_card
from fgsm_studio.core.models.networks import build
from fgsm_studio.core.reports import report
from fgsm_studio.core.reports.runs_csv import write_runs_csv
from fgsm_studio.core.reports.stats import t95
from fgsm_studio.core.runs.cluster import RunJob
from fgsm_studio.core.runs.record_store import RecordStore
from fgsm_studio.core.runs.records import RecordError, read_record
from fgsm_studio.core.runs.spec import RunRecord, RunSpec, Stopped
from fgsm_studio.core.training import selection, trainer
from fgsm_studio.core.training.config import EpochMetrics, TrainConfig
from fgsm_studio.core.training.loop import run

WARNED = [{"kind": "fgsm-only", "text": "This defense only looks robust: test."}]


def _epoch(i, clean=0.9, fgsm=0.6, pgd=0.5, best=False):
    return EpochMetrics(i, 3, 1.0, 1.0, 1.0, 0.0, clean, clean, fgsm, clean, best, 1.0, 1.0, pgd)


def _finished(a1=0.5, clean=0.9, name="done", sweep="", fold=0) -> RunRecord:
    spec = RunSpec.of(defense="wr_fgsm", a1=a1, fold=fold, eval_epsilons=(0.1,))
    test = EvalResult(n=100, clean=clean, attacks={"fgsm": {0.1: 0.5}, "pgd": {0.1: 0.2}})
    return RunRecord(spec, test, 900, 100, 1, (_epoch(1, best=True),), 5.0, name=name, sweep=sweep)


def _stopped(a1=0.5) -> RunRecord:
    """The same settings as ``_finished``, stopped in epoch 3 (its PGD collapsed in 2)."""
    spec = RunSpec.of(defense="wr_fgsm", a1=a1, eval_epsilons=(0.1,))
    history = (_epoch(1, pgd=0.5, best=True), _epoch(2, fgsm=0.9, pgd=0.02))
    where = "Stopped in epoch 3 of 3 after 40 of its 96 batches, before its validation"
    return RunRecord(
        spec, None, 900, 100, 1, history, 7.0, "/m.best-so-far.safetensors", "stopped run",
        stopped=Stopped(3, 40, 96, where),
    )  # fmt: skip


def test_a_stopped_run_is_a_record_the_one_reader_checks(tmp_path):
    r = _stopped()
    path = tmp_path / "runs" / f"0001.{r.key}.json"
    path.parent.mkdir()
    path.write_text(json.dumps(r.to_dict()))
    assert read_record(path) == r  # "<n>.<key>" names: the key is still checked
    d = r.to_dict()
    d["test"] = _finished().to_dict()["test"]  # stopped AND evaluated: not a record
    path.write_text(json.dumps(d))
    with pytest.raises(RecordError, match="marked stopped and has held-out figures"):
        read_record(path)
    d = r.to_dict()
    d["stopped"]["batch"] = 97
    path.write_text(json.dumps(d))
    with pytest.raises(RecordError, match="more than its 96 batches"):
        read_record(path)
    other = tmp_path / "runs" / f"0002.{_finished(a1=1.0).key}.json"
    other.write_text(json.dumps(r.to_dict()))
    with pytest.raises(RecordError, match="not its file name's"):
        read_record(other)


def test_reproduce_runs_a_stopped_run_again_and_the_report_leaves_it_out(tmp_path):
    r = _stopped()
    job = RunJob(tmp_path)
    job.record_path(r.spec).parent.mkdir(parents=True)
    job.record_path(r.spec).write_text(json.dumps(r.to_dict()))
    assert job.finished(r.spec) is None  # not done: it is trained again
    assert report.load_records(tmp_path) == []


def test_the_store_keeps_finished_and_stopped_runs_in_order_across_a_restart(tmp_path):
    """Issue 24, 13: a stopped run, then the same settings finished: two rows, in order."""
    store = RecordStore(tmp_path)
    runs = [_finished(a1=1.0, name="first"), _stopped(), _finished(name="again")]
    for r in runs:
        assert store.add(r) == ""
    assert _stopped().key == _finished().key  # same settings, two records
    again = RecordStore(tmp_path)
    assert again.load() == runs and again.problem == ""
    names = sorted(p.name for p in (tmp_path / "runs").glob("*.json"))
    assert [n.split(".")[0] for n in names] == ["0001", "0002", "0003"]


def test_an_old_train_results_file_moves_in_without_losing_a_row(tmp_path):
    legacy = tmp_path / "train_results.json"
    good = [_finished(a1=0.0, name="a"), _finished(a1=1.0, name="b")]
    bad = _finished(name="bad").to_dict()
    bad["test"]["clean"] = 5.0  # 500%: fails the record checks
    stale = good[1].to_dict() | {"key": "an-older-digest"}  # a key from an older version
    rows = [good[0].to_dict(), bad, stale]
    legacy.write_text(json.dumps({"format": 1, "records": rows}))
    store = RecordStore(tmp_path / "train-runs", legacy=legacy)
    assert store.load() == good
    assert "Row 2 of" in store.problem and "not an accuracy from 0 to 1" in store.problem
    kept = tmp_path / "train-runs" / "runs" / "rejected" / "train_results-row2.json"
    assert json.loads(kept.read_text()) == json.loads(
        json.dumps(bad)
    )  # the bad row is kept, named in the sentence
    assert str(kept) in store.problem
    assert not legacy.exists() and (tmp_path / "train_results.json.migrated").is_file()
    assert store.note.startswith("Moved 2 saved runs from") and ".migrated" in store.note
    assert RecordStore(tmp_path / "train-runs", legacy=legacy).load() == good  # once only


def test_an_unreadable_old_results_file_is_one_sentence_and_kept_aside(tmp_path):
    legacy = tmp_path / "train_results.json"
    legacy.write_text('{"format": 1, "records": [')
    store = RecordStore(tmp_path / "train-runs", legacy=legacy)
    assert store.load() == []
    assert store.problem.count(".") >= 1 and "could not be read" in store.problem
    kept = tmp_path / "train-runs" / "rejected" / "train_results.json"
    assert kept.read_text() == '{"format": 1, "records": ['
    assert str(kept) in store.problem


def test_one_csv_for_the_report_and_the_train_tab(tmp_path):
    """Issue 23, 5: the report's runs.csv and the Train export are one format; a stopped
    run's row says where it stopped, and its monitor warning (issue 24, 3)."""
    fin, stop = _finished(), _stopped()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / f"{fin.key}.json").write_text(json.dumps(fin.to_dict()))
    report.write_report(tmp_path)
    write_runs_csv(tmp_path / "train.csv", [fin])
    assert (tmp_path / "runs.csv").read_text() == (tmp_path / "train.csv").read_text()
    write_runs_csv(tmp_path / "both.csv", [fin, stop])
    with open(tmp_path / "both.csv", newline="", encoding="utf-8") as f:
        a, b = list(csv.DictReader(f))
    assert (a["status"], a["clean %"], a["fgsm@0.1 %"], a["pgd@0.1 %"]) == (
        "finished", "90.00", "50.00", "20.00"
    )  # fmt: skip
    assert (b["status"], b["stopped_at"], b["clean %"], b["fgsm@0.1 %"]) == (
        "stopped", "epoch 3, batch 40 of 96", "", ""
    )  # fmt: skip
    assert b["epochs_run"] == "2" and b["best_epoch"] == "1"
    assert b["checkpoint"] == "/m.best-so-far.safetensors"
    assert "only looks robust" in b["warnings"] and "collapsed" in b["warnings"]


def test_figure3_bars_are_a_95_percent_interval_over_rounds_in_the_report(tmp_path, monkeypatch):
    """Issue 23, 5: a 95% confidence interval everywhere: Student t over two or more
    rounds (here), Wilson over the images with one (the Train tab's case), in the caption."""
    from fgsm_studio.core.reports import figures

    drawn = []
    real = figures.figure3
    monkeypatch.setattr(
        figures, "figure3", lambda *a, **kw: drawn.append((a, kw)) or real(*a, **kw)
    )
    (tmp_path / "runs").mkdir()
    for a1 in (0.0, 0.5, 1.0):
        for fold, clean in ((0, 0.60), (1, 0.64)):
            r = _finished(a1=a1, clean=clean, fold=fold)
            (tmp_path / "runs" / f"{r.key}.json").write_text(json.dumps(r.to_dict()))
    report.write_report(tmp_path)
    ((_, _, _, errors), kw) = drawn[-1]
    half = t95(1) * 100 * (0.04 / 2**0.5) / 2**0.5  # std of (60, 64) = 2.83 points
    assert errors["clean"][0] == pytest.approx((half, half))
    assert kw["caption"].count("95% confidence interval") == 1
    # the Train tab's (one run per a1: Wilson): tests/gui/test_train_results.py


@pytest.fixture
def _cli_threads():
    """Train on the threads the CLI takes: torch's default oversubscribes a busy machine."""
    from fgsm_studio.core.devices import configure_threads

    before = torch.get_num_threads()
    configure_threads("cli")
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("_cli_threads")
def test_the_best_so_far_file_carries_the_monitor_warnings(mnist_1k, tmp_path, monkeypatch):
    """Issue 24, 3: a run stopped after a warned, not-best epoch leaves a best-so-far card
    with the warning, as a finished model's card has it."""
    f = folds(mnist_1k, k=5, seed=1)[0]
    train_set, val = mnist_1k.subset(f.train[:160]), mnist_1k.subset(f.val[:60])
    scores = iter([0.9, 0.5])  # epoch 1 is the best; epoch 2 only warns
    monkeypatch.setattr(selection, "score", lambda *a: next(scores))
    monkeypatch.setattr(
        trainer, "card_warnings", lambda history: WARNED if len(history) == 2 else []
    )
    card = ModelCard(
        arch="small_cnn", num_classes=10, class_names=[str(i) for i in range(10)],
        in_channels=1, image_size=28, mean=[0.13], std=[0.31], dataset="mnist-1k",
    )  # fmt: skip
    torch.manual_seed(0)
    model = build(
        "small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31]
    )
    path = tmp_path / "m.best-so-far.safetensors"
    config = TrainConfig(
        defense="wr_fgsm", epochs=2, batch_size=32, monitor_images=20, monitor_steps=2
    )
    seen = []

    def after_epoch(event):
        if isinstance(event, EpochMetrics):
            seen.append(read_card(path).training)

    result = run(model, train_set, val, config, on_event=after_epoch, save_path=path, card=card)
    assert result.best_epoch == 1
    assert "warnings" not in seen[0] and seen[1]["warnings"] == WARNED
    assert seen[1]["best_epoch"] == 1  # still epoch 1's weights and figures
    assert dataclasses.asdict(result.history[1])["is_best"] is False


def test_two_stores_saving_at_once_take_different_numbers(tmp_path, monkeypatch):
    """Session 7, 1e: two windows (or a window and the CLI) saving a run at the same moment
    both took the next number, and with the same settings (a stopped run and a finished
    one share a key) one record replaced the other. Both writers are held inside the write
    until the other has got there too: the race, every time."""
    from fgsm_studio.core.runs import record_store

    meet = threading.Barrier(2, timeout=30)
    real = record_store.write_record

    def write_record(path, record):
        meet.wait()  # both writers have picked their number
        real(path, record)

    monkeypatch.setattr(record_store, "write_record", write_record)
    stores = [RecordStore(tmp_path), RecordStore(tmp_path)]
    records = [_finished(name="window"), _stopped()]
    assert records[0].key == records[1].key
    said: list[str] = []
    threads = [
        threading.Thread(target=lambda s=s, r=r: said.append(s.add(r)))
        for s, r in zip(stores, records, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert said == ["", ""]
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert names == [f"0001.{records[0].key}.json", f"0002.{records[0].key}.json"]
    assert sorted(r.name for r in RecordStore(tmp_path).load()) == ["stopped run", "window"]
