"""core.training.loop: a tiny real run, WR_FGSM's effect, stop, NaN, checkpoints."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from fgsm_studio.core.data.loaders import folds
from fgsm_studio.core.measure.evaluation import EvalProgress, EvalResult, evaluate, iterate_batches
from fgsm_studio.core.models.card import ModelCard
from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.models.networks import build, regularized_weights
from fgsm_studio.core.training.config import BatchProgress, EpochMetrics, TrainConfig, TrainingError
from fgsm_studio.core.training.loop import run, train


def _model(seed=0):
    torch.manual_seed(seed)
    return build("small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31])


@pytest.fixture(scope="module")
def split(mnist_1k):
    f = folds(mnist_1k, k=5, seed=1)[0]
    return mnist_1k.subset(f.train), mnist_1k.subset(f.val), mnist_1k.subset(f.test)


@pytest.mark.slow  # learning, not plumbing: two real 6-epoch runs (10-22 s on two cores)
def test_wr_fgsm_beats_standard_under_fgsm(split):
    train_set, val, test = split
    results = {}
    for defense in ("none", "wr_fgsm"):
        model = _model()
        run(
            model,
            train_set,
            val,
            TrainConfig(defense=defense, epochs=6, epsilon=0.2, seed=0, patience=6),
        )
        results[defense] = evaluate(model, test, attacks=("fgsm",), epsilons=(0.2,))
    std, wr = results["none"], results["wr_fgsm"]
    assert std.clean > 0.8 and wr.clean > 0.75
    assert wr.acc("fgsm", 0.2) > std.acc("fgsm", 0.2) + 0.1


def test_events_and_metrics(split):
    train_set, val, _ = split
    events = []
    result = run(
        _model(),
        train_set,
        val,
        TrainConfig(defense="wr_fgsm", epochs=2),
        on_event=events.append,
    )
    epochs = [e for e in events if isinstance(e, EpochMetrics)]
    batches = [e for e in events if isinstance(e, BatchProgress)]
    evals = [e for e in events if isinstance(e, EvalProgress)]
    # a yield after every batch, training and validation alike: a consumer can stop anywhere
    assert [e.epoch for e in epochs] == [1, 2] and len(batches) == 2 * 19
    full = [e for e in evals if e.held_out == "validation"]
    assert full and full[-1].done == full[-1].total == len(val)
    e = epochs[-1]
    assert e.loss_adv > 0 and e.loss_reg > 0 and e.images_per_s > 0
    assert e.loss == pytest.approx(e.loss_ori + 0.5 * e.loss_adv + 0.5 * e.loss_reg, rel=1e-4)
    assert 0 <= e.val_fgsm_acc <= e.val_acc + 0.2
    assert result.best_epoch in (1, 2) and len(result.history) == 2


def test_literal_penalty_is_much_larger_than_scaled(split):
    train_set, val, _ = split
    losses = {}
    for reg in ("scaled", "literal"):
        r = run(_model(), train_set, val, TrainConfig(defense="wr_fgsm", a1=0.5, reg=reg, epochs=1))
        losses[reg] = r.history[0].loss_reg
    assert losses["literal"] > 100 * losses["scaled"]


class _Counting(Dataset):
    """A dataset that counts the batches taken from it."""

    def __init__(self, data):
        self.data, self.batches = data, 0

    def __len__(self):
        return len(self.data)

    def batch(self, idx):
        self.batches += 1
        return self.data.batch(idx)


def test_stop_is_honoured_within_one_batch(split):
    train_set, val, _ = split
    counting, model = _Counting(train_set), _model()
    gen = train(model, counting, val, TrainConfig(epochs=5))
    seen = [next(gen) for _ in range(3)]
    gen.close()  # the consumer stops iterating
    assert counting.batches == 3  # no batch ran after the request
    assert all(isinstance(e, BatchProgress) for e in seen)
    assert not model.training and all(p.grad is None for p in model.parameters())


def test_a_training_set_too_small_for_a_batch_says_so(split):
    """Issue 11.20: a limit of 1 is not 'stopped before the first epoch finished'."""
    train_set, val, _ = split
    with pytest.raises(TrainingError, match="training set has 1 image"):
        run(_model(), train_set.subset([0]), val, TrainConfig(epochs=1))
    with pytest.raises(TrainingError, match="validation set is empty"):
        run(_model(), train_set, val.subset([]), TrainConfig(epochs=1))


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_penalty_as_weight_decay_equals_backpropagating_the_term(split, optimizer):
    """The optimizer's weight decay on W gives the same weights as Eq. 8's ||W||^2 term
    back-propagated through autograd (what the private torch._foreach_add_ did)."""
    train_set, val, _ = split
    small = train_set.subset(range(96))
    config = TrainConfig(
        defense="wr_fgsm", a1=0.5, reg="literal", epochs=1, optimizer=optimizer, lr=1e-3
    )
    trained = _model()
    run(trained, small, val.subset(range(8)), config)

    ref = _model()
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    if optimizer == "adam":
        opt = torch.optim.Adam(ref.parameters(), lr=config.lr)
    else:
        opt = torch.optim.SGD(ref.parameters(), lr=config.lr, momentum=0.9)
    weights = regularized_weights(ref)
    ref.train()
    for x, y in iterate_batches(small, config.batch_size, shuffle=True, generator=gen):
        opt.zero_grad(set_to_none=True)
        x.requires_grad_(True)
        loss = F.cross_entropy(ref(x), y)
        loss.backward(retain_graph=False)
        x_adv = (x.detach() + config.epsilon * x.grad.sign()).clamp(0, 1)
        penalty = config.a2 * sum(w.square().sum() for w in weights)  # lambda = 1 (literal)
        (config.a1 * F.cross_entropy(ref(x_adv), y) + penalty).backward()
        opt.step()
    for a, b in zip(trained.state_dict().values(), ref.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


class _NaNData(Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, i):
        return torch.full((1, 28, 28), float("nan")), i % 10


def test_nan_loss_stops_with_a_clear_error(split):
    _, val, _ = split
    with pytest.raises(TrainingError, match="loss became nan"):
        run(_model(), _NaNData(), val, TrainConfig(epochs=1))


def test_best_checkpoint_saved_with_card(split, tmp_path):
    train_set, val, test = split
    card = ModelCard(
        arch="small_cnn",
        num_classes=10,
        class_names=[str(i) for i in range(10)],
        in_channels=1,
        image_size=28,
        mean=[0.13],
        std=[0.31],
        dataset="mnist-1k",
    )
    path = tmp_path / "best.safetensors"
    model = _model()
    result = run(
        model, train_set, val, TrainConfig(defense="wr_fgsm", epochs=2), save_path=path, card=card
    )
    loaded, saved = load(path)
    assert result.saved_to == path
    assert saved.training["defense"] == "wr_fgsm" and saved.training["a2"] == 0.5
    assert saved.training["best_epoch"] == result.best_epoch
    metrics = EvalResult.from_dict(saved.metrics)
    assert metrics.held_out == "validation"
    assert metrics.clean == pytest.approx(result.history[result.best_epoch - 1].val_acc)
    x, _ = test.batch(torch.arange(16))
    with torch.no_grad():
        assert torch.equal(model(x).argmax(1), loaded(x).argmax(1))


def test_config_validation():
    for bad in (
        dict(defense="magic"),
        dict(a1=1.5),
        dict(epochs=0),
        dict(epochs=101),
        dict(reg="x"),
    ):
        with pytest.raises(ValueError, match="must|required"):
            TrainConfig(**bad).validate()
    assert TrainConfig(a1=0.3).a2 == 0.7


def test_ema_weights_are_what_is_validated_and_saved(split, tmp_path):
    from fgsm_studio.core.training.trainer import _ema_update

    # the average moves toward the weights by (1 - decay) per step (after its warm-up)
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = a.weight.detach().clone()
    _ema_update(a, b, 0.9, step=1000)
    assert torch.allclose(a.weight, 0.9 * before + 0.1 * b.weight)
    train_set, val, _ = split
    card = ModelCard(
        arch="small_cnn_wide",
        num_classes=10,
        class_names=[str(i) for i in range(10)],
        in_channels=1,
        image_size=28,
        mean=[0.13],
        std=[0.31],
        dataset="mnist-1k",
    )
    torch.manual_seed(0)
    model = build(
        "small_cnn_wide", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31]
    )
    path = tmp_path / "ema.safetensors"
    config = TrainConfig(epochs=1, ema=0.99, augment="digits-elastic")
    result = run(model, train_set, val, config, save_path=path, card=card)
    loaded, saved = load(path)
    assert saved.arch == "small_cnn_wide" and saved.training["ema"] == 0.99
    assert EvalResult.from_dict(saved.metrics).clean == pytest.approx(result.history[0].val_acc)
    x, _ = val.batch(torch.arange(16))
    with torch.no_grad():  # the model leaves with the saved (averaged) weights
        assert torch.equal(model(x), loaded(x)) or torch.allclose(model(x), loaded(x), atol=1e-2)
    with pytest.raises(ValueError, match="ema"):
        TrainConfig(ema=1.0).validate()
