"""core.report and core.plots: typed records in, PNG and SVG out, error bars on every series."""

from __future__ import annotations

import json

from fgsm_studio.core import report
from fgsm_studio.core.evaluation import EvalResult
from fgsm_studio.core.experiments import RunRecord, RunSpec


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
    real = report.figure3

    def spy(path, x, series, errors, **kw):
        drawn.append((series, errors))
        assert "standard deviation over 2 rounds" in kw["bars"]
        return real(path, x, series, errors, **kw)

    monkeypatch.setattr(report, "figure3", spy)
    md = report.write_report(tmp_path).read_text()
    ((series, errors),) = drawn
    assert set(errors) == set(series) == {"clean", "FGSM eps=0.1", "PGD eps=0.1"}
    assert all(e > 0 for name in series for e in errors[name])  # two rounds differ
    for stem in ("figure2", "figure3_mnist-5k_small_cnn_scaled_eps0.1"):
        assert (tmp_path / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert "<svg" in (tmp_path / f"{stem}.svg").read_text()
    assert "figure2.svg" in md and "Table 1" in md
