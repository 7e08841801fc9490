"""``fgsm-studio-cli``: train, evaluate, sweep and reproduce, headless.

* ``train``: one model on one fold (or the train/test split), saved with its card;
* ``evaluate``: a checkpoint's accuracy, clean and under FGSM/BIM/PGD, per epsilon;
* ``sweep``: the paper's Figure 3, WR_FGSM accuracy for each (a1, a2 = 1 - a1);
* ``reproduce``: Figure 2 (standard models, clean vs FGSM), Figure 3 and Table 1
  (standard vs the best pair), written as CSV, PNG and ``report.md``.

Runs are resumable: each finished run is a JSON file in ``OUT/runs`` and is
skipped next time, so an interrupted ``reproduce`` picks up where it stopped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fgsm_studio.core.training import BatchProgress, EpochMetrics, TrainingError


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _words(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


class Progress:
    """A one-line progress display on stderr, e.g. ``[3/45] small_cnn ... epoch 4/10``."""

    def __init__(self, total: int) -> None:
        self.total, self.index, self.label, self.started = total, 0, "", time.perf_counter()

    def start(self, label: str) -> None:
        self.index += 1
        self.label = label
        self._print("starting")

    def __call__(self, event: object) -> None:
        if isinstance(event, BatchProgress):
            bar = "#" * int(20 * event.batch / event.batches)
            self._print(
                f"epoch {event.epoch} [{bar:<20}] loss {event.loss:.3f} {event.images_per_s:.0f} img/s"
            )
        elif isinstance(event, EpochMetrics):
            self._print(
                f"epoch {event.epoch}/{event.epochs} val {100 * event.val_acc:.1f}% "
                f"FGSM {100 * event.val_fgsm_acc:.1f}% {event.images_per_s:.0f} img/s"
            )

    def done(self, record: dict) -> None:
        t = record["test"]
        fg = ", ".join(
            f"{a}@{e}={100 * v:.1f}%" for a, d in t["attacks"].items() for e, v in d.items()
        )
        self._print(f"test clean {100 * t['clean']:.1f}%, {fg}", end="\n")

    def _print(self, text: str, end: str = "") -> None:
        mins = (time.perf_counter() - self.started) / 60
        line = f"\r[{self.index}/{self.total} {mins:.1f} min] {self.label}: {text}"
        sys.stderr.write(f"{line[:160]:<160}{end}")
        sys.stderr.flush()


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset", default="mnist-5k", help="mnist-5k, mnist, fashion-mnist, cifar10 or folder"
    )
    p.add_argument(
        "--root",
        default=None,
        help="dataset folder (not needed for mnist-5k / Debian's fashion-mnist)",
    )
    p.add_argument(
        "--folds",
        type=int,
        default=10,
        help="k of the k-fold protocol; 0 = the dataset's train/test split",
    )
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    p.add_argument(
        "--limit", type=int, default=None, help="train on at most this many images (quick runs)"
    )
    p.add_argument(
        "--eval-limit", type=int, default=None, help="evaluate on at most this many images"
    )
    p.add_argument(
        "--attacks", type=_words, default=("fgsm", "pgd"), help="evaluation attacks: fgsm,bim,pgd"
    )
    p.add_argument(
        "--reg",
        choices=("scaled", "literal"),
        default="scaled",
        help="WR_FGSM penalty: scaled = a2 * 5e-4 * ||W||^2, literal = a2 * ||W||^2",
    )


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="fgsm-studio-cli", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one model and save it with its model card")
    _common(t)
    t.add_argument("--arch", default="small_cnn")
    t.add_argument("--defense", choices=("none", "wr_fgsm"), default="none")
    t.add_argument("--a1", type=float, default=0.5, help="weight of the FGSM loss; a2 = 1 - a1")
    t.add_argument("--epsilon", type=float, default=0.1, help="training epsilon (pixel units)")
    t.add_argument(
        "--eval-epsilons", type=_floats, default=None, help="default: the training epsilon"
    )
    t.add_argument("--fold", type=int, default=0)
    t.add_argument("--name", default="", help="display name stored in the card")
    t.add_argument("--out", type=Path, required=True, help="checkpoint path (.safetensors)")
    t.add_argument(
        "--records",
        type=Path,
        default=None,
        help="also keep the run's JSON record here (a reproduce --out folder reuses it)",
    )

    e = sub.add_parser("evaluate", help="accuracy of a checkpoint, clean and under attack")
    e.add_argument("model", type=Path)
    e.add_argument("--dataset", default=None, help="default: the dataset in the model card")
    e.add_argument("--root", default=None)
    e.add_argument("--split", default="test", choices=("train", "test", "all"))
    e.add_argument("--epsilons", type=_floats, default=(0.05, 0.1, 0.2, 0.3))
    e.add_argument("--attacks", type=_words, default=("fgsm", "bim", "pgd"))
    e.add_argument("--limit", type=int, default=None)
    e.add_argument("--device", default="auto")

    for name, helptext in (
        ("sweep", "Figure 3: WR_FGSM accuracy per (a1, a2)"),
        ("reproduce", "Figures 2 and 3 and Table 1 of the paper"),
    ):
        s = sub.add_parser(name, help=helptext)
        _common(s)
        s.add_argument("--archs", type=_words, default=("small_cnn",))
        s.add_argument(
            "--epsilon",
            type=_floats,
            default=(0.1,),
            help="training/evaluation epsilons, e.g. 0.1,0.3",
        )
        s.add_argument(
            "--a1s",
            type=_floats,
            default=(0.0, 0.25, 0.5, 0.75, 1.0),
            help="a1 values of the sweep",
        )
        s.add_argument(
            "--rounds", type=int, default=None, help="run only the first N rounds (default: all)"
        )
        s.add_argument("--sweep-rounds", type=int, default=3, help="rounds per sweep point")
        s.add_argument(
            "--literal-a1s",
            type=_floats,
            default=(0.5,),
            help="also sweep these a1 with the literal penalty",
        )
        s.add_argument("--out", type=Path, required=True, help="output folder")
    c = sub.add_parser("cards", help="print (or write) the table of bundled model cards")
    c.add_argument(
        "--out", type=Path, default=None, help="write it here, e.g. resources/models/README.md"
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            return _train(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "cards":
            from fgsm_studio.core.bundled import cards_markdown

            text = cards_markdown()
            if args.out:
                args.out.write_text(text)
            else:
                print(text)
            return 0
        return _reproduce(args, sweep_only=args.command == "sweep")
    except KeyboardInterrupt:
        print(
            "\nInterrupted: finished runs are saved and will be skipped next time.", file=sys.stderr
        )
        return 130
    except (ValueError, TrainingError, OSError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2


def _train(args) -> int:
    from fgsm_studio.core.experiments import RunSpec, execute

    spec = RunSpec(
        dataset=args.dataset,
        arch=args.arch,
        defense=args.defense,
        a1=args.a1,
        reg=args.reg,
        epsilon=args.epsilon,
        fold=args.fold,
        folds=args.folds,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        patience=args.patience,
        seed=args.seed,
        limit=args.limit,
    )
    progress = Progress(1)
    progress.start(spec.key())
    import tempfile

    records = args.records or Path(tempfile.mkdtemp(prefix="fgsm-studio-"))
    record = execute(
        spec,
        records,
        eval_epsilons=args.eval_epsilons or (args.epsilon,),
        eval_attacks=args.attacks,
        root=args.root,
        device=args.device,
        save_model=args.out,
        eval_limit=args.eval_limit,
        on_event=progress,
        name=args.name,
    )
    progress.done(record)
    print(f"saved {args.out}")
    return 0


def _evaluate(args) -> int:
    from fgsm_studio.core.checkpoint import load
    from fgsm_studio.core.data import load_dataset
    from fgsm_studio.core.devices import pick_device
    from fgsm_studio.core.evaluation import evaluate

    model, card = load(args.model, device=pick_device(args.device))
    data = load_dataset(args.dataset or card.dataset, args.root, args.split)
    if (data.channels, data.image_size) != (card.in_channels, card.image_size):
        raise ValueError(
            f"The model expects {card.in_channels}x{card.image_size}px images; "
            f"{data.name} has {data.channels}x{data.image_size}px."
        )
    ev = evaluate(model, data, attacks=args.attacks, epsilons=args.epsilons, limit=args.limit)
    print(f"{card.title()} on {data.name} ({args.split}, n={ev.n})")
    print(f"clean: {100 * ev.clean:.2f}%")
    print("attack  " + "  ".join(f"eps={e:<6g}" for e in args.epsilons))
    for attack, per in ev.attacks.items():
        print(f"{attack:<7} " + "  ".join(f"{100 * per[e]:>9.2f}%" for e in args.epsilons))
    return 0


def _reproduce(args, *, sweep_only: bool) -> int:
    from fgsm_studio.core.experiments import RunSpec, execute
    from fgsm_studio.core.report import write_report

    eps_list = args.epsilon
    rounds = range(min(args.rounds or max(args.folds, 1), max(args.folds, 1)))
    sweep_rounds = range(min(args.sweep_rounds, len(rounds)))
    base = dict(
        dataset=args.dataset,
        folds=args.folds,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        patience=args.patience,
        seed=args.seed,
        limit=args.limit,
    )
    plan: list[RunSpec] = []
    for arch in args.archs:
        if not sweep_only:  # Figure 2: standard models
            plan += [
                RunSpec(arch=arch, defense="none", epsilon=eps_list[0], fold=f, **base)
                for f in rounds
            ]
        for a1 in args.a1s:  # Figure 3: the (a1, a2) sweep at the first epsilon
            plan += [
                RunSpec(
                    arch=arch,
                    defense="wr_fgsm",
                    a1=a1,
                    reg=args.reg,
                    epsilon=eps_list[0],
                    fold=f,
                    **base,
                )
                for f in sweep_rounds
            ]
        for a1 in args.literal_a1s:
            plan += [
                RunSpec(
                    arch=arch,
                    defense="wr_fgsm",
                    a1=a1,
                    reg="literal",
                    epsilon=eps_list[0],
                    fold=f,
                    **base,
                )
                for f in sweep_rounds
            ]
    progress = Progress(len(plan))
    common = dict(
        eval_epsilons=eps_list,
        eval_attacks=args.attacks,
        root=args.root,
        device=args.device,
        eval_limit=args.eval_limit,
        on_event=progress,
    )

    def run_all(specs: list[RunSpec]) -> list[dict]:
        out = []
        for spec in dict.fromkeys(specs):  # drop duplicates, keep order
            progress.start(spec.key())
            record = execute(spec, args.out, **common)
            progress.done(record)
            out.append(record)
        return out

    records = run_all(plan)
    if not sweep_only:  # Table 1: the best pair, every round, every epsilon
        for arch in args.archs:
            swept = [
                r
                for r in records
                if r["spec"]["arch"] == arch
                and r["spec"]["defense"] == "wr_fgsm"
                and r["spec"]["reg"] == args.reg
            ]
            best_a1 = _best_a1(swept, eps_list[0])
            extra = [
                RunSpec(
                    arch=arch,
                    defense="wr_fgsm",
                    a1=best_a1,
                    reg=args.reg,
                    epsilon=e,
                    fold=f,
                    **base,
                )
                for e in eps_list
                for f in rounds
            ]
            progress.total += len(extra)
            print(f"\n{arch}: best pair a1={best_a1:g}, a2={1 - best_a1:g}", file=sys.stderr)
            run_all(extra)
    report = write_report(args.out)
    print(f"\nreport: {report}")
    return 0


def _best_a1(records: list[dict], eps: float) -> float:
    from collections import defaultdict

    scores: dict[float, list[float]] = defaultdict(list)
    for r in records:
        t = r["test"]
        scores[r["spec"]["a1"]].append(t["clean"] + t["attacks"]["fgsm"][f"{eps:g}"])
    return max(scores, key=lambda a: sum(scores[a]) / len(scores[a])) if scores else 0.5


if __name__ == "__main__":
    sys.exit(main())
