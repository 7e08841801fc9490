"""The Train view's records: Figure 3 from one sweep only, kept on disk, exported from records."""

from __future__ import annotations

import csv
import json

import pytest

from fgsm_studio.core.evaluation import EvalResult
from fgsm_studio.core.experiments import RunRecord, RunSpec
from fgsm_studio.gui.train_results import (
    ResultStore,
    export,
    figure3_points,
    latest_sweep,
    table_cells,
    table_row,
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
    assert s1.a1 == [0.0, 0.5, 1.0] and s1.clean == [0.90, 0.80, 0.70]
    assert s1.fgsm == [0.45, 0.40, 0.35] and s1.pgd == [0.1, 0.1, 0.1]
    s2 = figure3_points(RECORDS, "s2")
    assert s2.a1 == [0.0, 0.5] and s2.clean == [0.30, 0.20]
    assert figure3_points(RECORDS, "").a1 == []  # runs outside a sweep are never plotted
    assert latest_sweep(RECORDS) == "s2" and latest_sweep(RECORDS[:4]) == "s1"


def test_store_keeps_records_across_a_restart(tmp_path):
    path = tmp_path / "train_results.json"
    store = ResultStore(path)
    for r in RECORDS:
        store.add(r)
    assert ResultStore(path).load() == RECORDS
    path.write_text("{not json")
    broken = ResultStore(path)
    assert broken.load() == [] and "could not be read" in broken.problem


def test_export_writes_the_file_asked_for_and_the_figure_beside_it(tmp_path):
    """Issue 14.3: export goes to a FILE the user names (a typed name with no suffix too)."""
    paths = export(RECORDS, "s1", tmp_path / "new" / "my results")
    names = sorted(p.name for p in paths)
    assert names == ["my results-figure3.png", "my results-figure3.svg", "my results.csv"]
    rows = list(csv.reader((tmp_path / "new" / "my results.csv").read_text().splitlines()))
    assert rows[1] == table_row(RECORDS[0]) and len(rows) == 1 + len(RECORDS)
    assert rows[1][1:4] == ["90.00", "45.00", "10.00"]
    assert (tmp_path / "new" / "my results-figure3.svg").read_text().count("<svg") == 1
    json.dumps([r.to_dict() for r in RECORDS])  # records are plain JSON


def test_the_table_leads_with_name_and_the_three_accuracies():
    """Issue 14.4: name, clean, FGSM, PGD first; the other columns in the row's tooltip."""
    cells, tip = table_cells(RECORDS[0])
    assert cells[:4] == ["a1=0.0", "90.00", "45.00", "10.00"] and len(cells) <= 6
    assert "dataset: mnist-5k" in tip and "best epoch by: clean+fgsm" in tip


def test_figure3_error_bars_are_the_standard_error_over_the_held_out_images():
    """Issue 14.2: one sweep, one run per a1: the bars say how sure each accuracy is."""
    fig = figure3_points(RECORDS, "s1")
    assert fig.n == [100, 100, 100]
    assert fig.stderr(fig.clean) == pytest.approx([0.03, 0.04, (0.7 * 0.3 / 100) ** 0.5])


def test_a_run_that_only_looks_robust_is_marked_in_the_table_and_the_csv(tmp_path):
    """Issue 24, 3: the Train tab's "only looks robust" warning reaches the results row
    (a mark) and the CSV (and the card: ``core.experiments.execute`` saves it)."""
    import dataclasses

    from fgsm_studio.core.experiments import run_warnings
    from fgsm_studio.core.training import EpochMetrics

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
    assert table_row(looks)[-1] == rows[0]["warnings"]
