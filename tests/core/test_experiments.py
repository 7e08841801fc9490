"""core.runs.experiments: execute as a generator, typed records, the resume key, --out safety."""

from __future__ import annotations

import os

import pytest

from fgsm_studio.core.measure import evaluation
from fgsm_studio.core.measure.evaluation import EvalProgress, EvalResult, MetricsError, drive
from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.runs.experiments import best_so_far_path, execute
from fgsm_studio.core.runs.spec import RunRecord, RunSpec
from fgsm_studio.core.training.config import BatchProgress, EpochMetrics, TrainConfig
from tests.conftest import DATA

ROOT = str(DATA / "mnist_1k.csv.gz")


def _spec(**options) -> RunSpec:
    base = dict(dataset="mnist-5k", root=ROOT, folds=5, epochs=1, limit=200, seed=0)
    base.update(eval_attacks=("fgsm",), eval_limit=64, device="cpu")
    base.update(options)
    return RunSpec.of(**base)


def test_run_spec_composes_a_train_config():
    spec = RunSpec.of(a1=0.3, defense="wr_fgsm", fold=2, eval_epsilons=[0.1, 0.2])
    assert spec.train == TrainConfig(a1=0.3, defense="wr_fgsm", patience=4)
    assert spec.fold == 2 and spec.eval_epsilons == (0.1, 0.2) and spec.a2 == 0.7
    assert RunSpec.from_dict(spec.to_dict()) == spec
    old = {"dataset": "mnist-5k", "arch": "small_cnn", "defense": "none", "a1": 0.5, "fold": 1}
    assert RunSpec.from_dict(old) == RunSpec.of(fold=1)  # records written before the change


def test_resume_key_covers_every_option_that_changes_a_result(tmp_path):
    """Issue 11.14: --root, --batch-size, --eval-limit and --attacks were not in the key."""
    base = RunSpec.of(root=str(tmp_path / "a"))
    changed = [
        RunSpec.of(root=str(tmp_path / "b")),
        RunSpec.of(root=str(tmp_path / "a"), batch_size=64),
        RunSpec.of(root=str(tmp_path / "a"), eval_limit=100),
        RunSpec.of(root=str(tmp_path / "a"), eval_attacks=("fgsm",)),
        RunSpec.of(root=str(tmp_path / "a"), eval_epsilons=(0.2,)),
        RunSpec.of(root=str(tmp_path / "a"), patience=9),
        RunSpec.of(root=str(tmp_path / "a"), reg_lambda=1e-3),
        RunSpec.of(root=str(tmp_path / "a"), optimizer="sgd"),
    ]
    keys = {s.key() for s in changed}
    assert base.key() not in keys and len(keys) == len(changed)
    # the device does not change the result, and the same folder spelled differently is the same
    assert RunSpec.of(root=str(tmp_path / "a"), device="cpu").key() == base.key()
    assert RunSpec.of(root=str(tmp_path / "x" / ".." / "a")).key() == base.key()


def test_eval_result_round_trips_and_refuses_bad_metrics():
    ev = EvalResult(n=10, clean=0.9, attacks={"fgsm": {0.1: 0.5, 0.3: 0.2}}, held_out="test split")
    d = ev.to_dict()
    assert d["attacks"]["fgsm"] == {"0.1": 0.5, "0.3": 0.2}  # the bundled cards' format
    assert EvalResult.from_dict(d) == ev and ev.acc("fgsm", 0.3) == 0.2
    assert ev.get("pgd", 0.1) is None and EvalResult.from_card({}) is None
    with pytest.raises(MetricsError):
        EvalResult.from_dict({"n": 1, "clean": 0.5, "attacks": {"fgsm": {"0.1": "high"}}})


def test_execute_is_a_generator_that_returns_a_typed_record(tmp_path):
    out = tmp_path / "m.safetensors"
    events = []
    record = drive(execute(_spec(), tmp_path, save_model=out, name="tiny"), events.append)
    kinds = {type(e) for e in events}
    assert {BatchProgress, EpochMetrics, EvalProgress} <= kinds
    assert isinstance(record, RunRecord) and record.saved_to == str(out)
    assert record.test.held_out == "fold 0 of 5" and record.test.n == 64
    assert RunRecord.from_dict(record.to_dict()) == record
    _, card = load(out)
    assert EvalResult.from_card(card.metrics) == record.test and card.name == "tiny"
    assert not best_so_far_path(out).exists()  # the finished model replaced it
    # resumed: the JSON under runs/ is returned without training again
    again = drive(execute(_spec(), tmp_path))
    assert again.test == record.test and (tmp_path / "runs" / f"{record.key}.json").is_file()


def test_stop_during_evaluation_is_honoured_within_one_batch(monkeypatch):
    """Issue 11.8: stopping while the held-out set is evaluated ends at the batch in hand."""
    monkeypatch.setitem(evaluation.evaluation.__kwdefaults__, "batch_size", 8)
    taken = []
    real = evaluation.iterate_batches

    def counting(dataset, batch_size, **kw):
        for batch in real(dataset, batch_size, **kw):
            taken.append(batch_size)
            yield batch

    monkeypatch.setattr(evaluation, "iterate_batches", counting)
    gen = execute(_spec(eval_limit=None, eval_attacks=("fgsm", "pgd")))
    for event in gen:
        if isinstance(event, EvalProgress) and not event.held_out.startswith("validation"):
            before = len(taken)
            gen.close()  # what the window's Stop does
            break
    assert len(taken) == before  # no batch was started after the stop
    assert event.done == 8 and event.total == 200  # 24 more batches were not evaluated


def test_an_interrupted_run_leaves_out_alone(tmp_path):
    """Issue 11.4: an interrupted run must not replace --out with its epoch-1 model."""
    out = tmp_path / "finished.safetensors"
    drive(execute(_spec(), save_model=out, name="finished"))
    before = out.read_bytes()
    gen = execute(_spec(epochs=3, patience=3, seed=1), save_model=out, name="new")
    for event in gen:
        if isinstance(event, EpochMetrics):
            gen.close()  # interrupted after epoch 1
            break
    assert out.read_bytes() == before
    _, card = load(best_so_far_path(out))  # the interrupted run's best epoch, in its own file
    assert card.name == "new" and card.training["best_epoch"] == 1


def test_out_must_be_a_regular_file(tmp_path):
    """Issue 11.4: --out /dev/null replaced the device node; nothing but a file is written."""
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    link = tmp_path / "null.safetensors"
    link.symlink_to(os.devnull)
    for bad in (fifo, link, tmp_path):
        with pytest.raises(ValueError, match="not a regular file"):
            next(execute(_spec(), save_model=bad))
    assert fifo.is_fifo() and link.is_symlink()
