"""Weights stored in 8 bits (``save(int8=True)``, ``core.models.int8``): about a quarter of
float32, the same answers, float checkpoints unchanged, and hostile files refused.

The bundled set has a cap of 150 MB (issue 16); a ResNet50 is 45 MB in float16 and
about 23 MB in int8 with a float32 scale per output channel.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from safetensors.torch import save as st_save

from fgsm_studio.core.models.card import CheckpointError, ModelCard
from fgsm_studio.core.models.checkpoint import load, read_card, save
from fgsm_studio.core.models.networks import build

SCALE = ".__int8_scale__"
WEIGHT = "net.features.3.weight"  # a conv of small_cnn: 64 output channels


def _card(**kw) -> ModelCard:
    base = dict(
        arch="small_cnn",
        num_classes=10,
        class_names=[str(i) for i in range(10)],
        in_channels=1,
        image_size=28,
        mean=[0.13],
        std=[0.31],
        dataset="mnist-5k",
        training={"defense": "none"},
    )
    base.update(kw)
    return ModelCard(**base)


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return build(
        "small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31]
    ).eval()


def test_int8_round_trip_gives_the_same_answers_in_a_quarter_of_float32(tmp_path, small):
    x = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    full = save(tmp_path / "full.safetensors", small, _card())
    q = save(tmp_path / "q.safetensors", small, _card(), int8=True)
    assert q.stat().st_size <= 0.3 * full.stat().st_size
    loaded, card = load(q)
    assert card.storage == "int8" and card.storage_note() == "weights stored in 8 bits"
    assert read_card(q).storage == "int8"
    assert not loaded.training
    assert all(p.dtype == torch.float32 for p in loaded.state_dict().values())
    with torch.no_grad():
        a, b = small(x), loaded(x)
    assert torch.equal(a.argmax(1), b.argmax(1))
    assert (a - b).abs().max() <= 0.02 * a.abs().max()
    with safe_open(str(q), framework="pt") as f:
        assert f.metadata()["fgsm_studio_weights"] == "int8-per-channel"
        assert f.get_slice(WEIGHT).get_dtype() == "I8"
        assert f.get_slice(WEIGHT + SCALE).get_shape() == [64]
        assert f.get_slice("net.features.3.bias").get_dtype() == "F16"
        assert f.get_slice("normalize.mean").get_dtype() == "F32"  # the mean/std stay exact


def test_a_resnet50_in_int8_is_half_its_float16_size(tmp_path):
    torch.manual_seed(0)
    kw = dict(num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31], stem="half")
    model = build("resnet50", **kw).eval()
    card = _card(arch="resnet50", stem="half")
    half = save(tmp_path / "half.safetensors", model, card, half=True).stat().st_size
    q = save(tmp_path / "q.safetensors", model, card, int8=True)
    assert q.stat().st_size <= 0.55 * half
    loaded, _ = load(q)
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = model(x), loaded(x)
    assert (a - b).abs().max() <= 0.05 * a.abs().max()


def test_a_zero_channel_gets_scale_one_and_stays_zero(tmp_path, small):
    state = {k: v.clone() for k, v in small.state_dict().items()}
    state[WEIGHT][5] = 0
    path = save(tmp_path / "q.safetensors", state, _card(), int8=True)
    assert load_file(path)[WEIGHT + SCALE][5] == 1
    loaded, _ = load(path)
    assert not loaded.state_dict()[WEIGHT][5].any()


def test_float_files_are_written_and_read_as_before(tmp_path, small):
    card = _card()
    path = save(tmp_path / "half.safetensors", small, card, half=True)
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    assert set(meta) == {"fgsm_studio_card"}
    assert "storage" not in json.loads(meta["fgsm_studio_card"])
    tensors = {
        k: (v.half() if not k.startswith("normalize.") else v).contiguous()
        for k, v in small.state_dict().items()
    }
    assert path.read_bytes() == st_save(tensors, metadata=meta)  # no scale, no new key
    old = json.loads(meta["fgsm_studio_card"])  # as a card was written before int8 existed
    assert ModelCard.from_dict(old).to_dict() == old and ModelCard.from_dict(old).storage == "float"
    assert load(path)[1].storage == "float" and read_card(path).storage_note() == ""


def test_the_card_written_says_what_the_file_holds(tmp_path, small):
    q = save(tmp_path / "q.safetensors", small, _card(), int8=True)
    again = save(tmp_path / "again.safetensors", *load(q), half=True)  # an int8 card, saved float
    assert read_card(again).storage == "float" and "storage" not in read_card(again).to_dict()
    with pytest.raises(CheckpointError, match="unknown weight storage 'int4'"):
        ModelCard.from_dict({**_card().to_dict(), "storage": "int4"})


def _rewrite(path, tmp_path, change_tensors=None, change_card=None, meta=None):
    """A copy of an int8 file with its tensors, card or metadata changed."""
    tensors = load_file(path)
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata())
    if change_tensors:
        change_tensors(tensors)
    if change_card:
        card = json.loads(metadata["fgsm_studio_card"])
        change_card(card)
        metadata["fgsm_studio_card"] = json.dumps(card)
    if meta is not None:
        metadata.pop("fgsm_studio_weights")
        metadata.update(meta)
    bad = tmp_path / "bad.safetensors"
    save_file({k: v.contiguous() for k, v in tensors.items()}, bad, metadata=metadata)
    return bad


def _set(key, value):
    return lambda t: t.__setitem__(key, value(t))


def _drop(key):
    return lambda t: t.pop(key)


def _scale(fill):
    return _set(WEIGHT + SCALE, lambda t: torch.full_like(t[WEIGHT + SCALE], fill))


HOSTILE = [
    ("missing scale", dict(change_tensors=_drop(WEIGHT + SCALE)), "in 8 bits without its scale"),
    (
        "scale for a float tensor",
        dict(change_tensors=_set("net.features.3.bias" + SCALE, lambda t: torch.ones(64))),
        "has a scale for net.features.3.bias, which is not a tensor stored in 8 bits",
    ),
    (
        "scale for nothing",
        dict(change_tensors=_set("net.nothing" + SCALE, lambda t: torch.ones(3))),
        "has a scale for net.nothing, which is not",
    ),
    (
        "scale of the wrong shape",
        dict(change_tensors=_set(WEIGHT + SCALE, lambda t: t[WEIGHT + SCALE][:-1])),
        r"a scale of shape \[63\] for net.features.3.weight, which needs one per output channel",
    ),
    (
        "scale of 2 dimensions",
        dict(change_tensors=_set(WEIGHT + SCALE, lambda t: t[WEIGHT + SCALE][:, None])),
        r"a scale of shape \[64, 1\]",
    ),
    ("zero scale", dict(change_tensors=_scale(0.0)), "not a finite number above zero"),
    ("negative scale", dict(change_tensors=_scale(-0.01)), "not a finite number above zero"),
    ("NaN scale", dict(change_tensors=_scale(float("nan"))), "not a finite number above zero"),
    ("infinite scale", dict(change_tensors=_scale(float("inf"))), "not a finite number above"),
    (
        "integer scale",
        dict(change_tensors=_set(WEIGHT + SCALE, lambda t: torch.ones(64, dtype=torch.int8))),
        r"not a floating-point number \(I8\)",
    ),
    (
        "int8 bias",
        dict(
            change_tensors=lambda t: t.update(
                {"net.features.3.bias": torch.ones(64, dtype=torch.int8)}
                | {"net.features.3.bias" + SCALE: torch.ones(64)}
            )
        ),
        "stores net.features.3.bias in 8 bits, but that tensor must be kept as a floating",
    ),
    (
        "int8 normalization",
        dict(
            change_tensors=lambda t: t.update(
                {"normalize.mean": torch.ones(1, 1, 1, 1, dtype=torch.int8)}
                | {"normalize.mean" + SCALE: torch.ones(1)}
            )
        ),
        "stores normalize.mean in 8 bits, but that tensor must be kept",
    ),
    (
        "int8 tensors, card says float",
        dict(change_card=lambda c: c.pop("storage"), meta={}),
        "stores weights in 8 bits, but its model card does not say so",
    ),
    (
        "card says int8, metadata does not",
        dict(meta={}),
        "and its model card disagree on whether its weights are stored in 8 bits",
    ),
    (
        "metadata says int8, card does not",
        dict(change_card=lambda c: c.pop("storage")),
        "and its model card disagree",
    ),
    (
        "an unknown storage",
        dict(meta={"fgsm_studio_weights": "int4-per-group"}),
        "keeps its weights as 'int4-per-group', which this FGSM Studio cannot read",
    ),
]


@pytest.mark.parametrize(("what", "change", "match"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_int8_files_are_refused_with_one_sentence(tmp_path, small, what, change, match):
    q = save(tmp_path / "q.safetensors", small, _card(), int8=True)
    bad = _rewrite(q, tmp_path, **change)
    with pytest.raises(CheckpointError, match=match) as info:
        load(bad)
    text = str(info.value)
    assert "bad.safetensors" in text and "\n" not in text and text.endswith(".")


def test_a_card_that_claims_int8_for_float_weights_is_refused(tmp_path, small):
    path = save(tmp_path / "half.safetensors", small, _card(), half=True)
    bad = tmp_path / "bad.safetensors"
    card = {**_card().to_dict(), "storage": "int8"}
    meta = {"fgsm_studio_card": json.dumps(card), "fgsm_studio_weights": "int8-per-channel"}
    save_file(load_file(path), bad, metadata=meta)
    assert read_card(bad).storage == "int8"  # the header alone cannot tell
    with pytest.raises(CheckpointError, match="says its weights are stored in 8 bits, but none"):
        load(bad)
