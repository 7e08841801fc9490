"""core.runs.records: a run record is checked before the serial path, the Ray path or the report trusts it.

Issue 20, section 2: each damaged record below was trusted (``clean = 5.0`` gave
"500.00", a copied record lost a row without a word, an edited spec put a run
that never happened in the report) or ended in a traceback.
"""

from __future__ import annotations

import json
import os

import pytest

from fgsm_studio.core.measure.evaluation import EvalResult
from fgsm_studio.core.reports.report import write_report
from fgsm_studio.core.runs import records
from fgsm_studio.core.runs.cluster import RunJob
from fgsm_studio.core.runs.records import FolderLock, RecordError, audit, read_record
from fgsm_studio.core.runs.spec import RunRecord, RunSpec


def _record(defense: str = "none", a1: float = 0.5, fold: int = 0) -> RunRecord:
    spec = RunSpec.of(defense=defense, a1=a1, fold=fold, eval_epsilons=(0.1,))
    test = EvalResult(n=50, clean=0.9, attacks={"fgsm": {0.1: 0.4}}, held_out=spec.held_out())
    return RunRecord(spec, test, n_train=400, n_val=50, best_epoch=1, train_seconds=3.0)


def _write(folder, record: RunRecord, name: str | None = None):
    path = folder / "runs" / f"{name or record.key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.to_dict()))
    return path


def _edit(path, change) -> None:
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))


def test_a_good_record_reads_back(tmp_path):
    r = _record()
    assert read_record(_write(tmp_path, r), r.spec) == r


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["test"].update(clean=5.0), "not an accuracy from 0 to 1"),
        (lambda d: d["test"].update(clean=-3.0), "not an accuracy from 0 to 1"),
        (lambda d: d["test"]["attacks"]["fgsm"].update({"0.1": float("nan")}), "finite"),
        (lambda d: d.pop("n_train"), "no field 'n_train'"),
        (lambda d: d.update(extra=1), "unknown field 'extra'"),
        (lambda d: d["test"].update(n=49.5), "whole number"),
        (lambda d: d["spec"]["train"].update(sneaky=1), "unknown field 'sneaky'"),
        (lambda d: d["spec"].update(dataset="cifar10"), "does not give its key"),
        (lambda d: d["spec"]["train"].update(epochs=50), "does not give its key"),
    ],
    ids=["clean=5", "clean=-3", "nan", "deleted", "extra", "n=49.5", "spec-extra", "cifar", "e50"],
)
def test_a_changed_record_is_named_and_refused(tmp_path, change, words):
    path = _write(tmp_path, _record())
    _edit(path, change)
    with pytest.raises(RecordError) as err:
        read_record(path)
    assert words in str(err.value) and path.name in str(err.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ('{"key": "x", "spec": {', "not complete JSON"),  # torn mid-write
        ("[]", "not a run record"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("null", "not a run record"),
    ],
    ids=["empty", "torn", "list", "deep", "null"],
)
def test_a_broken_file_is_one_sentence_not_a_traceback(tmp_path, text, words):
    path = tmp_path / "runs" / f"{_record().key}.json"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(RecordError) as err:
        read_record(path)
    assert words in str(err.value) and path.name in str(err.value)
    assert str(err.value).count(". ") == 0  # one sentence


def test_a_copied_record_does_not_stand_in_for_another_run(tmp_path):
    """The standard run's record copied over the WR_FGSM run's file."""
    std, wr = _record(), _record("wr_fgsm", 0.5)
    path = _write(tmp_path, std, name=wr.key)
    with pytest.raises(RecordError, match="not its file name's"):
        read_record(path)
    assert RunJob(str(tmp_path)).finished(wr.spec) is None  # the Ray path runs it again


def test_the_report_leaves_out_bad_records_and_says_which(tmp_path):
    good = [_record(), _record("wr_fgsm", 0.5)]
    for r in good:
        _write(tmp_path, r)
    (tmp_path / "runs" / "notes.json").write_text('{"todo": "ask about fold 3"}')
    bad = _write(tmp_path, _record(fold=1))
    _edit(bad, lambda d: d["test"].update(clean=5.0))
    md = write_report(tmp_path).read_text()
    assert "500.00" not in md and "notes.json" in md and bad.name in md
    assert "Records left out" in md


def test_audit_moves_bad_records_aside_and_stops_on_a_folder(tmp_path):
    good = _write(tmp_path, _record())
    bad = _write(tmp_path, _record(fold=1))
    bad.write_text("")
    said = audit(tmp_path)
    assert len(said) == 1 and bad.name in said[0] and "made again" in said[0]
    assert good.is_file() and not bad.exists()
    assert (tmp_path / "runs" / "rejected" / bad.name).is_file()
    (tmp_path / "runs" / f"{_record(fold=2).key}.json").mkdir()
    with pytest.raises(RecordError, match="is a folder.*nothing was run"):
        audit(tmp_path)


def test_a_second_process_on_the_same_folder_is_refused(tmp_path):
    with FolderLock(tmp_path):
        with pytest.raises(RecordError, match=rf"process {os.getpid()}\) is writing"):
            with FolderLock(tmp_path):
                pass
    with FolderLock(tmp_path):  # released
        pass


def test_records_are_written_through_a_temporary_file_of_their_own(tmp_path):
    r = _record()
    path = tmp_path / "runs" / f"{r.key}.json"
    other = path.with_suffix(".tmp")  # the name every process used before
    other.parent.mkdir()
    other.write_text("half of another process's record")
    records.write_record(path, r)
    assert read_record(path) == r and other.read_text().startswith("half")
    assert {p.name for p in path.parent.iterdir()} == {path.name, other.name}


TINY = [
    "reproduce", "--dataset", "mnist-5k", "--folds", "5", "--rounds", "1", "--sweep-rounds", "1",
    "--a1s", "0.5", "--literal-a1s", "", "--epochs", "1", "--limit", "100", "--eval-limit", "30",
    "--attacks", "fgsm", "--worst-case", "off", "--threads", "1",
]  # fmt: skip


def test_reproduce_remakes_a_damaged_record_and_refuses_a_folder_before_work(
    tmp_path, mnist_1k, capsys
):
    from fgsm_studio.core.cli.main import main
    from tests.conftest import DATA

    args = [*TINY, "--root", str(DATA / "mnist_1k.csv.gz"), "--out", str(tmp_path)]
    assert main(args) == 0
    runs = sorted((tmp_path / "runs").glob("*.json"))
    assert len(runs) == 2
    _edit(runs[0], lambda d: d["test"].update(clean=5.0))  # the serial path trusted this
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"{runs[0].name} cannot be trusted" in err and "made again" in err
    assert read_record(runs[0]).test.clean <= 1
    assert "500.00" not in (tmp_path / "report.md").read_text()
    # a record path that is a folder: refused before any training, naming it
    runs[1].unlink()
    runs[1].mkdir()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert runs[1].name in err and "nothing was run" in err and "epoch" not in err
    runs[1].rmdir()
    with FolderLock(tmp_path):  # another reproduce holds the folder
        assert main(args) == 2
    assert "is writing to" in capsys.readouterr().err


def test_train_refuses_a_records_path_that_is_a_folder_before_training(tmp_path, mnist_1k, capsys):
    from fgsm_studio.core.runs.experiments import execute
    from tests.conftest import DATA

    spec = RunSpec.of(root=str(DATA / "mnist_1k.csv.gz"), folds=5, epochs=1, limit=50, device="cpu")
    (tmp_path / "runs" / f"{spec.key()}.json").mkdir(parents=True)
    events = execute(spec, tmp_path)
    with pytest.raises(ValueError, match="is not a regular file"):
        next(events)  # before the first batch


def test_records_of_an_earlier_version_keep_their_key():
    """A spec as `reproduce` wrote it on 2026-12-03, before `ema` joined TrainConfig: an
    option added later must leave old keys alone, or every record of a results folder is
    refused (its spec no longer gives its key) and made again."""
    spec = {
        "train": {
            "arch": "small_cnn", "stem": "auto", "defense": "none", "a1": 0.5, "reg": "scaled",
            "reg_lambda": 0.0005, "epsilon": 0.1, "epochs": 3, "lr": 0.001,
            "lr_schedule": "constant", "optimizer": "adam", "batch_size": 32, "patience": 4,
            "seed": 0, "device": "auto", "amp": True, "augment": "none", "attack_steps": 10,
            "beta": 6.0, "warmup_epochs": 0.0, "select_by": "auto", "monitor_images": 0,
            "monitor_steps": 5, "a2": 0.5,
        },
        "dataset": "mnist-5k", "root": None, "fold": 0, "folds": 10, "limit": 1000,
        "eval_epsilons": [0.1], "eval_attacks": ["fgsm", "pgd"], "eval_limit": None,
        "worst_case": "light", "world_size": 1, "backend": "",
    }  # fmt: skip
    key = "mnist-5k_small_cnn_std_eps0.1_f0of10_e3_lr0.001_s0_n1000_929b2e52ba"
    assert RunSpec.from_dict(spec).key() == key
