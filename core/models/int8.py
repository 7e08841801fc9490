"""Weights kept in 8 bits: symmetric int8 with one float32 scale per output channel.

``quantize(state)`` turns a state dict into what ``checkpoint.save(int8=True)`` writes:
every floating tensor of two or more dimensions (conv and linear weights) outside the
``normalize.`` buffers becomes int8 ``q = round(w / s)`` with ``s = max|w| / 127``
over all but the first dimension (a channel of zeros gets ``s = 1``), and its scales
go under ``<key>.__int8_scale__`` (a name no PyTorch state dict uses: module names
cannot hold ``.`` inside a part, and ``__int8_scale__`` is no attribute); every
other floating tensor (biases, BatchNorm, the normalization) becomes float16. A
ResNet50 is then about half its float16 size; a loaded model is float32 as always.

Reading checks before trusting: ``split_header`` takes the file's header (names,
shapes, dtypes), pairs each int8 tensor with its scale, and refuses a tensor
without scale, a scale without tensor, a scale of the wrong shape or of a dtype
that is not floating; ``check_targets`` refuses int8 for a tensor the network keeps
in float (a bias, a BatchNorm statistic, the normalization); ``dequantize`` refuses
scales that are not finite and above zero, then returns float32 weights. Each
refusal is a ``CheckpointError`` sentence naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch

from .card import CheckpointError

SCALE_SUFFIX = ".__int8_scale__"
STORAGE_KEY = "fgsm_studio_weights"  # safetensors metadata: how the weights are kept
STORAGE_VALUE = "int8-per-channel"
INT8_DTYPE = "I8"  # safetensors' dtype names, as the header gives them
FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")
KEEP_FLOAT = "normalize."  # the dataset's mean/std stay exact


def quantizable(key: str, value: torch.Tensor) -> bool:
    """True for the tensors kept in 8 bits: floating, 2+ dimensions, not normalization."""
    return (
        value.is_floating_point()
        and value.ndim >= 2
        and value.numel() > 0
        and not key.startswith(KEEP_FLOAT)
    )


def quantize(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors ``save(int8=True)`` writes (see the module doc), all contiguous on CPU."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        value = value.detach().cpu()
        if quantizable(key, value):
            w = value.float()
            amax = w.abs().flatten(1).amax(dim=1)
            scale = torch.where(amax > 0, amax / 127, torch.ones_like(amax))
            q = torch.round(w / scale.view(-1, *[1] * (w.ndim - 1))).clamp_(-127, 127)
            out[key] = q.to(torch.int8).contiguous()
            out[key + SCALE_SUFFIX] = scale.contiguous()
        elif value.is_floating_point() and not key.startswith(KEEP_FLOAT):
            out[key] = value.half().contiguous()
        else:
            out[key] = value.contiguous()
    return out


def split_header(
    shapes: Mapping[str, tuple[int, ...]], dtypes: Mapping[str, str], name: str
) -> tuple[dict[str, tuple[int, ...]], set[str]]:
    """(the shapes without the scale entries, the names of the int8 tensors), each pair
    checked from the header alone, before any tensor is read."""
    int8 = {k for k, d in dtypes.items() if d == INT8_DTYPE and not k.endswith(SCALE_SUFFIX)}
    scales = {k.removesuffix(SCALE_SUFFIX): k for k in shapes if k.endswith(SCALE_SUFFIX)}
    for key in sorted(int8 - scales.keys()):
        raise CheckpointError(f"{name} stores {key[:80]} in 8 bits without its scale.")
    for key in sorted(scales.keys() - int8):
        raise CheckpointError(
            f"{name} has a scale for {key[:80]}, which is not a tensor stored in 8 bits."
        )
    for key, scale_key in sorted(scales.items()):
        if len(shapes[key]) < 2:
            raise CheckpointError(
                f"{name} stores {key[:80]} in 8 bits, but that tensor must be kept "
                "as a floating-point number."
            )
        if shapes[scale_key] != (want := shapes[key][0],):
            raise CheckpointError(
                f"{name} has a scale of shape {list(shapes[scale_key])} for {key[:80]}, "
                f"which needs one per output channel ([{want}])."
            )
        if dtypes[scale_key] not in FLOAT_DTYPES:
            raise CheckpointError(
                f"{name} has a scale for {key[:80]} that is not a floating-point number "
                f"({dtypes[scale_key]})."
            )
    return {k: v for k, v in shapes.items() if not k.endswith(SCALE_SUFFIX)}, int8


def check_targets(
    int8: Iterable[str], expected: Mapping[str, torch.Tensor], name: str, prefix: str = ""
) -> None:
    """Refuse int8 for any tensor ``save(int8=True)`` keeps in float (``expected`` is the
    network's state dict on the meta device; ``prefix`` is what the loader adds to keys)."""
    for key in sorted(int8):
        target = expected.get(prefix + key)
        if target is not None and not quantizable(prefix + key, target):
            raise CheckpointError(
                f"{name} stores {key[:80]} in 8 bits, but that tensor must be kept "
                "as a floating-point number."
            )


def dequantize(
    tensors: Mapping[str, torch.Tensor], int8: Iterable[str], name: str
) -> dict[str, torch.Tensor]:
    """The float32 weights of the int8 tensors (scales checked), other tensors unchanged."""
    out = {k: v for k, v in tensors.items() if not k.endswith(SCALE_SUFFIX)}
    for key in sorted(int8):
        scale = tensors[key + SCALE_SUFFIX].float()
        if not (torch.isfinite(scale).all() and (scale > 0).all()):
            raise CheckpointError(
                f"{name} has a scale for {key[:80]} that is not a finite number above zero."
            )
        q = tensors[key]
        out[key] = q.float() * scale.view(-1, *[1] * (q.ndim - 1))
    return out
