"""What a fresh install shows: the bundled models and the sample images.

``bundled_models()`` lists ``resources/models/*.safetensors`` by reading only
their cards (fast). ``twin(entry)`` finds the same architecture and dataset with
the other defense, for the one-click compare. ``samples_for(dataset)`` lists the
sample images that match a model's dataset; a file named ``..._{label}.png``
carries its true class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..catalogue import is_paper
from ..measure.evaluation import EvalResult
from ..paths import resource_path
from .card import CheckpointError, ModelCard
from .checkpoint import read_card

SAMPLE_FOLDERS = {
    "mnist-5k": "mnist",
    "mnist": "mnist",
    "fashion-mnist": "fashion_mnist",
    "cifar10": "cifar10",
    "imagenet": "photos",
}
DEFAULT_MODEL = "mnist_small_cnn_standard.safetensors"


@dataclass(frozen=True)
class ModelEntry:
    path: Path
    card: ModelCard

    @property
    def defended(self) -> bool:
        return self.card.defended

    @property
    def title(self) -> str:
        return self.card.title()

    @property
    def metrics(self) -> EvalResult | None:
        """The card's held-out accuracies, or None if it holds none."""
        return EvalResult.from_card(self.card.metrics)

    def summary(self) -> str:
        """One line of the card's numbers, e.g. 'clean 98.0%, FGSM@0.1 79.2%'."""
        m = self.metrics
        if m is None:
            return ""
        parts = [f"clean {100 * m.clean:.1f}%"]
        for attack in ("fgsm", "pgd", "worst-case"):
            v = m.get(attack, 0.1)
            if v is not None:
                label = "worst case" if attack == "worst-case" else attack.upper()
                parts.append(f"{label}@0.1 {100 * v:.1f}%")
        return ", ".join(parts)


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int | None


def bundled_models(folder: Path | None = None) -> list[ModelEntry]:
    folder = folder or resource_path("models")
    entries = []
    for path in sorted(folder.glob("*.safetensors")):
        try:
            entries.append(ModelEntry(path, read_card(path)))
        except (CheckpointError, OSError):
            continue  # a damaged bundled file must not hide the others
    order = {"mnist-5k": 0, "fashion-mnist": 1, "cifar10": 2, "imagenet": 3}
    # Among the defended, the paper's WR_FGSM comes first: it stays the standard model's twin.
    return sorted(
        entries,
        key=lambda e: (
            order.get(e.card.dataset, 9),
            e.card.arch != "small_cnn",
            e.defended,
            not is_paper(e.card.defense),
        ),
    )


def default_model(entries: list[ModelEntry] | None = None) -> ModelEntry | None:
    entries = bundled_models() if entries is None else entries
    for e in entries:
        if e.path.name == DEFAULT_MODEL:
            return e
    return entries[0] if entries else None


def twin(entry: ModelEntry, entries: list[ModelEntry]) -> ModelEntry | None:
    """Same dataset and architecture, the other defense (the standard one's defended twin).

    ``entry`` need not be bundled: a model trained in the window gets the bundled
    model it can be compared with (a defended one, the standard model it improves on).
    """
    for e in entries:
        if (e.card.dataset, e.card.arch) == (
            entry.card.dataset,
            entry.card.arch,
        ) and e.defended != entry.defended:
            return e
    return None


def samples_for(dataset: str) -> list[Sample]:
    folder = resource_path("samples", SAMPLE_FOLDERS.get(dataset, "photos"))
    out = []
    for path in sorted(folder.glob("*")):
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            continue
        tail = path.stem.rsplit("_", 1)[-1]
        out.append(Sample(path, int(tail) if tail.isdigit() and "_" in path.stem else None))
    return out


def cards_markdown(entries: list[ModelEntry] | None = None) -> str:
    """resources/models/README.md: every bundled model's card as a table row."""
    entries = bundled_models() if entries is None else entries
    lines = [
        "# Bundled models",
        "",
        "Made by `resources/models/build.sh` with the project's own CLI (`fgsm-studio-cli train`);",
        "rerun it to rebuild them. Weights are stored in float16 (int8, a scale per output channel,",
        "where the size says so: `fgsm-studio-cli shrink`); `tests/core/test_bundled.py` checks",
        "that each model still matches its card on the committed held-out data. Accuracies in %, on",
        "the held-out part named in the last column; epsilon in pixel units (images in [0, 1]).",
        "PGD: 10 steps of 2.5*eps/10 from a random start. Worst case: per image, the worst of",
        "FGSM, PGD, APGD-CE and APGD-T (`core.measure.robustness`; its steps and images are in the card's",
        '`metrics["robustness"]` and in the top README\'s table; `-`: not measured).',
        "",
        "| file | model | dataset | defense | clean | FGSM 0.1 | PGD 0.1 | worst 0.1 | FGSM 0.3 | PGD 0.3 "
        "| worst 0.3 | held out | size |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in entries:
        c, m = e.card, e.metrics
        t = c.training
        defense = (
            f"WR_FGSM a1={t.get('a1')} a2={t.get('a2')} ({t.get('reg')}, eps {t.get('epsilon')})"
            if is_paper(c.defense)
            else f"{c.defense.upper()} a1={t.get('a1')} (eps {t.get('epsilon')}, augment "
            f"{t.get('augment', 'none')})"
            if e.defended
            else "standard"
        )

        def acc(attack: str, eps: float, m: EvalResult | None = m) -> str:
            v = None if m is None else m.get(attack, eps)
            return "-" if v is None else f"{100 * v:.1f}"

        clean = "-" if m is None else f"{100 * m.clean:.1f}"
        held = "-, n=-" if m is None else f"{m.held_out or '-'}, n={m.n}"
        lines.append(
            f"| `{e.path.name}` | {c.arch} | {c.dataset} | {defense} | {clean} | {acc('fgsm', 0.1)} | "
            f"{acc('pgd', 0.1)} | {acc('worst-case', 0.1)} | {acc('fgsm', 0.3)} | {acc('pgd', 0.3)} | "
            f"{acc('worst-case', 0.3)} | {held} | {e.path.stat().st_size / 2**20:.2f} MB"
            f"{', int8' if c.storage == 'int8' else ''} |"
        )
    total = sum(e.path.stat().st_size for e in entries) / 2**20
    lines += ["", f"Total: {total:.1f} MB in {len(entries)} files.", ""]
    masked = [e for e in entries if e.card.metrics.get("fgsm_masked")]
    if masked:  # written by `fgsm-studio-cli measure --publish` (core.measure.report)
        lines += [
            "FGSM figures that are masked (PGD takes 25 points or more beyond FGSM: the one "
            "step met a useless gradient, so the FGSM figure says nothing about robustness):",
            "",
        ]
        lines += [f"- `{e.path.name}`: " + "; ".join(e.card.metrics["fgsm_masked"]) for e in masked]
        lines.append("")
    return "\n".join(lines)
