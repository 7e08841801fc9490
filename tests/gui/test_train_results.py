"""The Train view's records: Figure 3 from one sweep only, kept on disk, exported from records.

The store, the CSV and Figure 3's numbers are core's (``core.runs.record_store``,
``core.reports.runs_csv``, ``core.reports.figures``); ``tests/core/test_record_store.py``
tests them further."""

from __future__ import annotations

import csv
import json

import pytest

from fgsm_studio.core.measure.evaluation import EvalResult
from fgsm_studio.core.reports.runs_csv import row
from fgsm_studio.core.reports.stats import wilson
from fgsm_studio.core.runs.spec import RunRecord, RunSpec
from fgsm_studio.gui.train.results import (
    export,
    figure3_points,
    latest_sweep,
    table_cells,
    train_store,
)


def record(a1: float, clean: float, sweep: str = "", defense: str = "wr_fgsm") -> RunRecord:
    spec = RunSpec.of(defense=defense, a1=a1, eval_epsilons=(0.1,))
    test = EvalResult(n=100, clean=clean, attacks={"fgsm": {0.1: clean / 2}, "pgd": {0.1: 0.1}})
    return RunRecord(spec, test, n_train=900, n_val=100, best_epoch=1, name=f"a1={a1}", sweep=sweep)


RECORDS = [
    record(0.0, 0.90, "s1"),
    record(0.5, 0.80, "s1"),
    record(1.0, 0.70, "s1"),
    record(0.5, 0.50),  # a single WR_FGSM run: in no sweep
    record(0.0, 0.30, "s2"),
    record(0.5, 0.20, "s2"),
]


def test_figure3_shows_the_runs_of_one_sweep_only():
    s1 = figure3_points(RECORDS, "s1")
    assert s1.a1 == [0.0, 0.5, 1.0] and s1.series["clean"] == pytest.approx([90, 80, 70])
    assert s1.series["FGSM eps=0.1"] == pytest.approx([45, 40, 35])
    assert s1.series["PGD eps=0.1"] == pytest.approx([10, 10, 10])
    s2 = figure3_points(RECORDS, "s2")
    assert s2.a1 == [0.0, 0.5] and s2.series["clean"] == pytest.approx([30, 20])
    assert figure3_points(RECORDS, "") is None  # runs outside a sweep are never plotted
    assert latest_sweep(RECORDS) == "s2" and latest_sweep(RECORDS[:4]) == "s1"


def test_store_keeps_records_across_a_restart(tmp_path):
    store = train_store(tmp_path)
    for r in RECORDS:
        assert store.add(r) == ""
    assert train_store(tmp_path).load() == RECORDS
    (tmp_path / "train-runs" / "runs" / "0002.x.json").write_text("{not json")
    broken = train_store(tmp_path)
    assert broken.load() == RECORDS and "is not complete JSON" in broken.problem
    assert (tmp_path / "train-runs" / "runs" / "rejected" / "0002.x.json").is_file()


def test_export_writes_the_file_asked_for_and_the_figure_beside_it(tmp_path):
    """Issue 14.3: export goes to a FILE the user names (a typed name with no suffix too)."""
    paths = export(RECORDS, "s1", tmp_path / "new" / "my results")
    names = sorted(p.name for p in paths)
    assert names == ["my results-figure3.png", "my results-figure3.svg", "my results.csv"]
    with open(tmp_path / "new" / "my results.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0] == {k: row(RECORDS[0]).get(k, "") for k in rows[0]}
    assert len(rows) == len(RECORDS)
    assert [rows[0][k] for k in ("clean %", "fgsm@0.1 %", "pgd@0.1 %")] == [
        "90.00",
        "45.00",
        "10.00",
    ]
    assert (tmp_path / "new" / "my results-figure3.svg").read_text().count("<svg") == 1
    json.dumps([r.to_dict() for r in RECORDS])  # records are plain JSON


def test_the_table_leads_with_name_and_the_three_accuracies():
    """Issue 14.4: name, clean, FGSM, PGD first; the other columns in the row's tooltip."""
    cells, tip = table_cells(RECORDS[0])
    assert cells[:4] == ["a1=0.0", "90.00", "45.00", "10.00"] and len(cells) <= 6
    assert "dataset: mnist-5k" in tip and "best epoch by: clean+fgsm" in tip


def test_figure3_error_bars_are_the_95_percent_wilson_interval_of_each_run():
    """Issue 23, 5: one meaning for every Figure-3 bar, the report's and the Train tab's:
    a 95% confidence interval (one run per a1: Wilson over its n held-out images; it was
    one binomial standard error here, and std over rounds in the report)."""
    fig = figure3_points(RECORDS, "s1")
    want = [wilson(p, 100) for p in (0.9, 0.8, 0.7)]
    got = fig.errors["clean"]
    for (down, up), v, (lo, hi) in zip(got, fig.series["clean"], want, strict=True):
        assert (v - down, v + up) == pytest.approx((100 * lo, 100 * hi))
    assert "95% confidence interval" in fig.caption and "Wilson" in fig.caption


def test_a_run_that_only_looks_robust_is_marked_in_the_table_and_the_csv(tmp_path):
    """Issue 24, 3: the Train tab's "only looks robust" warning reaches the results row
    (a mark) and the CSV (and the card: ``core.runs.experiments.execute`` saves it)."""
    import dataclasses

    from fgsm_studio.core.runs.experiments import run_warnings
    from fgsm_studio.core.training.config import EpochMetrics

    def epoch(i, clean, fgsm, pgd):
        return EpochMetrics(
            i, 2, 1.0, 1.0, 1.0, 0.0, clean, clean, fgsm, clean, False, 1.0, 1.0, pgd
        )

    looks = dataclasses.replace(
        record(1.0, 0.9),
        name="fgsm 0.3",
        history=(epoch(1, 0.8, 0.4, 0.1), epoch(2, 0.9, 0.9, 0.0)),
    )
    healthy = dataclasses.replace(record(0.5, 0.9), history=(epoch(1, 0.9, 0.6, 0.5),))
    assert [w["kind"] for w in run_warnings(looks)] == ["fgsm-only"]
    assert run_warnings(healthy) == []
    cells, tip = table_cells(looks)
    assert cells[0] == "\u26a0 fgsm 0.3" and "only looks robust" in tip
    assert not table_cells(healthy)[0][0].startswith("\u26a0")
    path = export([looks, healthy], "", tmp_path / "runs.csv")[0]
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert "only looks robust" in rows[0]["warnings"] and rows[1]["warnings"] == ""
    assert row(looks)["warnings"] == rows[0]["warnings"]


def test_a_stopped_run_that_only_looks_robust_is_marked_too():
    """Issue 24, 3 gap: a stopped run's row gets the warning mark and the tooltip's
    warning, as a finished run's does, and says where it stopped."""
    from tests.core.test_record_store import _stopped

    cells, tip = table_cells(_stopped())
    assert cells[0] == "\u26a0 stopped run (stopped)" and cells[1:4] == ["-", "-", "-"]
    assert tip.startswith("\u26a0 This defense only looks robust") and "collapsed" in tip
    assert "Stopped in epoch 3 of 3 after 40 of its 96 batches" in tip
    assert "Best validated epoch 1: clean 90.0%" in tip


def test_empty_plots_show_epochs_and_a1_from_0_to_1(qtbot):
    """Before any run (and after the table is cleared) the axes read 0-1, not an empty
    plot's "-400 ... 400 (x0.001)" around the partial-epoch marker (seen in a real window)."""
    from fgsm_studio.gui.train.plots import TrainPlots

    plots = TrainPlots()
    qtbot.addWidget(plots)
    plots.resize(1200, 300)
    plots.show()
    qtbot.waitExposed(plots)
    plots.show_epochs([])
    plots.show_sweep(None)
    for plot in (plots.loss_plot, plots.acc_plot, plots.sweep_plot):
        (x0, x1), (y0, _) = plot.viewRange()
        assert -0.06 <= x0 and x1 <= 1.06 and y0 >= 0, plot.viewRange()
