"""``fgsm-studio-cli``: train, evaluate, sweep and reproduce, headless.

* ``train``: one model on one fold (or the train/test split), saved with its card;
* ``evaluate``: a checkpoint's accuracy, clean and under FGSM/BIM/PGD, per epsilon;
* ``sweep``: the paper's Figure 3, WR_FGSM accuracy for each (a1, a2 = 1 - a1);
* ``reproduce``: Figure 2 (standard models, clean vs FGSM), Figure 3 and Table 1
  (standard vs the best pair), and a table of every defense (``--defenses``) with
  its per-image worst case (``--worst-case``), written as CSV, PNG and ``report.md``.

Runs are resumable: each finished run is a JSON file in ``OUT/runs`` and is
skipped next time, so an interrupted ``reproduce`` picks up where it stopped.

Options are checked before any work starts (``core.cli_options``); torch is
imported only once a command runs, so ``--help`` is quick. Progress is a tqdm
bar on a terminal and one plain line per epoch in a redirected log.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from fgsm_studio.core import cli_options as opt


class Progress:
    """Progress of a plan of runs on ``stream`` (stderr).

    On a terminal, a tqdm bar per epoch (batches, loss, images/s); in a log
    (not a TTY), only whole lines: each run's start, each epoch's result and the
    run's test accuracy, e.g. ``[3/45 1.2 min] small_cnn...: epoch 4/10 val 97.0%``.
    """

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        from fgsm_studio.core.robust_monitor import findings
        from fgsm_studio.core.training import BatchProgress, EpochMetrics

        self._findings = findings
        self._types = BatchProgress, EpochMetrics
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total, self.index, self.label = total, 0, ""
        self.started = time.perf_counter()
        self.bar: Any = None  # a tqdm bar while an epoch runs on a terminal
        self.bar_epoch = -1
        self.history: list = []  # this run's EpochMetrics, for core.robust_monitor
        self.warned: set[str] = set()

    def start(self, label: str) -> None:
        self._close()
        self.history, self.warned = [], set()
        self.index += 1
        self.label = label
        self._line("starting")

    def __call__(self, event: object) -> None:
        batch_type, epoch_type = self._types
        if isinstance(event, batch_type) and self.tty:
            self._batch(event)
        elif isinstance(event, epoch_type):
            self._close()
            pgd = "-" if event.val_pgd_acc is None else f"{100 * event.val_pgd_acc:.1f}%"
            self._line(
                f"epoch {event.epoch}/{event.epochs} val {100 * event.val_acc:.1f}% "
                f"FGSM {100 * event.val_fgsm_acc:.1f}% PGD {pgd} "
                f"{event.images_per_s:.0f} img/s{' (best)' if event.is_best else ''}"
            )
            self.history.append(event)
            for finding in self._findings(self.history):
                if finding.kind not in self.warned:  # each kind once per run
                    self.warned.add(finding.kind)
                    self._line(f"warning: {finding.sentence()}")

    def done(self, record) -> None:
        self._close()
        t = record.test
        fg = ", ".join(
            f"{a}@{e:g}={100 * v:.1f}%" for a, d in t.attacks.items() for e, v in d.items()
        )
        self._line(f"test clean {100 * t.clean:.1f}%, {fg}")

    def _batch(self, event) -> None:
        from tqdm import tqdm

        if self.bar is None or self.bar_epoch != event.epoch:
            self._close()
            self.bar = tqdm(
                total=event.batches,
                desc=f"[{self.index}/{self.total}] epoch {event.epoch}",
                unit="batch",
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
            )
            self.bar_epoch = event.epoch
        self.bar.set_postfix_str(
            f"loss {event.loss:.3f}, {event.images_per_s:.0f} img/s", refresh=False
        )
        self.bar.update(event.batch - self.bar.n)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar, self.bar_epoch = None, -1

    def _line(self, text: str) -> None:
        from tqdm import tqdm

        mins = (time.perf_counter() - self.started) / 60
        line = f"[{self.index}/{self.total} {mins:.1f} min] {self.label}: {text}"
        tqdm.write(line, file=self.stream)
        self.stream.flush()


def _parser() -> opt.Parser:
    return opt.build_parser(__doc__.split("\n\n")[0])


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        opt.check(args, _parser())
        if getattr(args, "device", "auto") != "auto":
            from fgsm_studio.core.devices import pick_device

            try:
                pick_device(args.device)
            except (ValueError, RuntimeError) as exc:
                raise opt.UsageError(f"fgsm-studio-cli: --device {args.device}: {exc}") from None
    except opt.UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)
    from fgsm_studio.core.cluster import ClusterError
    from fgsm_studio.core.distributed import DistributedError
    from fgsm_studio.core.training import TrainingError

    try:
        if args.command == "train":
            return _train(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "measure":
            from fgsm_studio.core.measure_report import main as measure_main

            return measure_main(args)
        if args.command == "cards":
            from fgsm_studio.core.bundled import cards_markdown

            text = cards_markdown()
            if args.out:
                args.out.write_text(text)
            elif not args.readme:
                print(text)
            if args.readme:
                from fgsm_studio.core.readme_table import update_readme

                update_readme(args.readme)
            return 0
        return _reproduce(args, sweep_only=args.command == "sweep")
    except KeyboardInterrupt:
        print(
            "Interrupted: finished runs are saved and will be skipped next time.", file=sys.stderr
        )
        return 130
    except (ValueError, TrainingError, OSError, ClusterError, DistributedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _train(args) -> int:
    from fgsm_studio.core.devices import configure_threads
    from fgsm_studio.core.distributed import SINGLE, init_from_env, shutdown
    from fgsm_studio.core.evaluation import drive
    from fgsm_studio.core.experiments import RunSpec, execute

    dist = init_from_env() if args.ddp else SINGLE  # under torchrun: join its process group
    spec = RunSpec.of(
        dataset=args.dataset,
        root=args.root,
        arch=args.arch,
        defense=args.defense,
        a1=args.a1,
        reg=args.reg,
        epsilon=args.epsilon,
        select_by=args.select_by,
        fold=args.fold,
        folds=args.folds,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        patience=args.patience,
        seed=args.seed,
        device=dist.device(args.device),
        limit=args.limit,
        augment=args.augment,
        attack_steps=args.attack_steps,
        stem=args.stem,
        beta=args.beta,
        warmup_epochs=args.warmup_epochs,
        lr_schedule=args.lr_schedule,
        ema=args.ema,
        eval_epsilons=args.eval_epsilons or (args.epsilon,),
        eval_attacks=args.attacks,
        eval_limit=args.eval_limit,
    )
    configure_threads("cli", args.threads)
    progress = Progress(1)
    if dist.is_main:
        progress.start(spec.key())
    try:
        events = execute(spec, args.records, save_model=args.out, name=args.name, dist=dist)
        record = drive(events, progress if dist.is_main else None)
    finally:
        shutdown(dist)
    if record is not None:  # rank 0 (or the only process) reports
        progress.done(record)
        where = f" ({dist.world_size} processes, {dist.backend})" if dist.active else ""
        print(f"saved {args.out}{where}")
    return 0


def _evaluate(args) -> int:
    from fgsm_studio.core.checkpoint import load
    from fgsm_studio.core.data import load_dataset, stratified_sample
    from fgsm_studio.core.devices import pick_device
    from fgsm_studio.core.evaluation import evaluate

    model, card = load(args.model, device=pick_device(args.device))
    data = load_dataset(args.dataset or card.dataset, args.root, args.split)
    if (data.channels, data.image_size) != (card.in_channels, card.image_size):
        raise ValueError(
            f"The model expects {card.in_channels}x{card.image_size}px images; "
            f"{data.name} has {data.channels}x{data.image_size}px."
        )
    if args.limit:  # a stratified sample: the first n of a class-sorted set is one class
        data = data.subset(stratified_sample(data, args.limit, args.seed))
    ev = evaluate(model, data, attacks=args.attacks, epsilons=args.epsilons)
    print(f"{card.title()} on {data.name} ({args.split}, n={ev.n})")
    print(f"clean: {100 * ev.clean:.2f}%")
    print("attack  " + "  ".join(f"eps={e:<6g}" for e in args.epsilons))
    for attack, per in ev.attacks.items():
        print(f"{attack:<7} " + "  ".join(f"{100 * per[e]:>9.2f}%" for e in args.epsilons))
    return 0


def _reproduce(args, *, sweep_only: bool) -> int:
    from fgsm_studio.core.cluster import RunJob, make_executor
    from fgsm_studio.core.experiments import RunRecord, RunSpec
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
        root=args.root,
        device=args.device,
        eval_epsilons=eps_list,
        eval_attacks=args.attacks,
        eval_limit=args.eval_limit,
        worst_case=args.worst_case,
    )
    if args.worst_case != "off":
        from fgsm_studio.core.robustness import describe_setting

        print(f"worst case: {describe_setting(args.worst_case)}", file=sys.stderr)
    plan: list[RunSpec] = []
    for arch in args.archs:
        if not sweep_only:  # Figure 2: standard models
            plan += [
                RunSpec.of(arch=arch, defense="none", epsilon=eps_list[0], fold=f, **base)
                for f in rounds
            ]
        for a1 in args.a1s:  # Figure 3: the (a1, a2) sweep at the first epsilon
            plan += [
                RunSpec.of(
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
                RunSpec.of(
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
    job = RunJob(out_dir=str(args.out), threads=args.threads)
    executor = make_executor(args.executor, args.address)
    serial = executor.name == "serial"

    def run_all(specs: list[RunSpec]) -> list[RunRecord]:
        out = []
        on_start = (lambda spec: progress.start(spec.key())) if serial else None
        for record in executor.run(specs, job, on_start=on_start, on_event=progress):
            if not serial:  # Ray: a line per run, as runs finish
                progress.start(record.key)
            progress.done(record)
            out.append(record)
        return out

    with executor:
        records = run_all(plan)
        if not sweep_only:
            _table1(args, records, base, rounds, progress, run_all)
            _defenses(args, base, rounds, progress, run_all)
    report = write_report(args.out)
    print(f"\nreport: {report}")
    return 0


def _table1(args, records, base, rounds, progress, run_all) -> None:
    """Table 1: the best pair of the sweep, every round, every epsilon."""
    from fgsm_studio.core.experiments import RunSpec

    eps_list = args.epsilon
    for arch in args.archs:
        swept = [
            r
            for r in records
            if r.spec.train.arch == arch
            and r.spec.train.defense == "wr_fgsm"
            and r.spec.train.reg == args.reg
        ]
        best_a1 = _best_a1(swept, eps_list[0])
        extra = [
            RunSpec.of(
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


def _defenses(args, base, rounds, progress, run_all) -> None:
    """The defense table's other defenses: each at every epsilon, every round (a1 = 1)."""
    from fgsm_studio.core.experiments import RunSpec

    extra = [
        RunSpec.of(arch=arch, defense=d, a1=1.0, epsilon=e, fold=f, **base)
        for arch in args.archs
        for d in args.defenses
        if d != "wr_fgsm"  # the paper's: Table 1's best pair at each epsilon
        for e in args.epsilon
        for f in rounds
    ]
    progress.total += len(extra)
    run_all(extra)


def _best_a1(records: list, eps: float) -> float:
    from collections import defaultdict

    scores: dict[float, list[float]] = defaultdict(list)
    for r in records:
        scores[r.spec.train.a1].append(r.test.clean + r.test.acc("fgsm", eps))
    return max(scores, key=lambda a: sum(scores[a]) / len(scores[a])) if scores else 0.5


if __name__ == "__main__":
    sys.exit(main())
