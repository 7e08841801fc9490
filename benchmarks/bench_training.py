"""Training throughput: defense none vs WR_FGSM vs a naive WR_FGSM loop. Prints figures only.

All three train the same model on the same real digits (the bundled 5000 MNIST)
for the same batches, in one run:

* ``none``: ``core.training.loop.train`` with no defense (1 forward + 1 backward per batch);
* ``wr_fgsm``: ``core.training.loop.train`` with WR_FGSM, whose FGSM example comes from
  the clean pass's own input gradient (2 forwards + 2 backwards; goal <= 2.1x none);
* ``naive``: the textbook loop that calls a separate attack (``core.attacks.gradient.fgsm``:
  its own forward + backward) before the two training passes (3 + 2 per batch).

Run: ``python benchmarks/bench_training.py [--arch small_cnn] [--images 2000] [--epochs 2]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fgsm_studio.core.attacks.gradient import fgsm
from fgsm_studio.core.data.loaders import load_dataset
from fgsm_studio.core.measure.evaluation import iterate_batches
from fgsm_studio.core.models.networks import build, regularized_weights
from fgsm_studio.core.training.config import TrainConfig
from fgsm_studio.core.training.loop import train


def model_for(args, data):
    torch.manual_seed(0)
    mean, std = data.mean_std()
    return build(args.arch, num_classes=10, in_channels=1, image_size=28, mean=mean, std=std)


def core_rate(args, data, defense: str) -> float:
    model = model_for(args, data)
    config = TrainConfig(
        arch=args.arch, defense=defense, epochs=args.epochs, patience=args.epochs, device="cpu"
    )
    return (
        sum(e.images_per_s for e in _epochs(train(model, data, data.subset(range(64)), config)))
        / args.epochs
    )


def _epochs(gen):
    from fgsm_studio.core.training.config import EpochMetrics

    return [e for e in gen if isinstance(e, EpochMetrics)]


def naive_rate(args, data) -> float:
    model = model_for(args, data)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    weights = regularized_weights(model)
    gen = torch.Generator().manual_seed(0)
    rates = []
    for _ in range(args.epochs):
        t0, n = time.perf_counter(), 0
        model.train()
        for x, y in iterate_batches(data, 32, shuffle=True, generator=gen):
            x_adv = fgsm(model, x, y, 0.1)  # a separate attack pass
            model.train()
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y) + 0.5 * F.cross_entropy(model(x_adv), y)
            loss = loss + 0.5 * 5e-4 * sum((w**2).sum() for w in weights)
            loss.backward()
            opt.step()
            n += len(y)
        rates.append(n / (time.perf_counter() - t0))
    return sum(rates) / len(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="small_cnn")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()
    data = load_dataset("mnist-5k").subset(range(args.images))
    print(
        f"{args.arch}, {args.images} real MNIST digits, batch 32, {args.epochs} epochs, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    none = core_rate(args, data, "none")
    wr = core_rate(args, data, "wr_fgsm")
    naive = naive_rate(args, data)
    print(f"defense none   : {none:8.0f} images/s")
    print(
        f"WR_FGSM (core) : {wr:8.0f} images/s   epoch time {none / wr:.2f}x a clean epoch (goal <= 2.1x)"
    )
    print(
        f"WR_FGSM (naive): {naive:8.0f} images/s   epoch time {none / naive:.2f}x a clean epoch; "
        f"core is {wr / naive:.2f}x faster"
    )


if __name__ == "__main__":
    main()
