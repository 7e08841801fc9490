"""``reproduce`` and ``sweep``: plan the runs, check the folder, run them, write the report.

The plan: the standard models (Figure 2), the (a1, a2) sweep and its literal
points (Figure 3) and every other defense at every epsilon and round: none of
these depends on another, so all go to the executor at once (on Ray, every run
is out from the start). Table 1's runs (the best pair at every epsilon and round)
depend on the sweep: the pair is chosen on *validation* as soon as an
architecture's sweep is in (``core.reports.stats.choose_best``) and its runs join
the queue then, while the others go on.

Before any work: one ``reproduce`` per ``--out`` (``core.runs.records.FolderLock``) and
every record checked (``core.runs.records.audit``). ``--dry-run`` lists the runs and
estimates their time from one measured epoch. If the Ray head is lost, the runs
finished so far are saved; one sentence says how many, where, and how to resume,
and the partial report is written.
"""

from __future__ import annotations

import math
import os
import shlex
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from ..catalogue import is_paper

if TYPE_CHECKING:  # experiments imports torch
    from .spec import RunRecord, RunSpec

# Training cost of a defense relative to standard training (forward+backward passes per batch)
COST = {"none": 1.0, "wr_fgsm": 2.0, "fgsm-rs": 2.0}


def base_options(args) -> dict:
    return dict(
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
        eval_epsilons=args.epsilon,
        eval_attacks=args.attacks,
        eval_limit=args.eval_limit,
        worst_case=args.worst_case,
    )


def rounds_of(args) -> tuple[range, range]:
    rounds = range(min(args.rounds or max(args.folds, 1), max(args.folds, 1)))
    return rounds, range(min(args.sweep_rounds, len(rounds)))


def sweep_specs(args, arch: str) -> list[RunSpec]:
    """The sweep of one architecture (scaled and literal points), at the first epsilon."""
    from .spec import RunSpec

    base, (_, sweep_rounds) = base_options(args), rounds_of(args)
    eps = args.epsilon[0]
    points = [(a1, args.reg) for a1 in args.a1s] + [(a1, "literal") for a1 in args.literal_a1s]
    return [
        RunSpec.of(arch=arch, defense="wr_fgsm", a1=a1, reg=reg, epsilon=eps, fold=f, **base)
        for a1, reg in dict.fromkeys(points)
        for f in sweep_rounds
    ]


def first_plan(args, *, sweep_only: bool) -> list[RunSpec]:
    """Every run that depends on no other: standard, sweep, and the other defenses."""
    from .spec import RunSpec

    base, (rounds, _) = base_options(args), rounds_of(args)
    plan: list[RunSpec] = []
    for arch in args.archs:
        if not sweep_only:
            plan += [
                RunSpec.of(arch=arch, defense="none", epsilon=args.epsilon[0], fold=f, **base)
                for f in rounds
            ]
        plan += sweep_specs(args, arch)
    if not sweep_only:
        plan += [
            RunSpec.of(arch=arch, defense=d, a1=1.0, epsilon=e, fold=f, **base)
            for arch in args.archs
            for d in args.defenses
            if not is_paper(d)  # the paper's: Table 1's best pair at each epsilon
            for e in args.epsilon
            for f in rounds
        ]
    return list(dict.fromkeys(plan))


def table1_specs(args, arch: str, a1: float) -> list[RunSpec]:
    from .spec import RunSpec

    base, (rounds, _) = base_options(args), rounds_of(args)
    return [
        RunSpec.of(arch=arch, defense="wr_fgsm", a1=a1, reg=args.reg, epsilon=e, fold=f, **base)
        for e in args.epsilon
        for f in rounds
    ]


class Table1:
    """Adds each architecture's Table 1 runs once its sweep is in (``more`` of an executor)."""

    def __init__(self, args, progress, *, enabled: bool) -> None:
        self.args, self.progress, self.enabled = args, progress, enabled
        self.waiting = {
            arch: {s.key() for s in sweep_specs(args, arch) if s.train.reg == args.reg}
            for arch in args.archs
        }
        self.got: dict[str, list[RunRecord]] = defaultdict(list)

    def __call__(self, record: RunRecord) -> list[RunSpec]:
        from ..reports.stats import choose_best

        arch = record.spec.train.arch
        if not self.enabled or record.key not in self.waiting.get(arch, ()):
            return []
        self.waiting[arch].discard(record.key)
        self.got[arch].append(record)
        if self.waiting[arch]:
            return []
        del self.waiting[arch]
        choice = choose_best(self.got[arch])
        a1 = choice.a1 if choice is not None else 0.5
        new = table1_specs(self.args, arch, a1)
        self.progress.note(f"{arch}: best pair: {choice.sentence() if choice else a1}")
        swept = {s.key() for s in sweep_specs(self.args, arch)}
        self.progress.total += len([s for s in new if s.key() not in swept])
        return new


def _estimate(args, plan: list[RunSpec], parallel: int) -> list[str]:
    """Lines estimating the plan's time from one measured epoch of its first run."""
    from dataclasses import replace

    from ..devices import configure_threads
    from ..measure.evaluation import drive
    from ..training.config import EpochMetrics
    from .experiments import execute, splits

    first = plan[0]
    n_train = len(splits(first)[0])
    probe_n = min(n_train, 1024)
    probe = replace(
        first,
        train=replace(first.train, epochs=1, defense="none", a1=1.0),
        limit=probe_n,
        eval_attacks=("fgsm",),
        eval_limit=32,
        worst_case="off",
    )
    configure_threads("cli", args.threads)
    epochs: list[EpochMetrics] = []
    started = time.perf_counter()
    drive(execute(probe), lambda e: epochs.append(e) if isinstance(e, EpochMetrics) else None)
    probe_s = time.perf_counter() - started
    per_image = (epochs[0].train_s or epochs[0].elapsed_s) / probe_n if epochs else 0.0
    total = 0.0
    for spec in plan:
        t = spec.train
        cost = COST.get(t.defense, t.attack_steps + 1.0)
        n = min(n_train, spec.limit or n_train)
        total += t.epochs * n * per_image * cost
    wall = total / max(1, min(parallel, len(plan)))
    return [
        f"measured: one standard epoch on {probe_n} images took {per_image * probe_n:.1f} s "
        f"({probe_s:.0f} s with loading and a small evaluation), {1e3 * per_image:.2f} ms an image;",
        f"estimate: {_span(total)} of training if every run trains all its epochs "
        f"(early stopping ends runs sooner; evaluation and the worst case come on top), "
        f"about {_span(wall)} of wall time at {parallel} run(s) at once.",
    ]


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def dry_run(args, *, sweep_only: bool, out=None) -> int:
    from .records import read_record

    out = out or sys.stdout
    plan = first_plan(args, sweep_only=sweep_only)
    rounds, _ = rounds_of(args)
    extra = 0 if sweep_only else len(args.archs) * len(args.epsilon) * len(rounds)
    runs = Path(args.out) / "runs"
    done = 0
    print(f"{len(plan)} runs now, and up to {extra} of Table 1 after the sweep:", file=out)
    for spec in plan:
        path = runs / f"{spec.key()}.json"
        try:
            if read_record(path, spec).test is None:  # stopped: it runs again
                raise ValueError("stopped")
            state, done = "done", done + 1
        except ValueError:
            state = "to run"
        print(f"  {state:6}  {spec.key()}", file=out)
    if extra:
        pair = ", ".join(f"eps {e:g}" for e in args.epsilon)
        print(
            f"  to run  best pair (chosen on validation after the sweep) at {pair}, "
            f"{len(rounds)} round(s) each, per architecture (some may be sweep runs already)",
            file=out,
        )
    todo = [s for s in plan if not (runs / f"{s.key()}.json").is_file()] or plan[:1]
    parallel = 1 if args.executor == "serial" else _slots(args)
    for line in _estimate(args, todo, parallel):
        print(line, file=out)
    print(f"{done} of {len(plan)} already done; nothing was trained for the plan.", file=out)
    return 0


def _slots(args) -> int:
    if args.address:
        return 1  # unknown until the cluster answers
    gpus = getattr(args, "gpus_per_run", None)
    if gpus:
        return max(1, math.floor(1 / gpus))
    return max(1, (os.cpu_count() or 1) // args.cpus_per_run)


def run(args, *, sweep_only: bool) -> int:
    """The ``reproduce`` / ``sweep`` command."""
    from ..progress import Progress
    from ..reports.report import write_report
    from .cluster import HeadLost, RunJob, make_executor
    from .records import FolderLock, audit

    if getattr(args, "dry_run", False):
        return dry_run(args, sweep_only=sweep_only)
    if args.worst_case != "off":
        from ..measure.robustness import describe_setting

        print(f"worst case: {describe_setting(args.worst_case)}", file=sys.stderr)
    plan = first_plan(args, sweep_only=sweep_only)
    job = RunJob(
        out_dir=str(args.out),
        threads=args.threads,
        keep_models=getattr(args, "keep_checkpoints", False),
    )
    executor = make_executor(
        args.executor,
        args.address,
        cpus_per_run=args.cpus_per_run,
        gpus_per_run=args.gpus_per_run,
    )
    with FolderLock(args.out):  # one reproduce per --out; records checked before any work
        for sentence in audit(args.out):
            print(f"warning: {sentence}", file=sys.stderr)
        progress = Progress(len(plan))
        table1 = Table1(args, progress, enabled=not sweep_only)
        sent: set[str] = set()  # runs that were really run (the others were found done)

        def on_start(spec: RunSpec) -> None:
            sent.add(spec.key())
            if executor.name == "serial":  # Ray says "started" when a worker starts it
                progress.start(spec.key())

        try:
            with executor:
                progress.parallel = executor.parallel
                for record in executor.run(
                    plan, job, on_start=on_start, on_event=progress, more=table1
                ):
                    progress.done(record, trained=record.key in sent)
        except HeadLost as exc:
            saved = len(list((Path(args.out) / "runs").glob("*.json")))
            again = " ".join(shlex.quote(a) for a in sys.argv)
            print(
                f"error: {exc}: {saved} finished run(s) are saved in {Path(args.out) / 'runs'}; "
                f"start the head again (or drop --address) and resume with: {again}",
                file=sys.stderr,
            )
            if saved:
                print(f"partial report: {write_report(args.out)}", file=sys.stderr)
            # Ray's exit handlers would wait for the head that is gone: leave now.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(3)
        report = write_report(args.out)
    print(f"\nreport: {report}")
    return 0
