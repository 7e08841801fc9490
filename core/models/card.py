"""The model card: what a checkpoint says about its network, its data, how it was
trained and what was measured on it, checked when it is read (``ModelCard``), and the
one error a checkpoint raises for its user (``CheckpointError``).

Apart from ``checkpoint`` (which reads and writes cards with the weights) so that
modules that only describe models (``imagenet_cards``, the reports, the window)
need not import the reader, and the reader need not import them back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from .. import catalogue
from ..measure.evaluation import EvalResult, MetricsError
from ..names import strip_bidi
from .networks import (
    ARCHS,
    MIN_IMAGE_SIZE,
    STEMS,
    max_image_size,
)

FORMAT_VERSION = 1
# How the weights are kept in the file: "float" (as trained: float32, or float16 with
# ``save(half=True)``) or "int8" (8 bits per weight with a float scale per output
# channel, ``save(int8=True)``); every model is float32 once loaded.
STORAGES = ("float", "int8")


class CheckpointError(ValueError):
    """A checkpoint could not be used; the message is meant for the user."""


@dataclass
class ModelCard:
    """What a model is, how it was made and how well it does (all JSON-friendly)."""

    arch: str
    num_classes: int
    class_names: list[str]
    in_channels: int
    image_size: int
    mean: list[float]
    std: list[float]
    dataset: str = "unknown"
    name: str = ""
    training: dict[str, Any] = field(default_factory=dict)  # defense, a1, a2, epsilon, ...
    metrics: dict[str, Any] = field(default_factory=dict)  # measured accuracies
    stem: str = "auto"  # core.models.networks.STEMS: the first layer on small images
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    format_version: int = FORMAT_VERSION
    storage: str = "float"  # STORAGES; written only when not "float" (old cards unchanged)

    @property
    def defense(self) -> str:
        return str(self.training.get("defense", "none"))

    @property
    def defended(self) -> bool:
        """Trained on attacked images (any defense of ``core.catalogue``)."""
        return catalogue.defended(self.defense)

    def title(self) -> str:
        if self.name:
            return self.name
        return f"{self.arch} on {self.dataset} ({catalogue.defense(self.defense).title})"

    def storage_note(self) -> str:
        """What a list or README says about the weights: "" for float, a few words for int8."""
        return "weights stored in 8 bits" if self.storage == "int8" else ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.storage == "float":  # a float card reads as it did before int8 existed
            del data["storage"]
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ModelCard:
        if not isinstance(data, dict):
            raise CheckpointError("The model card is not a JSON object.")
        version = data.get("format_version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
            raise CheckpointError(
                f"This checkpoint uses card format {version!r}; this FGSM Studio reads "
                f"format {FORMAT_VERSION}. Update FGSM Studio to open it."
            )
        known = {f.name for f in fields(cls)}
        required = {
            "arch",
            "num_classes",
            "class_names",
            "in_channels",
            "image_size",
            "mean",
            "std",
        }
        missing = sorted(required - data.keys())
        if missing:
            raise CheckpointError(f"The model card is missing: {', '.join(missing)}.")
        card = cls(**{k: v for k, v in data.items() if k in known})
        card._validate()
        return card

    def _validate(self) -> None:
        def bad(what: str) -> CheckpointError:
            return CheckpointError(f"The model card is invalid: {what}.")

        if self.arch not in ARCHS:
            raise bad(f"unknown architecture {self.arch!r} (known: {', '.join(ARCHS)})")
        if self.storage not in STORAGES:
            raise bad(f"unknown weight storage {self.storage!r:.40} (known: {', '.join(STORAGES)})")
        if self.stem not in STEMS:
            raise bad(f"unknown stem {self.stem!r} (known: {', '.join(STEMS)})")
        for name in ("num_classes", "in_channels", "image_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise bad(f"{name} must be a positive whole number, not {value!r}")
        if self.num_classes < 2 or self.num_classes > 100_000:
            raise bad(f"num_classes {self.num_classes} is out of range")
        if self.in_channels not in (1, 3):
            raise bad(f"in_channels must be 1 or 3, not {self.in_channels}")
        if self.image_size > (top := max_image_size(self.arch, self.stem, self.image_size)):
            raise bad(
                f"image_size {self.image_size} is more than a {self.arch} with the "
                f"{self.stem} stem can run (at most {top} pixels)"
            )
        if self.image_size < MIN_IMAGE_SIZE:
            raise bad(
                f"image_size {self.image_size} is too small: models need at least "
                f"{MIN_IMAGE_SIZE} pixels"
            )
        if not isinstance(self.class_names, list) or len(self.class_names) != self.num_classes:
            raise bad(f"class_names must list {self.num_classes} names")
        self.class_names = [strip_bidi(str(c)) for c in self.class_names]
        for name in ("mean", "std"):
            value = getattr(self, name)
            if (
                not isinstance(value, list)
                or len(value) != self.in_channels
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            ):
                raise bad(f"{name} must be {self.in_channels} numbers")
        if not all(math.isfinite(v) for v in [*self.mean, *self.std]):
            raise bad("mean and std must be finite numbers")
        if any(v < 1e-6 for v in self.std):
            raise bad("std values must be at least 1e-6")
        for name in ("dataset", "name", "created"):
            if not isinstance(getattr(self, name), str):
                raise bad(f"{name} must be text")
        self.name, self.dataset = strip_bidi(self.name), strip_bidi(self.dataset)
        if not isinstance(self.training, dict) or not isinstance(self.metrics, dict):
            raise bad("training and metrics must be JSON objects")
        _validate_metrics(self.metrics, bad)


def _validate_metrics(m: dict[str, Any], bad) -> None:
    """The measured accuracies, as every reader of a card expects them (fractions 0-1)."""

    def fraction(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1

    if "clean" in m and not fraction(m["clean"]):
        raise bad(f"metrics.clean must be a fraction from 0 to 1, not {m['clean']!r:.40}")
    if "n" in m and (not isinstance(m["n"], int) or isinstance(m["n"], bool) or m["n"] < 0):
        raise bad(f"metrics.n must be a whole number, not {m['n']!r:.40}")
    if "held_out" in m and not isinstance(m["held_out"], str):
        raise bad("metrics.held_out must be text")
    attacks = m.get("attacks", {})
    if not isinstance(attacks, dict) or not all(
        isinstance(per, dict) and all(fraction(v) for v in per.values()) for per in attacks.values()
    ):
        raise bad("metrics.attacks must map each attack to {epsilon: fraction from 0 to 1}")
    if "clean" in m and "n" not in m:
        raise bad("metrics.n (how many images were measured) is missing")
    try:  # the one typed reader of metrics: what it refuses here, no panel meets later
        EvalResult.from_card(m)
    except MetricsError:
        bad_keys = [str(e) for per in attacks.values() for e in per if not _is_number(e)]
        what = f"epsilon {bad_keys[0]!r:.40} is not a number" if bad_keys else "unreadable"
        raise bad(f"metrics are not in the expected form ({what})") from None


def _is_number(text: Any) -> bool:
    try:
        return math.isfinite(float(text))
    except (TypeError, ValueError):
        return False
