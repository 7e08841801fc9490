"""Attack-core benchmark: prints figures, asserts nothing.

1. FGSM on a batch: ``core.attacks.gradient.fgsm`` against a textbook reference loop
   (per-image forward/backward with ``loss.backward()`` and ``x.grad``).
2. ``AttackSession.frame(eps)`` against one plain forward pass on the same
   image (goal: ratio <= 1.2), the cost behind each slider move.

Run: ``python benchmarks/bench_attacks.py [--arch small_cnn] [--repeats 200]``.
Ratios are measured in the same run, so they hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from fgsm_studio.core.attacks.gradient import fgsm
from fgsm_studio.core.explorer.session import AttackSession
from fgsm_studio.core.models.networks import build


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def reference_fgsm(model, images, labels, eps):
    """The textbook loop: one image at a time, loss.backward(), x.grad."""
    model.eval()
    advs = []
    for x, y in zip(images, labels, strict=True):
        x = x[None].clone().requires_grad_(True)
        loss = F.cross_entropy(model(x), y[None])
        model.zero_grad()
        loss.backward()
        advs.append((x + eps * x.grad.sign()).clamp(0, 1).detach())
    return torch.cat(advs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="small_cnn")
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    torch.manual_seed(0)
    c = args.channels
    model = build(
        args.arch,
        num_classes=10,
        in_channels=c,
        image_size=args.size,
        mean=[0.5] * c,
        std=[0.25] * c,
    ).eval()
    x = torch.rand(args.batch, c, args.size, args.size)
    y = torch.randint(0, 10, (args.batch,))
    print(
        f"model {args.arch}, input {c}x{args.size}x{args.size}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )

    batch_reps = max(3, args.repeats // 20)
    ours = timed(lambda: fgsm(model, x, y, 0.1), batch_reps)
    ref = timed(lambda: reference_fgsm(model, x, y, 0.1), batch_reps)
    same = torch.equal(fgsm(model, x, y, 0.1), reference_fgsm(model, x, y, 0.1))
    m_ours, m_ref = statistics.median(ours), statistics.median(ref)
    print(
        f"FGSM batch of {args.batch}: core {m_ours * 1e3:.2f} ms, reference loop {m_ref * 1e3:.2f} ms, "
        f"speed-up {m_ref / m_ours:.1f}x, identical output: {same}"
    )

    image = x[0]
    session = AttackSession(model, image)
    eps = iter([0.001 * (i % 300) for i in range(10**6)])
    frame = timed(lambda: session.frame(next(eps)), args.repeats)
    with torch.no_grad():
        fwd = timed(lambda: model(image[None]).softmax(1), args.repeats)
    m_frame, m_fwd = statistics.median(frame), statistics.median(fwd)
    print(
        f"frame(eps): median {m_frame * 1e3:.3f} ms, p95 {sorted(frame)[int(0.95 * len(frame))] * 1e3:.3f} ms; "
        f"plain forward {m_fwd * 1e3:.3f} ms; ratio {m_frame / m_fwd:.2f} (goal <= 1.2)"
    )
    sweep = timed(lambda: session.sweep(torch.linspace(0, 0.3, 61)), max(3, args.repeats // 10))
    print(f"sweep of 61 epsilons in one batch: {statistics.median(sweep) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
