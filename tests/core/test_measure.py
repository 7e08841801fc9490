"""core.measure.sets: one sample per row, cumulative survivors' attacks, cards and tables generated."""

from __future__ import annotations

import shutil

import pytest

from fgsm_studio.core.cli.main import main
from fgsm_studio.core.data.other_writers import load
from fgsm_studio.core.measure.report import END, START
from fgsm_studio.core.measure.sets import Measurement, measure, read_results, sample
from fgsm_studio.core.models.checkpoint import load as load_model
from fgsm_studio.core.models.checkpoint import read_card
from fgsm_studio.core.paths import resource_path

WEAK = dict(pgd_steps=3, apgd_steps=3, targets=1, queries=20)


def test_worst_case_is_below_every_attack_and_survivors_are_cumulative():
    model, _ = load_model(resource_path("models", "mnist_small_cnn_standard.safetensors"))
    data = sample(load("optdigits"), 20)
    m = measure(model, data, epsilons=(0.1,), **WEAK)
    assert m.n == 20
    own = [m.acc(a, 0.1) for a in ("fgsm", "pgd-3", "apgd-ce")]
    assert m.acc("+apgd-t", 0.1) <= min(own)
    assert m.acc("+square", 0.1) <= m.acc("+apgd-t", 0.1)
    assert m.acc("worst-case", 0.1) == m.acc("+square", 0.1) <= m.clean
    assert m.acc("worst-case", 0.1) < m.clean  # an attack that cannot lower it is no measure
    assert Measurement.from_dict(m.to_dict()) == m
    no_square = measure(model, sample(data, 10), epsilons=(0.1,), square=False, **WEAK)
    assert no_square.acc("+square", 0.1) is None and not no_square.settings["square"]


def test_sample_is_stratified_and_fixed():
    ds = load("optdigits")
    a, b = sample(ds, 50), sample(ds, 50)
    assert len(a) == 50 and (a.labels == b.labels).all() and len(set(a.labels.tolist())) == 10


def test_cli_measures_the_draw_set(tmp_path):
    model = resource_path("models", "mnist_small_cnn_standard.safetensors")
    results = tmp_path / "results.jsonl"
    opts = ["--sets", "draw", "--limit", "10", "--epsilons", "0.1", "--pgd-steps", "2"]
    opts += ["--apgd-steps", "2", "--targets", "1", "--no-square", "--results", str(results)]
    assert main(["measure", str(model), *opts]) == 0
    (row,) = read_results(results)
    assert row.set == "draw" and row.n == 10 and row.clean > 0.5


@pytest.mark.slow
def test_cli_measures_once_and_publishes_into_card_and_tables(tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    shutil.copy(resource_path("models", "mnist_small_cnn_standard.safetensors"), model)
    results = tmp_path / "r" / "results.jsonl"
    opts = ["--sets", "optdigits", "--limit", "20", "--epsilons", "0.1", "--pgd-steps", "2"]
    opts += ["--apgd-steps", "2", "--targets", "1", "--queries", "10", "--results", str(results)]
    assert main(["measure", str(model), *opts]) == 0
    assert main(["measure", str(model), *opts]) == 0  # done: skipped, not measured twice
    assert len(results.read_text().splitlines()) == 1
    (row,) = read_results(results)
    report, readme = tmp_path / "report.md", tmp_path / "README.md"
    readme.write_text("# x\n")
    args = ["--publish", "--results", str(results), "--report", str(report)]
    assert main(["measure", str(model), *args, "--readme", str(readme)]) == 0
    card = read_card(model)
    saved = card.metrics["other_writers"]["optdigits"]
    assert saved["n"] == 20 and saved["clean"] == row.clean
    text = report.read_text()
    assert START in text and END in text and card.title() in text
    assert f"{100 * row.acc('worst-case', 0.1):.1f}" in text
    assert START in readme.read_text()
    assert main(["measure", "--publish", "--results", str(tmp_path / "none.jsonl")]) == 2
    assert "no results" in capsys.readouterr().err
