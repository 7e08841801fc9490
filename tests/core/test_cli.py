"""fgsm-studio-cli end to end on a tiny real dataset: train, evaluate, reproduce, resume."""

from __future__ import annotations

import json

import pytest

from fgsm_studio.core.cli.main import main
from fgsm_studio.core.models.checkpoint import load


@pytest.fixture
def csv_root(mnist_1k):
    from tests.conftest import DATA

    return str(DATA / "mnist_1k.csv.gz")


def test_train_then_evaluate(tmp_path, csv_root, capsys):
    out = tmp_path / "m.safetensors"
    code = main(
        [
            "train",
            "--dataset",
            "mnist-5k",
            "--root",
            csv_root,
            "--folds",
            "5",
            "--epochs",
            "1",
            "--defense",
            "wr_fgsm",
            "--a1",
            "0.5",
            "--epsilon",
            "0.1",
            "--out",
            str(out),
            "--name",
            "tiny",
            "--eval-epsilons",
            "0.1,0.2",
        ]
    )
    assert code == 0
    model, card = load(out)
    assert (
        card.name == "tiny" and card.training["defense"] == "wr_fgsm" and card.training["a2"] == 0.5
    )
    assert set(card.metrics["attacks"]["fgsm"]) == {"0.1", "0.2"}
    assert card.metrics["n"] == 200
    assert (
        main(
            [
                "evaluate",
                str(out),
                "--root",
                csv_root,
                "--split",
                "all",
                "--epsilons",
                "0.1",
                "--attacks",
                "fgsm",
                "--limit",
                "100",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "clean:" in text and "eps=0.1" in text and "fgsm" in text


def test_reproduce_writes_report_and_resumes(tmp_path, csv_root):
    args = [
        "reproduce",
        "--dataset",
        "mnist-5k",
        "--root",
        csv_root,
        "--folds",
        "5",
        "--rounds",
        "2",
        "--sweep-rounds",
        "1",
        "--epochs",
        "1",
        "--a1s",
        "0,0.5,1",
        "--literal-a1s",
        "0.5",
        "--epsilon",
        "0.1,0.2",
        "--eval-limit",
        "60",
        "--worst-case",
        "off",  # measured in test_report_defenses.py; this test is about resuming
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    runs = sorted((tmp_path / "runs").glob("*.json"))
    # 2 standard + 3 sweep + 1 literal + Table 1 (best a1 at 0.1: 1 new round; at 0.2: 2 rounds)
    assert len(runs) == 9
    report = (tmp_path / "report.md").read_text()
    assert (
        "Figure 2" in report
        and "Table 1" in report
        and "fgsm@0.2" in report
        and "literal" in report
    )
    assert (tmp_path / "figure2.png").stat().st_size > 1000
    assert list(tmp_path.glob("figure3_*.png"))
    assert "clean" in (tmp_path / "summary.csv").read_text()
    stamps = {p.name: p.stat().st_mtime_ns for p in runs}
    runs[0].unlink()  # as if interrupted before this run finished
    assert main(args) == 0
    after = {p.name: p.stat().st_mtime_ns for p in sorted((tmp_path / "runs").glob("*.json"))}
    assert after.keys() == stamps.keys()
    changed = [k for k in after if after[k] != stamps[k]]
    assert changed == [runs[0].name]
    record = json.loads(runs[1].read_text())
    assert record["test"]["n"] == 60


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert (
        main(
            [
                "train",
                "--dataset",
                "cifar10",
                "--root",
                str(tmp_path / "none"),
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 10)
    assert main(["evaluate", str(tmp_path / "bad.safetensors")]) == 2


def test_train_select_by_pgd_and_threads_are_recorded(tmp_path, csv_root, capsys):
    """Issue 14 items 9 and 10: --select-by goes to the card, --threads to torch (and
    issue 16: --lr-schedule to the card)."""
    import torch

    out = tmp_path / "m.safetensors"
    before = torch.get_num_threads()
    try:
        code = main(
            ["train", "--root", csv_root, "--folds", "5", "--epochs", "2", "--defense", "wr_fgsm"]
            + ["--a1", "1", "--epsilon", "0.3", "--select-by", "pgd", "--threads", "1"]
            + ["--lr-schedule", "cosine"]
            + ["--eval-limit", "50", "--attacks", "fgsm", "--out", str(out)]
        )
        assert code == 0 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    _, card = load(out)
    assert card.training["select_by"] == "pgd" and card.training["selected_by"] == "pgd"
    assert card.training["lr_schedule"] == "cosine"
    assert "PGD" in capsys.readouterr().err
    assert main(["train", "--out", str(out), "--select-by", "fgsm"]) == 2
    assert "--select-by" in capsys.readouterr().err
