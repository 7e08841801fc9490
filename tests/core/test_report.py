"""core.reports.report and core.reports.plots: typed records in, PNG and SVG out, error bars on every series."""

from __future__ import annotations

import json

import pytest

from fgsm_studio.core.measure.evaluation import EvalResult
from fgsm_studio.core.reports import figures, report
from fgsm_studio.core.runs.spec import RunRecord, RunSpec


def _record(defense: str, a1: float, fold: int, clean: float) -> RunRecord:
    spec = RunSpec.of(defense=defense, a1=a1, fold=fold, eval_epsilons=(0.1,))
    attacks = {"fgsm": {0.1: clean - 0.2 + fold / 100}, "pgd": {0.1: clean - 0.4 + fold / 50}}
    test = EvalResult(n=50, clean=clean + fold / 100, attacks=attacks, held_out=spec.held_out())
    return RunRecord(spec, test, n_train=400, n_val=50, best_epoch=1, train_seconds=3.0)


def _write(out, records):
    (out / "runs").mkdir()
    for r in records:
        (out / "runs" / f"{r.key}.json").write_text(json.dumps(r.to_dict()))


def test_report_figures_are_png_and_svg_with_error_bars_on_every_series(tmp_path, monkeypatch):
    records = [_record("none", 0.5, f, 0.95) for f in (0, 1)]
    records += [_record("wr_fgsm", a1, f, 0.9) for a1 in (0.0, 0.5, 1.0) for f in (0, 1)]
    _write(tmp_path, records)
    assert report.load_records(tmp_path) == sorted(records, key=lambda r: r.key)
    drawn = []
    real = figures.figure3

    def spy(path, x, series, errors, **kw):
        drawn.append((series, errors))
        assert "95% confidence interval of the mean over the rounds" in kw["caption"]
        return real(path, x, series, errors, **kw)

    monkeypatch.setattr(figures, "figure3", spy)
    md = report.write_report(tmp_path).read_text()
    ((series, errors),) = drawn
    assert set(errors) == set(series) == {"clean", "FGSM eps=0.1", "PGD eps=0.1"}
    assert all(min(e) > 0 for name in series for e in errors[name])  # two rounds differ
    # Two rounds, clean 90% and 91%: mean +- t(1) * std / sqrt(2) = 12.706 * 0.7071 / 1.4142
    assert errors["clean"][0] == pytest.approx((6.353, 6.353), abs=1e-3)
    for stem in ("figure2", "figure3_mnist-5k_small_cnn_scaled_eps0.1"):
        assert (tmp_path / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert "<svg" in (tmp_path / f"{stem}.svg").read_text()
    assert "figure2.svg" in md and "Table 1" in md


def _run(defense="wr_fgsm", a1=0.5, fold=0, clean=0.9, fgsm=0.5, val=(0.9, 0.5), losses=(1.0, 0.5)):
    """A record whose test and validation numbers are given separately."""
    from fgsm_studio.core.training.config import EpochMetrics

    spec = RunSpec.of(defense=defense, a1=a1, fold=fold, eval_epsilons=(0.1,))
    test = EvalResult(
        n=300, clean=clean, attacks={"fgsm": {0.1: fgsm}, "pgd": {0.1: fgsm / 2}}, held_out="x"
    )
    history = tuple(
        EpochMetrics(
            epoch=i + 1, epochs=len(losses), loss=loss, loss_ori=loss, loss_adv=0.0,
            loss_reg=0.0, train_acc=0.5, val_acc=val[0], val_fgsm_acc=val[1], score=0.0,
            is_best=i == 0, images_per_s=100.0, elapsed_s=1.0,
        )
        for i, loss in enumerate(losses)
    )  # fmt: skip
    return RunRecord(spec, test, n_train=400, n_val=500, best_epoch=1, history=history)


def _csv_rows(path):
    import csv

    with open(path) as f:
        return list(csv.DictReader(f))


def test_the_report_flags_runs_at_chance_and_runs_whose_loss_did_not_fall(tmp_path):
    """Issue 25.1: the literal a1 = 0.5 run (clean 10.3%) sat in the table as an ordinary row."""
    runs = [_run("none", clean=0.97), _run(a1=0.5, clean=0.103, fgsm=0.097)]
    runs += [_run(a1=0.0, losses=(1.0, 1.2, 1.1))]
    _write(tmp_path, runs)
    md = report.write_report(tmp_path).read_text()
    chance_rows = [
        line for line in md.splitlines() if "at chance (clean 10.3%, chance 10%)" in line
    ]
    assert any("a1=0.5" in line for line in chance_rows)
    assert any("a1=0 " in line and "loss did not fall" in line for line in md.splitlines())
    assert not any(
        "standard" in line and "**" in line for line in md.splitlines() if "| 97" in line
    )


def test_one_round_shows_an_interval_not_a_zero_std(tmp_path):
    """Issue 25.2: `xx.xx +- 0.00` with one round; two rounds keep mean +- std."""
    _write(tmp_path, [_run("none", clean=0.97), _run(a1=0.5)])
    md = report.write_report(tmp_path).read_text()
    assert "+- 0.00" not in md and "Wilson" in md
    assert "97.00 [94.4, 98.4]" in md  # 291 of 300 images
    _write2 = [_run("none", fold=1, clean=0.95)]
    for r in _write2:
        (tmp_path / "runs" / f"{r.key}.json").write_text(json.dumps(r.to_dict()))
    md = report.write_report(tmp_path).read_text()
    assert "96.00 +- 1.41" in md


def test_the_best_pair_is_chosen_on_validation_and_its_margin_is_stated(tmp_path):
    """Issue 25.3: chosen on the test rounds by 1.4 points, and a1 = 0 (no FGSM term)."""
    runs = [_run("none", clean=0.97)]
    runs += [_run(a1=0.0, clean=0.95, fgsm=0.60, val=(0.90, 0.40))]  # best on test
    runs += [_run(a1=0.5, clean=0.94, fgsm=0.59, val=(0.90, 0.55))]  # best on validation
    runs += [_run(a1=1.0, clean=0.90, fgsm=0.50, val=(0.80, 0.45))]
    _write(tmp_path, runs)
    md = report.write_report(tmp_path).read_text()
    table1 = md.split("## Table 1")[1].split("##")[0]
    assert "WR_FGSM a1=0.5 a2=0.5" in table1 and "a1=0 a2" not in table1
    assert "*validation*" in table1
    assert "15.0 points above a1=0;" in table1 and "beyond the noise" in table1
    from fgsm_studio.core.reports.stats import choose_best

    close = choose_best([_run(a1=0.0, val=(0.9, 0.5)), _run(a1=0.5, val=(0.9, 0.51))])
    assert close.a1 == 0.5 and close.within_noise and "within the noise" in close.sentence()


def test_runs_csv_leaves_options_that_do_not_apply_empty(tmp_path):
    """Issue 25.4: the standard model was listed with a1=0.5, a2=0.5, reg=scaled."""
    _write(tmp_path, [_run("none"), _run(a1=0.25), _run("pgd", a1=1.0)])
    report.write_report(tmp_path)
    rows = {r["defense"]: r for r in _csv_rows(tmp_path / "runs.csv")}
    assert [rows["none"][k] for k in ("a1", "a2", "reg", "train_eps")] == ["", "", "", ""]
    assert (rows["wr_fgsm"]["a1"], rows["wr_fgsm"]["a2"], rows["wr_fgsm"]["reg"]) == (
        "0.25",
        "0.75",
        "scaled",
    )
    assert rows["pgd"]["a1"] == "1" and rows["pgd"]["reg"] == "" and rows["pgd"]["a2"] == ""


def test_figures_say_n_rounds_epochs_chance_and_error_bars_and_show_pgd(tmp_path, monkeypatch):
    """Issue 25.5."""
    from fgsm_studio.core.reports import plots

    drawn = {}

    def spy(name):
        real = getattr(plots, name)

        def draw(path, *a, **kw):
            drawn[name] = (a, kw)
            return real(path, *a, **kw)

        return draw

    monkeypatch.setattr(figures, "bar_chart", spy("bar_chart"))
    monkeypatch.setattr(figures, "figure3", spy("figure3"))  # Figure 3's one function
    _write(tmp_path, [_run("none")] + [_run(a1=a) for a in (0.0, 0.5, 1.0)])
    md = report.write_report(tmp_path).read_text()
    (groups, series), kw = drawn["bar_chart"]
    assert set(series) == {"clean", "FGSM eps=0.1", "PGD eps=0.1"}
    assert kw["hline"] == (10.0, "chance (10%)")
    for name in ("bar_chart", "figure3"):
        caption = drawn[name][1]["caption"]
        assert "n = 300 held-out images" in caption and "1 of 10 rounds" in caption
        assert "2 epochs trained (at most 10)" in caption and "95% Wilson interval" in caption
        assert caption in md
    lo_hi = drawn["bar_chart"][1]["errors"]["clean"][0]
    assert isinstance(lo_hi, tuple) and lo_hi[0] != lo_hi[1]  # an interval, not a std of 0
    assert (tmp_path / "figure2.png").read_bytes()[:4] == b"\x89PNG"
