"""The reproduction report's defense table: its sentences, and a tiny real ``reproduce`` run."""

from __future__ import annotations

import json
import re

import pytest

from fgsm_studio.core.cli.main import main
from fgsm_studio.core.measure.evaluation import EvalResult
from fgsm_studio.core.reports.defenses import holds_sentence
from fgsm_studio.core.reports.report import write_report
from fgsm_studio.core.runs.spec import RunRecord, RunSpec


def _row(clean, **figs):
    return {
        "clean": clean,
        **{k.replace("_", "@").replace("@0", "@0."): v for k, v in figs.items()},
    }


def test_sentences_follow_the_figures():
    eps = [0.1, 0.3]
    robust = _row(
        96.6, fgsm_01=90.2, pgd_01=89.8, worst_01=89.0, fgsm_03=32.6, pgd_03=0, worst_03=0
    )
    assert holds_sentence(robust, eps) == "Holds at 0.1 under every attack; at 0.3 nothing holds."
    overfit = _row(97.0, fgsm_01=94.0, pgd_01=2.0, worst_01=1.0)
    assert holds_sentence(overfit, eps) == (
        "At 0.1 holds under FGSM only, not PGD or the worst case."
    )
    masked = _row(97.2, fgsm_01=83.6, pgd_01=79.0, worst_01=71.2)
    text = holds_sentence(masked, eps)
    assert text.startswith("At 0.1 holds under FGSM and PGD only, not the worst case")
    assert "the worst case is 8 points under PGD" not in text  # under the 10-point gap
    gap = holds_sentence(_row(97.2, fgsm_01=90, pgd_01=88, worst_01=70), eps)
    assert "the worst case is 18 points under PGD" in gap
    # the worst case runs on fewer images: judged against their clean accuracy and their PGD
    subset = {**_row(90.0, fgsm_01=80, pgd_01=80, worst_01=60), "worst_clean": 75.0}
    subset["worst_pgd@0.1"] = 62.0
    assert holds_sentence(subset, [0.1]) == "Holds at 0.1 under every attack."
    # without a worst-case figure the sentence names only what was measured
    assert holds_sentence(_row(90.0, fgsm_01=80, pgd_01=70), [0.1]) == (
        "Holds at 0.1 under FGSM and PGD."
    )


def _records(out, rows):
    """Finished runs as ``reproduce`` writes them, with made-up figures."""
    (out / "runs").mkdir(parents=True)
    for defense, eps, figs in rows:
        spec = RunSpec.of(
            defense=defense,
            epsilon=eps,
            a1=0.5 if defense == "wr_fgsm" else 1.0,
            eval_epsilons=(0.1, 0.3),
            worst_case="light",
            epochs=1,
        )
        f1, p1, w1, f3, p3, w3 = figs
        test = EvalResult(100, 0.97, {"fgsm": {0.1: f1, 0.3: f3}, "pgd": {0.1: p1, 0.3: p3}})
        robust = EvalResult(50, 0.97, {"worst-case": {0.1: w1, 0.3: w3}})
        record = RunRecord(spec, test, 10, 10, 1, train_seconds=90.0, robust=robust)
        (out / "runs" / f"{record.key}.json").write_text(json.dumps(record.to_dict()))


def _defense_section(report: str) -> tuple[list[str], list[list[str]]]:
    lines = report.split("## Every defense")[1].splitlines()
    header = next(line for line in lines if line.startswith("| dataset"))
    rows = [line for line in lines if line.startswith("| ") and line != header]
    split = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]  # noqa: E731
    return split(header), [split(r) for r in rows]


def test_report_has_a_row_per_defense_and_epsilon_with_worst_case_and_sentence(tmp_path):
    robust = (0.90, 0.89, 0.88, 0.30, 0.0, 0.0)
    _records(
        tmp_path,
        [
            ("none", 0.1, (0.78, 0.56, 0.53, 0.03, 0.0, 0.0)),
            *[(d, e, robust) for d in ("wr_fgsm", "fgsm-rs", "pgd", "trades") for e in (0.1, 0.3)],
        ],
    )
    write_report(tmp_path)
    header, rows = _defense_section((tmp_path / "report.md").read_text())
    assert header[5:12] == [
        "clean",
        "FGSM 0.1",
        "PGD 0.1",
        "worst case 0.1",
        "FGSM 0.3",
        "PGD 0.3",
        "worst case 0.3",
    ]
    assert header[-1] == "what holds"
    got = sorted((r[2].split(" ")[0], r[3]) for r in rows)
    want = [("FGSM-RS", "0.1"), ("FGSM-RS", "0.3"), ("PGD-AT", "0.1"), ("PGD-AT", "0.3")]
    want += [("TRADES", "0.1"), ("TRADES", "0.3"), ("WR_FGSM", "0.1"), ("WR_FGSM", "0.3")]
    assert got == sorted([*want, ("standard", "-")])  # no training epsilon (issue 25.4)
    standard = next(r for r in rows if r[2] == "standard")
    assert standard[8] == "53.0" and standard[-1] == (
        "At 0.1 holds under FGSM only, not PGD or the worst case; at 0.3 nothing holds."
    )
    pgd = next(r for r in rows if r[2].startswith("PGD-AT"))
    assert pgd[-1] == "Holds at 0.1 under every attack; at 0.3 nothing holds."


@pytest.fixture
def csv_root(mnist_1k):
    from tests.conftest import DATA

    return str(DATA / "mnist_1k.csv.gz")


@pytest.mark.slow
def test_reproduce_reports_every_defense_with_its_worst_case(tmp_path, csv_root):
    defenses = "wr_fgsm,fgsm-rs,pgd,trades"
    args = ["reproduce", "--dataset", "mnist-5k", "--root", csv_root, "--folds", "5"]
    args += ["--rounds", "1", "--sweep-rounds", "1", "--epochs", "1", "--limit", "60"]
    args += ["--a1s", "0.5", "--literal-a1s", "", "--epsilon", "0.1,0.3", "--eval-limit", "30"]
    args += ["--defenses", defenses, "--worst-case", "light", "--out", str(tmp_path)]
    assert main(args) == 0
    report = (tmp_path / "report.md").read_text()
    assert "Worst case: light: per image the worst of FGSM, PGD-20" in report
    header, rows = _defense_section(report)
    assert "worst case 0.3" in header and header[-1] == "what holds"
    names = ("standard", "WR_FGSM", "FGSM-RS", "PGD-AT", "TRADES")
    for name in names:  # one row per defense and training epsilon (standard: one)
        assert len([r for r in rows if r[2].startswith(name)]) == (1 if name == "standard" else 2)
    for r in rows:
        assert len(r) == len(header)
        assert re.fullmatch(r"\d+\.\d", r[8]) and re.fullmatch(r"\d+\.\d", r[11])
        assert r[-1].endswith(".") and ("holds" in r[-1] or "nothing" in r[-1])
    record = json.loads(next((tmp_path / "runs").glob("*pgd_a1-1.00_eps0.3*.json")).read_text())
    assert record["robust"]["n"] == 30
    assert set(record["robust"]["attacks"]["worst-case"]) == {"0.1", "0.3"}
