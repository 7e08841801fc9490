"""Checkpoints are data, not code: safetensors weights plus a JSON model card.

``save(path, model, card)`` writes the weights with safetensors and the
``ModelCard`` as JSON in the file's metadata, atomically (a temp file in the
same folder, fsync, then ``os.replace``), so a crash or a full disk never
leaves a half-written model where a good one was.

``load(path)`` never executes anything from the file. A pickle-based PyTorch
file (``.pt``/``.pth``) is refused unless the caller names the architecture
(``arch=`` plus the card fields it needs), and is then read with
``torch.load(weights_only=True)`` as a plain state dict. Every failure is a
``CheckpointError`` with a message for the user: truncated file, header that
lies, unknown format version, card with missing or wrong fields, weights that
do not fit the architecture. Nothing is built until the file's tensor names
and shapes match those the card implies (read from the safetensors header and
compared with the network built on PyTorch's ``meta`` device, which allocates
nothing); a card's JSON may nest at most ``MAX_CARD_DEPTH`` deep; ``image_size``
is bounded by what the architecture and stem can run; and the blank-image check
runs at ``CHECK_SIZE`` pixels, not the card's size.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from .. import catalogue
from ..data.image_files import display_name
from ..measure.evaluation import EvalResult, MetricsError
from ..names import strip_bidi
from .checkpoint_format import CheckpointFormatError, detect_format, json_depth
from .networks import (
    ARCHS,
    MIN_IMAGE_SIZE,
    STEMS,
    Classifier,
    Normalize,
    build,
    max_image_size,
)

FORMAT_VERSION = 1
CARD_KEY = "fgsm_studio_card"
MAX_CHECKPOINT_BYTES = 2 * 1024**3
MAX_CARD_DEPTH = 32  # a real card nests 4 deep (metrics.attacks.fgsm.0.1)
CHECK_SIZE = 32  # the blank-image check's input side: every architecture runs it in ms


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

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


def build_from_card(card: ModelCard) -> Classifier:
    return build(
        card.arch,
        num_classes=card.num_classes,
        in_channels=card.in_channels,
        image_size=card.image_size,
        mean=card.mean,
        std=card.std,
        stem=card.stem,
    )


def save(
    path: str | os.PathLike,
    model: torch.nn.Module | Mapping[str, torch.Tensor],
    card: ModelCard,
    *,
    half: bool = False,
) -> Path:
    """Write weights (a model, or its state dict) + card atomically; ``half`` stores
    float weights as float16."""
    path = Path(path)
    card._validate()
    tensors = {}
    state = model.state_dict() if isinstance(model, torch.nn.Module) else model
    for key, value in state.items():
        value = value.detach().cpu()
        if half and value.is_floating_point() and not key.startswith("normalize."):
            value = value.half()
        tensors[key] = value.contiguous()
    data = st_save(tensors, metadata={CARD_KEY: json.dumps(card.to_dict())})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a model file is ordinary data
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_card(path: str | os.PathLike) -> ModelCard:
    """The card alone, without loading weights (fast, for model lists)."""
    path = Path(path)
    if _detect(path) != "safetensors":
        raise CheckpointError(f"{display_name(path)} is a PyTorch file, which has no model card.")
    return _read_safetensors(path, weights=False)[1]


def _detect(path: Path) -> str:
    try:
        return detect_format(path)
    except CheckpointFormatError as exc:
        raise CheckpointError(str(exc)) from None


def _read_safetensors(
    path: Path, *, weights: bool
) -> tuple[dict[str, torch.Tensor], ModelCard, Classifier | None]:
    name = display_name(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            if CARD_KEY not in meta:
                raise CheckpointError(
                    f"{name} is a safetensors file without an FGSM Studio model card, "
                    "so its architecture is unknown."
                )
            try:
                raw = json.loads(meta[CARD_KEY])
                if json_depth(raw, MAX_CARD_DEPTH) > MAX_CARD_DEPTH:
                    raise RecursionError
                card = ModelCard.from_dict(raw)
            except json.JSONDecodeError:
                raise CheckpointError(f"{name} has a model card that is not valid JSON.") from None
            except RecursionError:
                raise CheckpointError(f"{name} has a model card nested too deeply.") from None
            except CheckpointError as exc:
                raise CheckpointError(f"{name}: {exc}") from None
            skeleton = None
            if weights:
                shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
                skeleton = _fit(shapes, card, path)  # before any tensor is read
                tensors = {k: f.get_tensor(k) for k in f.keys()}
            else:
                tensors = {}
    except SafetensorError as exc:
        raise CheckpointError(
            f"{name} is damaged or not a safetensors checkpoint ({exc})."
        ) from None
    return tensors, card, skeleton


def _read_pickle(path: Path, card: ModelCard | None) -> tuple[dict[str, torch.Tensor], ModelCard]:
    if card is None:
        raise CheckpointError(
            f"{display_name(path)} is a PyTorch pickle file. Pickle files can run code when opened, "
            "so FGSM Studio reads them only as plain weights, and only when you say which "
            "architecture and classes they belong to."
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (any failure on an untrusted file is this sentence)
        raise CheckpointError(
            f"{display_name(path)} could not be read as plain weights; it may contain code or be "
            f"damaged ({type(exc).__name__}: {str(exc)[:200]})."
        ) from None
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{display_name(path)} does not hold a dictionary of weight tensors.")
    return obj, card


def load(
    path: str | os.PathLike, *, device: str | torch.device = "cpu", card: ModelCard | None = None
) -> tuple[Classifier, ModelCard]:
    """Load ``(model, card)``; the model is float32, in eval mode, on ``device``.

    ``card`` is needed only for a pickle ``.pth`` file (which has none): it names
    the architecture; the weights may then be the whole ``Classifier``'s or just
    the torchvision network's (``net.`` is added to their keys).
    """
    path = Path(path)
    kind = _detect(path)  # a regular file, parsed: see checkpoint_format
    if path.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"{display_name(path)} is larger than 2 GB; that is not a model FGSM Studio can use."
        )
    if kind in ("pickle", "zip"):
        if card is None:
            from .imagenet import guess_card

            card = guess_card(path)
        tensors, card = _read_pickle(path, card)
        if card.arch == "densenet121":
            from .imagenet import fix_densenet_keys

            tensors = fix_densenet_keys(tensors)
        model = _fit({k: tuple(v.shape) for k, v in tensors.items()}, card, path)
    else:
        tensors, card, skeleton = _read_safetensors(path, weights=True)
        assert skeleton is not None
        model = skeleton
    expected = model.state_dict()  # shapes and dtypes only: the model is on "meta"
    if not any(k.startswith("net.") for k in tensors):
        tensors = {f"net.{k}": v for k, v in tensors.items()}
        normalize = Normalize(card.mean, card.std)
        tensors.setdefault("normalize.mean", normalize.mean)
        tensors.setdefault("normalize.std", normalize.std)
    for key in expected:  # files from older torch releases have no BatchNorm counters
        if key.endswith("num_batches_tracked") and key not in tensors:
            tensors[key] = torch.zeros((), dtype=expected[key].dtype)
    state = {k: v.to(expected[k].dtype) for k, v in tensors.items()}
    if not all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
        raise CheckpointError(
            f"The weights in {display_name(path)} contain NaN or infinite values."
        )
    # The file's tensors become the model's (no random initialisation first); a
    # tensor the state dict does not cover would stay on "meta": then build for real.
    model.load_state_dict(state, strict=True, assign=True)
    if any(t.is_meta for t in (*model.parameters(), *model.buffers())):
        model = build_from_card(card)
        model.load_state_dict(state, strict=True)
    _check_finite_output(model.eval(), card, path)
    return model.to(device), card


def _fit(shapes: dict[str, tuple[int, ...]], card: ModelCard, path: Path) -> Classifier:
    """Refuse weights whose names or shapes are not the card's network's, building nothing.

    The expected shapes come from the network built on the ``meta`` device (no
    memory, no initialisation): a 1 MB file whose card says ResNet50 with
    100,000 classes is refused at once instead of after building 1.7 GB.
    """
    with torch.device("meta"):
        skeleton = build_from_card(card)
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    if not any(k.startswith("net.") for k in shapes):
        shapes = {f"net.{k}": v for k, v in shapes.items()}
        shapes.setdefault("normalize.mean", expected["normalize.mean"])
        shapes.setdefault("normalize.std", expected["normalize.std"])
    for key in expected:  # files from older torch releases have no BatchNorm counters
        if key.endswith("num_batches_tracked"):
            shapes.setdefault(key, expected[key])
    problems = [f"missing {k}" for k in expected if k not in shapes]
    problems += [f"unexpected {k}" for k in shapes if k not in expected]
    problems += [
        f"{k}: file has {v}, model needs {expected[k]}"
        for k, v in shapes.items()
        if k in expected and v != expected[k]
    ]
    if problems:
        shown = "; ".join(problems[:3]) + (
            f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        )
        raise CheckpointError(
            f"The weights in {display_name(path)} do not fit a {card.arch} with "
            f"{card.num_classes} classes and {card.in_channels} input channel(s): {shown}."
        )
    return skeleton


def _check_finite_output(model: Classifier, card: ModelCard, path: Path) -> None:
    """Refuse a model whose answer to a blank image is not a number (issue 11, item 12).

    Finite weights can still give NaN or infinite logits (huge integer weights,
    a std that underflows); such a model would report "class 0 (nan%)" and count
    NaN as class 0 in every accuracy.
    """
    side = min(card.image_size, CHECK_SIZE)  # every architecture here takes any size
    blank = torch.zeros(1, card.in_channels, side, side)
    try:
        with torch.no_grad():
            logits = model(blank)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{display_name(path)} cannot classify a {side}x{side} image "
            f"with its {card.arch} ({str(exc).splitlines()[0][:120]})."
        ) from None
    if not torch.isfinite(logits).all():
        raise CheckpointError(
            f"{display_name(path)} gives outputs that are not numbers (NaN or infinite) for a "
            "blank image, so its answers would be meaningless."
        )
