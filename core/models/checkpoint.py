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

``save(..., int8=True)`` keeps conv and linear weights in 8 bits with a scale per
output channel (``core.models.int8``), which the card (``storage``) and the file's
metadata both say; ``load`` checks that the two agree with the tensors, pairs and
checks every scale from the header before reading, and dequantizes to float32.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from ..data.image_files import display_name
from .card import CheckpointError, ModelCard
from .checkpoint_format import CheckpointFormatError, detect_format, json_depth
from .int8 import STORAGE_KEY, STORAGE_VALUE, check_targets, dequantize, quantize, split_header
from .networks import (
    Classifier,
    Normalize,
    build,
)

CARD_KEY = "fgsm_studio_card"
MAX_CHECKPOINT_BYTES = 2 * 1024**3
MAX_CARD_DEPTH = 32  # a real card nests 4 deep (metrics.attacks.fgsm.0.1)
CHECK_SIZE = 32  # the blank-image check's input side: every architecture runs it in ms


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
    int8: bool = False,
) -> Path:
    """Write weights (a model, or its state dict) + card atomically; ``half`` stores
    float weights as float16, ``int8`` conv and linear weights in 8 bits (and the rest
    in float16: ``core.models.int8``). The card written says which (``storage``)."""
    path = Path(path)
    card._validate()  # as before: the caller's card is checked (and its names cleaned)
    card = replace(card, storage="int8" if int8 else "float")
    state = model.state_dict() if isinstance(model, torch.nn.Module) else model
    if int8:
        tensors = quantize(state)
    else:
        tensors = {}
        for key, value in state.items():
            value = value.detach().cpu()
            if half and value.is_floating_point() and not key.startswith("normalize."):
                value = value.half()
            tensors[key] = value.contiguous()
    metadata = {CARD_KEY: json.dumps(card.to_dict())}
    if int8:
        metadata[STORAGE_KEY] = STORAGE_VALUE
    data = st_save(tensors, metadata=metadata)
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


def resave(path: str | os.PathLike, model: torch.nn.Module, card: ModelCard) -> Path:
    """Write a loaded model back with a new card (figures measured on it), its weights stored
    as ``card.storage`` says: float16, or int8 (quantizing weights that came from int8 gives
    back the same integers and, up to rounding, the same scales)."""
    return save(path, model, card, half=True, int8=card.storage == "int8")


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
            _check_storage(meta.get(STORAGE_KEY), card, name)
            skeleton = None
            if weights:
                shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
                dtypes = {k: f.get_slice(k).get_dtype() for k in f.keys()}
                shapes, int8 = split_header(shapes, dtypes, name)
                if (card.storage == "int8") != bool(int8):
                    raise CheckpointError(
                        f"The card of {name} says its weights are stored in 8 bits, but none are."
                        if not int8
                        else f"{name} stores weights in 8 bits, but its model card does not say so."
                    )
                skeleton = _fit(shapes, card, path, int8)  # before any tensor is read
                tensors = dequantize({k: f.get_tensor(k) for k in f.keys()}, int8, name)
            else:
                tensors = {}
    except SafetensorError as exc:
        raise CheckpointError(
            f"{name} is damaged or not a safetensors checkpoint ({exc})."
        ) from None
    return tensors, card, skeleton


def _check_storage(value: str | None, card: ModelCard, name: str) -> None:
    """The file's metadata and its card say the same about how the weights are kept."""
    if value is not None and value != STORAGE_VALUE:
        raise CheckpointError(
            f"{name} keeps its weights as {value[:40]!r}, which this FGSM Studio cannot "
            "read. Update FGSM Studio to open it."
        )
    if (value == STORAGE_VALUE) != (card.storage == "int8"):
        raise CheckpointError(
            f"{name} and its model card disagree on whether its weights are stored in 8 bits."
        )


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
            from .imagenet_cards import guess_card

            card = guess_card(path)
        tensors, card = _read_pickle(path, card)
        if card.arch == "densenet121":
            from .imagenet_cards import fix_densenet_keys

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


def _fit(
    shapes: dict[str, tuple[int, ...]], card: ModelCard, path: Path, int8: Iterable[str] = ()
) -> Classifier:
    """Refuse weights whose names or shapes are not the card's network's, building nothing.

    The expected shapes come from the network built on the ``meta`` device (no
    memory, no initialisation): a 1 MB file whose card says ResNet50 with
    100,000 classes is refused at once instead of after building 1.7 GB. The names in
    ``int8`` (tensors stored in 8 bits) must be ones ``save(int8=True)`` would store so.
    """
    with torch.device("meta"):
        skeleton = build_from_card(card)
    meta_state = skeleton.state_dict()
    expected = {k: tuple(v.shape) for k, v in meta_state.items()}
    prefix = "" if any(k.startswith("net.") for k in shapes) else "net."
    check_targets(int8, meta_state, display_name(path), prefix)
    if prefix:
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
