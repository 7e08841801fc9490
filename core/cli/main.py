"""``fgsm-studio-cli``: train, evaluate, sweep and reproduce, headless.

* ``train``: one model on one fold (or the train/test split), saved with its card;
* ``evaluate``: a checkpoint's accuracy, clean and under FGSM/BIM/PGD, per epsilon;
* ``robustness``: a checkpoint on its own held-out part under APGD-CE, APGD-T, Square
  and the per-image worst case (``--update-card`` writes the figures into its card);
* ``sweep``: the paper's Figure 3, WR_FGSM accuracy for each (a1, a2 = 1 - a1);
* ``reproduce``: Figure 2 (standard models, clean vs FGSM), Figure 3 and Table 1
  (standard vs the best pair), and a table of every defense (``--defenses``) with
  its per-image worst case (``--worst-case``), written as CSV, PNG and ``report.md``.
* ``shrink``: a checkpoint's weights in 8 bits (``--int8``) or 16, with the change
  of its outputs.

Runs are resumable: each finished run is a JSON file in ``OUT/runs`` and is
skipped next time, so an interrupted ``reproduce`` picks up where it stopped.

Options are checked before any work starts (``core.cli.options`` and ``core.cli.checks``); torch is
imported only once a command runs, so ``--help`` is quick. Progress is a tqdm
bar on a terminal and one plain line per epoch in a redirected log.
"""

from __future__ import annotations

import logging
import signal
import sys

from ..progress import Progress
from .checks import check
from .options import build_parser
from .values import Parser, UsageError, display


def _parser() -> Parser:
    return build_parser(__doc__.split("\n\n")[0])


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        check(args, _parser())
        if getattr(args, "device", "auto") != "auto":
            from ..devices import pick_device

            try:
                pick_device(args.device)
            except (ValueError, RuntimeError) as exc:
                raise UsageError(f"fgsm-studio-cli: --device {args.device}: {exc}") from None
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)
    from ..runs.cluster import ClusterError
    from ..training.config import TrainingError
    from ..training.distributed import DistributedError

    try:
        if args.command == "train":
            return _train(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "robustness":
            return _robustness(args)
        if args.command == "measure":
            from ..measure.report import main as measure_main

            return measure_main(args)
        if args.command == "squeezing":
            from ..measure.squeezing_report import main as squeezing_main

            return squeezing_main(args)
        if args.command == "generate":
            return _generate(args)
        if args.command == "pseudo-label":
            return _pseudo_label(args)
        if args.command == "shrink":
            from .shrink import shrink

            return shrink(args)
        if args.command == "cards":
            from ..models.bundled import cards_markdown

            text = cards_markdown()
            if args.out:  # whole or not at all: a full disk once left a 0-byte file here
                from ..atomic import write_atomic

                write_atomic(args.out, text, f"the cards table {display(args.out)}")
            elif not args.readme:
                print(text)
            if args.readme:
                from ..reports.readme_table import update_readme

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


def _training_part(args):
    """(train, validation) of the run named by --dataset, --root, --folds, --fold, --seed."""
    from ..data.loaders import fold_parts
    from ..devices import configure_threads

    configure_threads("cli", args.threads)
    train_set, val, _ = fold_parts(
        args.dataset, args.root, k=args.folds, fold=args.fold, seed=args.seed
    )
    return train_set, val


def _save_made(args, data, about: dict) -> None:
    """Save made or labelled images with the run part they came from."""
    from ..data.extra import save_extra

    about["trained_on"].update(folds=args.folds, fold=args.fold, seed=args.seed)
    save_extra(args.out, data, about)


def _generate(args) -> int:
    from ..training.generate import GenerateOptions, generate

    train_set, val = _training_part(args)
    if train_set.image_size % 4:
        raise ValueError(
            f"generate needs images whose size is divisible by 4; {args.dataset}'s are "
            f"{train_set.image_size} px."
        )
    opts = GenerateOptions(
        n=args.n,
        epochs=args.epochs,
        classifier_epochs=args.classifier_epochs,
        min_confidence=args.min_confidence,
        temperature=args.temperature,
        seed=args.seed,
    )
    data, about = generate(train_set, val, opts)
    _save_made(args, data, about)
    print(
        f"saved {len(data)} images to {display(args.out)} (kept {about['keep_rate']:.0%} of samples)"
    )
    return 0


def _pseudo_label(args) -> int:
    from ..data.loaders import load_cached
    from ..training.generate import GenerateOptions, pseudo_label

    train_set, val = _training_part(args)
    images = load_cached(args.images, args.images_root, args.images_split)
    if (images.channels, images.image_size) != (train_set.channels, train_set.image_size):
        raise ValueError(
            f"The images of {args.images} are {images.channels} x {images.image_size} px; "
            f"{args.dataset}'s are {train_set.channels} x {train_set.image_size} px."
        )
    opts = GenerateOptions(
        n=args.n,
        classifier_epochs=args.classifier_epochs,
        min_confidence=args.min_confidence,
        seed=args.seed,
    )
    everything = load_cached(args.dataset, args.root, "all")
    data, about = pseudo_label(train_set, val, images, opts, exclude=everything)
    _save_made(args, data, about)
    print(
        f"saved {len(data)} labelled images to {display(args.out)} "
        f"(their labels agree with the dataset's on {about['label_accuracy']:.1f}%)"
    )
    return 0


def _train(args) -> int:
    from ..devices import configure_threads
    from ..measure.evaluation import drive
    from ..runs.experiments import execute
    from ..runs.spec import RunSpec
    from ..training.config import TrainingError
    from ..training.distributed import SINGLE, init_from_env, shutdown

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
        extra_train=str(args.extra_train) if args.extra_train else None,
        world_size=dist.world_size,
        backend=dist.backend if dist.active else "",
    )
    configure_threads("cli", args.threads)
    progress = Progress(1)
    if dist.is_main:
        progress.start(spec.key())
    if dist.active:  # torchrun stops the other ranks with SIGTERM when one fails
        signal.signal(signal.SIGTERM, _stopped_by_torchrun)
    try:
        events = execute(
            spec, args.records, save_model=args.out, name=args.name, dist=dist, resume=args.resume
        )
        record = drive(events, progress if dist.is_main else None)
    except RuntimeError as exc:  # gloo/NCCL: another rank stopped
        if not dist.active or isinstance(exc, TrainingError):
            raise
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the sentence is said once
        print(_lost_rank(args, dist), file=sys.stderr)
        return 1
    finally:
        shutdown(dist)
    if record is not None:  # rank 0 (or the only process) reports
        progress.done(record)
        where = f" ({dist.world_size} processes, {dist.backend})" if dist.active else ""
        print(f"saved {args.out}{where}")
    return 0


def _stopped_by_torchrun(signum: int, frame: object) -> None:
    """torchrun's SIGTERM to the ranks left when one failed: the same sentence as a lost
    connection (on an idle machine the signal often comes before gloo notices)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # once: a second one ends the process
    raise RuntimeError("torchrun stopped this rank: another rank failed")


def _lost_rank(args, dist) -> str:
    """One sentence for a torchrun job whose other rank stopped: which, what is saved, how on."""
    import shlex

    from ..runs.experiments import best_so_far_path

    other = f"rank {1 - dist.rank}" if dist.world_size == 2 else "another rank"
    partial = best_so_far_path(args.out)
    argv, skip = [], False
    for a in sys.argv[1:]:  # the same command, with --resume pointing at the best so far
        if skip or a == "--resume":
            skip = not skip and a == "--resume"
            continue
        argv.append(a)
    again = f"torchrun --nproc_per_node {dist.world_size} -m fgsm_studio.core.cli " + " ".join(
        shlex.quote(a) for a in argv
    )
    if partial.is_file():
        saved = f"the best epoch so far is in {partial}; resume with: {again} --resume {partial}"
    else:
        saved = f"no epoch finished, so nothing is saved; start again with: {again}"
    return f"error: {other} of this {dist.world_size}-process job stopped (rank {dist.rank} lost its connection to it); {saved}"


def _evaluate(args) -> int:
    from ..data.loaders import load_dataset, stratified_sample
    from ..devices import pick_device
    from ..measure.evaluation import evaluate
    from ..models.checkpoint import load

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


def _robustness(args) -> int:
    from ..measure.robustness import measure_card

    plain, varied = measure_card(
        args.model,
        fold=args.fold,
        epsilons=args.epsilons,
        attacks=args.attacks,
        survivors_only=args.survivors_only,
        limit=args.limit,
        varied=args.varied,
        varied_limit=args.varied_limit,
        update_card=args.update_card,
        pgd_steps=args.pgd_steps,
        apgd_steps=args.apgd_steps,
        targets=args.targets,
        queries=args.queries,
    )
    for what, result in (("plain", plain), ("varied", varied)):
        if result is None:
            continue
        print(f"{what}: n={result.n}, clean {100 * result.clean:.1f}%")
        for attack, per in result.attacks.items():
            cells = "  ".join(f"eps={e:g} {100 * v:.1f}%" for e, v in per.items())
            print(f"  {attack:<10} {cells}")
    if args.update_card:
        print(f"updated the card of {args.model}")
    return 0


def _reproduce(args, *, sweep_only: bool) -> int:
    from ..runs.reproduce import run

    return run(args, sweep_only=sweep_only)


if __name__ == "__main__":
    sys.exit(main())
