"""Issue 14 items 7-9: the PGD monitor each epoch, the "only looks robust" warning, select_by."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from fgsm_studio.core.data.loaders import folds
from fgsm_studio.core.devices import configure_threads
from fgsm_studio.core.measure.evaluation import drive
from fgsm_studio.core.models.networks import build
from fgsm_studio.core.runs.experiments import execute
from fgsm_studio.core.runs.spec import RunSpec
from fgsm_studio.core.training.config import EpochMetrics, TrainConfig, training_info
from fgsm_studio.core.training.loop import run
from fgsm_studio.core.training.robust_monitor import findings
from fgsm_studio.core.training.selection import monitor_size


def _epoch(epoch, clean, fgsm, pgd):
    return EpochMetrics(
        epoch=epoch,
        epochs=10,
        loss=1.0,
        loss_ori=1.0,
        loss_adv=1.0,
        loss_reg=0.0,
        train_acc=clean,
        val_acc=clean,
        val_fgsm_acc=fgsm,
        score=clean,
        is_best=False,
        images_per_s=100.0,
        elapsed_s=1.0,
        val_pgd_acc=pgd,
    )


# Recorded from real runs on the bundled digits (clean, FGSM, PGD at the training epsilon).
FGSM_EPS_03 = [(0.21, 0.10, 0.10), (0.65, 0.22, 0.01), (0.77, 0.42, 0.01), (0.87, 0.49, 0.00)]
COLLAPSE = [(0.90, 0.60, 0.45), (0.93, 0.70, 0.52), (0.95, 0.88, 0.04)]
LEAKING = [(0.80, 0.70, 0.60), (0.85, 0.93, 0.70)]
HEALTHY = [(0.60, 0.30, 0.22), (0.85, 0.55, 0.45), (0.92, 0.68, 0.58), (0.94, 0.72, 0.62)]


def _history(rows):
    return [_epoch(i + 1, *row) for i, row in enumerate(rows)]


def test_findings_name_each_problem_in_plain_words():
    assert [f.kind for f in findings(_history(FGSM_EPS_03))] == ["fgsm-only"]
    (gap,) = findings(_history(FGSM_EPS_03))
    assert "49%" in gap.text and "0%" in gap.text and "PGD training" in gap.advice
    kinds = [f.kind for f in findings(_history(COLLAPSE))]
    assert kinds == ["fgsm-only", "pgd-collapse"]
    collapse = findings(_history(COLLAPSE))[1]
    assert collapse.epoch == 3 and "52%" in collapse.text and "catastrophic" in collapse.text
    assert [f.kind for f in findings(_history(LEAKING))] == ["label-leaking"]
    assert findings(_history(HEALTHY)) == []
    assert findings([]) == []
    # standard training (no L_adv) is not a defense: FGSM far above PGD is no finding there
    assert findings([dataclasses.replace(e, loss_adv=0.0) for e in _history(COLLAPSE)]) == []
    # a record from before the monitor (no PGD figure) can still show label leaking only
    old = [dataclasses.replace(e, val_pgd_acc=None) for e in _history(LEAKING)]
    assert [f.kind for f in findings(old)] == ["label-leaking"]


@pytest.fixture(autouse=True)
def _cli_threads():
    """Train on the threads the CLI takes: torch's default oversubscribes a busy machine."""
    before = torch.get_num_threads()
    configure_threads("cli")
    yield
    torch.set_num_threads(before)


def _model():
    torch.manual_seed(0)
    return build("small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31])


@pytest.fixture(scope="module")
def split(mnist_1k):
    f = folds(mnist_1k, k=5, seed=1)[0]
    return mnist_1k.subset(f.train), mnist_1k.subset(f.val)


def test_each_epoch_measures_pgd_on_a_fixed_subset_without_changing_training(split):
    train_set, val = split
    cfg = TrainConfig(defense="wr_fgsm", epochs=2, epsilon=0.2, patience=2)
    a, b = _model(), _model()
    ra = run(a, train_set, val, cfg)
    run(b, train_set, val, dataclasses.replace(cfg, monitor_steps=2, monitor_images=30))
    for h in ra.history:
        assert 0.0 <= h.val_pgd_acc <= h.val_fgsm_acc + 0.2 and h.monitor_s > 0 and h.train_s > 0
    # the monitor draws its random start from its own seed: training is the same either way
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(pa, pb)
    # and it is deterministic
    rc = run(_model(), train_set, val, cfg)
    assert [h.val_pgd_acc for h in rc.history] == [h.val_pgd_acc for h in ra.history]
    assert monitor_size(4000, 500, cfg) == 100 and monitor_size(800, 60, cfg) == 60


def test_select_by_pgd_keeps_the_epoch_with_the_best_pgd_accuracy(split):
    train_set, val = split
    cfg = TrainConfig(defense="wr_fgsm", a1=1.0, epochs=3, epsilon=0.3, patience=3)
    result = run(_model(), train_set, val, dataclasses.replace(cfg, select_by="pgd"))
    pgd = [h.val_pgd_acc for h in result.history]
    assert [h.score for h in result.history] == pgd
    assert result.best_epoch == 1 + pgd.index(max(pgd))
    auto = run(_model(), train_set, val, cfg)
    assert [h.score for h in auto.history] == [
        (h.val_acc + h.val_fgsm_acc) / 2 for h in auto.history
    ]
    assert training_info(dataclasses.replace(cfg, select_by="pgd"), 1)["selected_by"] == "pgd"
    assert training_info(cfg, 1)["selected_by"] == "clean+fgsm"
    with pytest.raises(ValueError, match="select_by"):
        TrainConfig(select_by="fgsm").validate()


def test_select_by_is_in_the_key_only_when_it_changes_the_choice():
    base = RunSpec.of(defense="wr_fgsm")
    assert RunSpec.of(defense="wr_fgsm", select_by="clean+fgsm").key() == base.key()
    assert RunSpec.of(defense="wr_fgsm", select_by="pgd").key() != base.key()
    assert RunSpec.of(select_by="clean").key() == RunSpec.of().key()


@pytest.mark.slow  # real training, 3 epochs (6-12 s on two cores)
def test_a_real_fgsm_run_at_eps_03_raises_the_warning():
    """WR_FGSM with a1 = 1 (FGSM training) at eps 0.3: FGSM accuracy climbs, PGD stays near 0."""
    spec = RunSpec.of(
        defense="wr_fgsm",
        a1=1.0,
        epsilon=0.3,
        epochs=3,
        patience=3,
        limit=1000,
        device="cpu",
        eval_limit=100,
    )
    record = drive(execute(spec))
    assert "fgsm-only" in [f.kind for f in findings(record.history)]
    assert all(h.val_pgd_acc is not None for h in record.history)


@pytest.mark.slow  # real PGD training, 4 epochs (14-32 s on two cores)
def test_a_real_pgd_trained_run_does_not_raise_the_warning():
    """PGD training (Madry et al.) at the same eps 0.3: FGSM and PGD accuracy rise together."""
    spec = RunSpec.of(
        defense="pgd",
        a1=1.0,
        epsilon=0.3,
        epochs=4,
        patience=4,
        limit=1000,
        device="cpu",
        eval_limit=100,
        attack_steps=5,
    )
    record = drive(execute(spec))
    assert findings(record.history) == []


def test_the_default_best_epoch_is_never_one_whose_pgd_accuracy_collapsed(split, monkeypatch):
    """Issue 24, 3: clean + FGSM rising while the monitor sees PGD collapse (catastrophic
    overfitting) must not make the collapsed epoch the best one."""
    from fgsm_studio.core.training import selection
    from fgsm_studio.core.training.selection import pgd_collapsed

    assert pgd_collapsed(0.04, 0.52) and not pgd_collapsed(0.45, 0.52)
    assert not pgd_collapsed(0.05, 0.2)  # a fall of less than 0.2 is noise, not a collapse
    seen = [0.45, 0.52, 0.04]  # what the monitor reports, epoch by epoch (COLLAPSE above)

    def monitor(*args):
        return seen.pop(0)
        yield  # (a generator, as the real one)

    scores = [0.80, 0.85, 0.90]  # clean + FGSM, rising to the last epoch (as in COLLAPSE)
    monkeypatch.setattr(selection, "pgd_accuracy", monitor)
    monkeypatch.setattr(selection, "score", lambda *args: scores.pop(0))
    train_set, val = split
    cfg = TrainConfig(defense="wr_fgsm", a1=1.0, epochs=3, epsilon=0.3, patience=3)
    result = run(_model(), train_set, val, cfg)
    assert [h.val_pgd_acc for h in result.history] == [0.45, 0.52, 0.04]
    assert result.best_epoch == 2 and not result.history[2].is_best
