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

import torch

from core.checkpoint import CheckpointError, ModelCard, read_card
from core.images import ImageError, load_image, to_model_input
from core.paths import resource_path
from core.session import AttackSession

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
        return self.card.defense == "wr_fgsm"

    @property
    def title(self) -> str:
        return self.card.title()

    def summary(self) -> str:
        """One line of the card's numbers, e.g. 'clean 98.0%, FGSM@0.1 79.2%'."""
        m = self.card.metrics
        parts = []
        if "clean" in m:
            parts.append(f"clean {100 * m['clean']:.1f}%")
        for attack in ("fgsm", "pgd"):
            per = m.get("attacks", {}).get(attack, {})
            if "0.1" in per:
                parts.append(f"{attack.upper()}@0.1 {100 * per['0.1']:.1f}%")
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
    return sorted(entries, key=lambda e: (order.get(e.card.dataset, 9), e.card.arch != "small_cnn", e.defended))


def default_model(entries: list[ModelEntry] | None = None) -> ModelEntry | None:
    entries = bundled_models() if entries is None else entries
    for e in entries:
        if e.path.name == DEFAULT_MODEL:
            return e
    return entries[0] if entries else None


def twin(entry: ModelEntry, entries: list[ModelEntry]) -> ModelEntry | None:
    """Same dataset and architecture, the other defense (the standard one's defended twin)."""
    for e in entries:
        if (e.card.dataset, e.card.arch) == (entry.card.dataset, entry.card.arch) and e.defended != entry.defended:
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


def first_screen(model: torch.nn.Module, card: ModelCard, samples: list[Sample], epsilons: torch.Tensor) -> tuple:
    """The sample and epsilon for the opening frame: the sample the model gets right
    that FGSM flips at the smallest epsilon, and that epsilon rounded up a little."""
    best = (samples[0], 0.1)
    smallest = 1.0
    for s in samples:
        try:
            image = to_model_input(load_image(s.path), card.in_channels, card.image_size)
        except ImageError:
            continue
        session = AttackSession(model, image)
        if s.label is not None and session.pred_clean != s.label:
            continue
        if float(session.probs_clean.max()) < 0.95:  # a confident start makes the flip convincing
            continue
        flip = session.sweep(epsilons).flip_epsilon
        if flip is not None and 0.02 <= flip < smallest:
            smallest = flip
            best = (s, min(0.5, round(flip + 0.015, 2)))
    return best
