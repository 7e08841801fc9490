"""core.models.checkpoint: round trips, and hostile or broken files refused without running anything."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from fgsm_studio.core.models.card import CheckpointError, ModelCard
from fgsm_studio.core.models.checkpoint import load, read_card, save
from fgsm_studio.core.models.networks import build
from tests.payload import Payload


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
        training={"defense": "wr_fgsm", "a1": 0.5, "a2": 0.5, "epsilon": 0.1},
    )
    base.update(kw)
    return ModelCard(**base)


def _model():
    torch.manual_seed(0)
    return build(
        "small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31]
    ).eval()


def test_round_trip(tmp_path):
    model, x = _model(), torch.rand(4, 1, 28, 28)
    path = save(tmp_path / "m.safetensors", model, _card(metrics={"n": 10, "clean": 0.99}))
    loaded, card = load(path)
    assert card.arch == "small_cnn" and card.metrics == {"n": 10, "clean": 0.99}
    assert card.training["a1"] == 0.5 and card.defense == "wr_fgsm"
    assert not loaded.training
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert read_card(path).class_names == card.class_names
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temp file left


def test_half_storage_is_smaller_and_close(tmp_path):
    model, x = _model(), torch.rand(4, 1, 28, 28)
    full = save(tmp_path / "full.safetensors", model, _card())
    half = save(tmp_path / "half.safetensors", model, _card(), half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded, _ = load(half)
    assert next(loaded.parameters()).dtype == torch.float32
    with torch.no_grad():
        assert torch.allclose(model(x), loaded(x), atol=1e-2)


def test_malicious_pickle_does_not_run(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("PAYLOAD_MARKER", str(marker))
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"net.weight": Payload()}))
    zipped = tmp_path / "evil_zip.pth"
    torch.save({"x": Payload()}, zipped)
    for path in (evil, zipped):
        with pytest.raises(CheckpointError, match="pickle"):
            load(path)
        with pytest.raises(CheckpointError, match="plain weights"):
            load(path, card=_card())
    assert not marker.exists()


def test_plain_pth_state_dict_loads_with_named_arch(tmp_path):
    model = _model()
    path = tmp_path / "weights.pth"
    torch.save(model.net.state_dict(), path)  # a torchvision-style state dict, no wrapper
    loaded, card = load(path, card=_card())
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_truncated_file(tmp_path):
    path = save(tmp_path / "m.safetensors", _model(), _card())
    data = path.read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 10):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            load(bad)


def test_header_that_lies(tmp_path):
    path = save(tmp_path / "m.safetensors", _model(), _card())
    data = bytearray(path.read_bytes())
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    first = next(k for k in header if k != "__metadata__")
    header[first]["data_offsets"][1] += 10**9
    raw = json.dumps(header).encode()
    lie = tmp_path / "lie.safetensors"
    lie.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(data[8 + n :]))
    with pytest.raises(CheckpointError):
        load(lie)


def test_wrong_architecture_and_shapes(tmp_path):
    path = save(tmp_path / "m.safetensors", _model(), _card())
    torch.save(_model().state_dict(), tmp_path / "w.pth")
    with pytest.raises(CheckpointError, match="do not fit a mobilenet_v2"):
        load(tmp_path / "w.pth", card=_card(arch="mobilenet_v2"))
    five = _card(num_classes=5, class_names=list("abcde"))
    with pytest.raises(CheckpointError, match="5 classes"):
        load(tmp_path / "w.pth", card=five)
    assert load(path)[1].num_classes == 10


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"format_version": 99}, "format 99"),
        ({"arch": "alexnet"}, "unknown architecture"),
        ({"num_classes": "ten"}, "num_classes"),
        ({"class_names": ["a"]}, "class_names"),
        ({"mean": [0.1, 0.2]}, "mean"),
        ({"std": [0.0]}, "std"),
        ({"arch": None}, "architecture"),
    ],
)
def test_bad_cards_are_refused(tmp_path, change, match):
    path = save(tmp_path / "m.safetensors", _model(), _card())
    from safetensors.torch import load_file, save_file

    d = _card().to_dict()
    d.update(change)
    save_file(
        load_file(path), tmp_path / "bad.safetensors", metadata={"fgsm_studio_card": json.dumps(d)}
    )
    with pytest.raises(CheckpointError, match=match):
        load(tmp_path / "bad.safetensors")


def test_missing_card_fields_and_no_card(tmp_path):
    from safetensors.torch import save_file

    weights = {k: v.contiguous() for k, v in _model().state_dict().items()}
    save_file(weights, tmp_path / "nocard.safetensors")
    with pytest.raises(CheckpointError, match="without an FGSM Studio model card"):
        load(tmp_path / "nocard.safetensors")
    save_file(
        weights,
        tmp_path / "half.safetensors",
        metadata={"fgsm_studio_card": json.dumps({"arch": "small_cnn"})},
    )
    with pytest.raises(CheckpointError, match="missing"):
        load(tmp_path / "half.safetensors")
    save_file(weights, tmp_path / "junk.safetensors", metadata={"fgsm_studio_card": "{not json"})
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load(tmp_path / "junk.safetensors")


def test_nan_weights_refused(tmp_path):
    model = _model()
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    path = save(tmp_path / "nan.safetensors", model, _card())
    with pytest.raises(CheckpointError, match="NaN"):
        load(path)


def test_not_a_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load(tmp_path / "missing.safetensors")
    (tmp_path / "text.safetensors").write_text("hello")
    with pytest.raises(CheckpointError):
        load(tmp_path / "text.safetensors")
