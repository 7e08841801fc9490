"""Feature Squeezing measured honestly: its detector's threshold, its clean cost, its attacks.

``calibrate_card(path)`` sets a model's detector threshold for ``FALSE_ALARM``
(5%) of clean digits flagged, on the validation part of its own fold (held out
from training; the other-writers sets are never used to set anything), and
measures on every set (all images, forward passes only) the clean accuracy with
and without the squeezer and the share of clean images the detector flags. With
``update_card`` it goes into the card (``metrics["feature_squeezing"]``), where
``core.squeezing.for_card`` and the window read it.

``measure_squeezing(defended, dataset)`` runs, on one sample (every column on the
same images), each attack on every image the squeezed model reads right: naive
FGSM (through the squeezer's zero gradient), BPDA-FGSM, the transfer attack
(FGSM and PGD on the plain model, per image the worse of the two), BPDA-PGD with
random restarts, and Square (no gradient); ``worst`` counts an image only if it
survives all of them, and ``unflagged`` is the share of images some attack fooled
without the detector flagging that image. ``fgsm-studio-cli squeezing`` runs both
and writes ``docs/results/feature-squeezing.md`` from the results file.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from ..attacks.gradient import evaluating, fgsm, pgd, square
from ..attacks.squeezing import (
    CARD_KEY,
    FALSE_ALARM,
    FeatureSqueezing,
    calibrate,
    calibration,
    for_card,
    strongest_words,
)
from ..data.dataset import ImageDataset

COLUMNS = ("fgsm-naive", "bpda-fgsm", "transfer", "bpda-pgd", "square", "worst")
SETS = ("own", "optdigits", "fonts")


def calibration_set(card) -> tuple[ImageDataset, str]:
    """The card's validation part (held out from training, not the test fold) and its name."""
    from ..data.loaders import fold_parts

    fold, folds = int(card.training.get("fold", 0)), int(card.training.get("folds", 10))
    _, val, _ = fold_parts(card.dataset, k=folds, fold=fold)
    where = f"fold {fold} of {folds}" if folds else "the train split"
    return val, f"validation part of {where}"


def clean_figures(squeezer: FeatureSqueezing, data: ImageDataset, batch: int = 500) -> dict:
    """n, clean accuracy without and with the squeezer, and the detector's false alarms."""
    plain = squeezed = flagged = 0
    with evaluating(squeezer.model), torch.no_grad():
        for i in range(0, len(data), batch):
            x, y = data.batch(torch.arange(i, min(i + batch, len(data))))
            plain += int((squeezer.model(x).argmax(1) == y).sum())
            squeezed += int((squeezer(x).argmax(1) == y).sum())
            flagged += int(squeezer.flags(x).sum())
    n = len(data)
    return dict(n=n, plain=plain / n, squeezed=squeezed / n, false_alarms=flagged / n)


def calibrate_card(
    path: Path,
    *,
    false_alarm: float = FALSE_ALARM,
    sets: Sequence[str] = SETS,
    update_card: bool = False,
) -> dict:
    """Calibrate the model's detector (see the module doc); its record, written with
    ``update_card`` into the card (the weights stay as they are)."""
    from ..models.checkpoint import load, resave
    from .sets import load_set

    model, card = load(path)
    val, where = calibration_set(card)
    squeezer = for_card(model, replace(card, metrics={}))  # the settings; the threshold is set here
    squeezer.threshold = calibrate(squeezer, val.batch(torch.arange(len(val)))[0], false_alarm)
    record: dict = dict(
        threshold=round(squeezer.threshold, 4),
        false_alarm_target=false_alarm,
        calibrated_on=where,
        n_calibration=len(val),
        bits=squeezer.bits,
        median=squeezer.median,
        clean={},
    )
    for name in sets if card.dataset == "mnist-5k" else ("own",):
        data = load_set(name, card)
        record["clean"][name] = dict(set=data.name, **clean_figures(squeezer, data))
    if update_card:
        resave(path, model, replace(card, metrics={**card.metrics, CARD_KEY: record}))
    return record


@dataclass(frozen=True)
class SqueezeMeasurement:
    """One row: a squeezed model on one sample of a set, every figure on the same images."""

    model: str
    set: str
    n: int
    clean_plain: float
    clean: float  # the squeezed model's
    false_alarms: float
    threshold: float
    attacks: dict[str, dict[float, float]]  # COLUMNS, accuracy per epsilon
    unflagged: dict[float, float]  # fooled by some attack, not flagged by the detector
    settings: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["attacks"] = {a: {str(e): v for e, v in by.items()} for a, by in self.attacks.items()}
        d["unflagged"] = {str(e): v for e, v in self.unflagged.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SqueezeMeasurement:
        attacks = {a: {float(e): v for e, v in by.items()} for a, by in d["attacks"].items()}
        unflagged = {float(e): v for e, v in d["unflagged"].items()}
        return cls(**{**d, "attacks": attacks, "unflagged": unflagged})


def measure_squeezing(
    defended: FeatureSqueezing,
    dataset: ImageDataset,
    *,
    epsilons: Sequence[float] = (0.1, 0.2, 0.3),
    restarts: int = 3,
    steps: int = 40,
    queries: int = 1000,
    batch_size: int = 100,
    name: str = "",
    set_name: str = "",
) -> SqueezeMeasurement:
    """Every attack of ``COLUMNS`` on every image of ``dataset`` (see the module doc)."""
    plain, attacker = defended.model, defended.straight_through_copy()
    eps_list = [float(e) for e in epsilons]
    counts = {a: dict.fromkeys(eps_list, 0) for a in COLUMNS}
    unflagged = dict.fromkeys(eps_list, 0)
    seen = clean_plain = clean = flagged_clean = 0
    started = time.perf_counter()
    with evaluating(plain):
        for i in range(0, len(dataset), batch_size):
            x, y = dataset.batch(torch.arange(i, min(i + batch_size, len(dataset))))
            with torch.no_grad():
                clean_plain += int((plain(x).argmax(1) == y).sum())
                right = defended(x).argmax(1) == y
            clean += int(right.sum())
            flagged_clean += int(defended.flags(x).sum())
            for eps in eps_list:
                tries = {
                    "fgsm-naive": [fgsm(defended, x, y, eps)],
                    "bpda-fgsm": [fgsm(attacker, x, y, eps)],
                    "transfer": [fgsm(plain, x, y, eps), pgd(plain, x, y, eps, steps=steps)],
                    "bpda-pgd": [pgd(attacker, x, y, eps, steps=steps) for _ in range(restarts)],
                }
                if queries:
                    tries["square"] = [square(defended, x, y, eps, queries=queries)]
                survives, sneaks = right.clone(), torch.zeros_like(right)
                for attack, advs in tries.items():
                    ok = right.clone()
                    for adv in advs:
                        with torch.no_grad():
                            wrong = defended(adv).argmax(1) != y
                        ok &= ~wrong
                        sneaks |= right & wrong & ~defended.flags(adv)
                    counts[attack][eps] += int(ok.sum())
                    survives &= ok
                counts["worst"][eps] += int(survives.sum())
                unflagged[eps] += int(sneaks.sum())
            seen += len(y)
    if seen == 0:
        raise ValueError("There are no images to measure on.")
    if not queries:
        counts.pop("square")
    return SqueezeMeasurement(
        model=name,
        set=set_name or dataset.name,
        n=seen,
        clean_plain=clean_plain / seen,
        clean=clean / seen,
        false_alarms=flagged_clean / seen,
        threshold=defended.threshold,
        attacks={a: {e: c / seen for e, c in by.items()} for a, by in counts.items()},
        unflagged={e: c / seen for e, c in unflagged.items()},
        settings=dict(
            restarts=restarts, steps=steps, queries=queries, epsilons=eps_list, bits=defended.bits
        ),
        seconds=time.perf_counter() - started,
    )


def read_results(results: Path) -> list[SqueezeMeasurement]:
    """The measurements in a JSON-lines file, the last one of each (model, set)."""
    rows: dict[tuple[str, str], dict] = {}
    for line in Path(results).read_text().splitlines():
        if line.strip():
            d = json.loads(line)
            rows[(d["model"], d["set"])] = d
    return [SqueezeMeasurement.from_dict(d) for d in rows.values()]


def append_result(results: Path, m: SqueezeMeasurement) -> None:
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "a") as f:
        f.write(json.dumps(m.to_dict()) + "\n")


START = "<!-- feature-squeezing: generated by `fgsm-studio-cli squeezing --publish` -->"
END = "<!-- feature-squeezing: end -->"
HEADS = {
    "fgsm-naive": "FGSM (naive)",
    "bpda-fgsm": "BPDA-FGSM",
    "transfer": "transfer",
    "bpda-pgd": "BPDA-PGD",
    "square": "Square",
    "worst": "**worst**",
}


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def calibration_table(records: dict[str, dict]) -> str:
    """Per model: its threshold, where it was set, and per set the clean cost and false alarms."""
    lines = [
        "| model | threshold (5% of n clean flagged) | set | n | clean, plain | clean, squeezed "
        "| cost (points) | false alarms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for title, r in records.items():
        where = f"{r['threshold']:.3f} ({r['calibrated_on']}, n={r['n_calibration']})"
        for c in r["clean"].values():
            cost = 100 * (c["plain"] - c["squeezed"])
            lines.append(
                f"| {title} | {where} | {c['set']} | {c['n']} | {_pct(c['plain'])} | "
                f"{_pct(c['squeezed'])} | {cost:.1f} | {_pct(c['false_alarms'])} |"
            )
            where = ""
    return "\n".join(lines)


def attack_table(rows: list[SqueezeMeasurement], titles: dict[str, str]) -> str:
    """One row per (model, set, epsilon): every column on the same images."""
    order = {name: i for i, name in enumerate(titles)}
    sets = {name: i for i, name in enumerate(SETS)}
    rows = sorted(rows, key=lambda m: (order.get(m.model, 99), sets.get(m.set.split()[0], 9)))
    heads = " | ".join(HEADS[c] for c in COLUMNS)
    lines = [
        f"| model | set | n | eps | clean, plain | clean, squeezed | false alarms | {heads} "
        "| fooled, not flagged |",
        "|---|---|---|---|---|---|---|" + "---|" * len(COLUMNS) + "---|",
    ]
    for m in rows:
        for eps in m.settings["epsilons"]:
            figs = [_pct(m.attacks.get(c, {}).get(eps)) for c in COLUMNS]
            figs[-1] = f"**{figs[-1]}**"
            lines.append(
                f"| {titles.get(m.model, m.model)} | {m.set} | {m.n} | {eps:g} | "
                f"{_pct(m.clean_plain)} | {_pct(m.clean)} | {_pct(m.false_alarms)} | "
                + " | ".join(figs)
                + f" | {_pct(m.unflagged[eps])} |"
            )
    return "\n".join(lines)


def publish(results: Path, models: list[Path], doc: Path) -> None:
    """The generated block of ``doc``: the cards' calibrations and the results file's rows."""
    from ..atomic import write_atomic
    from ..models.checkpoint import read_card

    cards = {p.name: read_card(p) for p in models}
    titles = {name: card.title() for name, card in cards.items()}
    records = {titles[n]: c.metrics[CARD_KEY] for n, c in cards.items() if CARD_KEY in c.metrics}
    rows = read_results(results) if results.exists() else []
    settings = rows[0].settings if rows else {}
    attacks = strongest_words(settings) if settings else "-"
    block = "\n".join(
        [
            START,
            "### The detector's threshold and the clean cost",
            "",
            "Each threshold flags 5% of the model's clean validation digits (held out from "
            "training, never the sets below); the other columns count every image of each set. "
            "Accuracy and false alarms in %.",
            "",
            calibration_table(records),
            "",
            "### Attacks on the squeezed model",
            "",
            "Accuracy in % of the squeezed model on one stratified sample per set (every "
            "column on the same images; an image counts only if read right clean). FGSM "
            "(naive): through the squeezer's own gradient (zero almost everywhere); "
            "BPDA-FGSM and BPDA-PGD: the gradient through the squeezer taken as the identity; "
            "transfer: FGSM and PGD made on the plain model (per image the worse of the two); "
            "Square: no gradient; **worst**: an image survives every column. Fooled, not "
            "flagged: the share of images some attack fooled without the detector flagging "
            f"it. The worst case runs {attacks}.",
            "",
            attack_table(rows, titles),
            END,
        ]
    )
    text = doc.read_text() if doc.exists() else ""
    start, end = text.find(START), text.find(END)
    if start >= 0 and end > start:
        text = text[:start] + block + text[end + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    write_atomic(doc, text, f"the report {doc}")


def main(args) -> int:
    """``fgsm-studio-cli squeezing``: calibrate, measure, publish (see the module doc)."""
    from ..models.checkpoint import load
    from .sets import load_set, sample

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.publish:
        publish(args.results, args.models, args.doc)
        print(f"wrote {args.doc}")
        return 0
    for path in args.models:
        model, card = load(path)
        record = calibration(card)
        if args.update_card or not args.measure or record is None:
            record = calibrate_card(
                path, false_alarm=args.false_alarm, update_card=args.update_card
            )
        print(f"{path.name}: threshold {record['threshold']:.3f} ({record['calibrated_on']})")
        for c in record["clean"].values():
            print(
                f"  {c['set']}, n={c['n']}: clean {_pct(c['plain'])} -> {_pct(c['squeezed'])} "
                f"squeezed, false alarms {_pct(c['false_alarms'])}%"
            )
        if not args.measure:
            continue
        defended = for_card(model, replace(card, metrics={**card.metrics, CARD_KEY: record}))
        done = set()
        if args.results.exists():
            done = {(m.model, m.set) for m in read_results(args.results)}
        for name in args.sets:
            data = sample(load_set(name, card), args.limit)
            if (path.name, data.name) in done:
                continue
            m = measure_squeezing(
                defended,
                data,
                epsilons=args.epsilons,
                restarts=args.restarts,
                steps=args.steps,
                queries=args.queries,
                name=path.name,
            )
            append_result(args.results, m)
            worst = ", ".join(f"eps {e:g}: {_pct(v)}" for e, v in m.attacks["worst"].items())
            print(f"  {m.set}, n={m.n}: worst {worst} ({m.seconds / 60:.1f} min)")
    return 0
