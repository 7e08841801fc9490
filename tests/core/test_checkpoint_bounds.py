"""Opening a checkpoint costs what the file holds, not what its card claims.

Issue 20, section 1 (checkpoints): a 1 MB file whose card said ResNet50 with
100,000 classes was refused only after the network was built (60 s, 1.7 GB); a
header of 1,000,000 empty tensors took 4 minutes to open; a ResNet50 card of
1024 px with the CIFAR stem ran the load's blank-image check for 5 minutes; a
card nested 600 deep loaded and then raised RecursionError. Section 3: card
metrics the typed ``EvalResult`` cannot read passed the card validator.
"""

from __future__ import annotations

import json
import struct

import pytest
import torch
from safetensors.torch import save_file

import fgsm_studio.core.models.checkpoint as checkpoint
from fgsm_studio.core.models.card import CheckpointError, ModelCard
from fgsm_studio.core.models.checkpoint import load, read_card, save
from fgsm_studio.core.models.checkpoint_format import MAX_TENSORS
from fgsm_studio.core.models.networks import build


def _card(**kw) -> dict:
    base = dict(
        arch="small_cnn",
        num_classes=2,
        class_names=["a", "b"],
        in_channels=1,
        image_size=8,
        mean=[0.5],
        std=[0.25],
    )
    return {**base, **kw}


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build("small_cnn", num_classes=2, in_channels=1, image_size=8, mean=[0.5], std=[0.25])


def _file(tmp_path, tiny, card: dict | str):
    path = tmp_path / "m.safetensors"
    text = card if isinstance(card, str) else json.dumps(card)
    weights = {k: v.contiguous() for k, v in tiny.state_dict().items()}
    save_file(weights, path, metadata={"fgsm_studio_card": text})
    return path


def test_weights_that_do_not_fit_the_card_are_refused_before_building(tmp_path, tiny, monkeypatch):
    classes = 30_000  # the 100,000 built 1.7 GB; this one would build 250 MB
    card = _card(arch="resnet50", num_classes=classes, class_names=[str(i) for i in range(classes)])
    card.update(in_channels=3, mean=[0.5] * 3, std=[0.25] * 3, image_size=32)
    path = _file(tmp_path, tiny, card)
    built = []
    real_build = checkpoint.build_from_card

    def recording(c):
        model = real_build(c)
        built.append(next(model.parameters()).device.type)
        return model

    monkeypatch.setattr(checkpoint, "build_from_card", recording)
    with pytest.raises(CheckpointError, match=r"do not fit a resnet50 with 30000 classes"):
        load(path)
    assert built == ["meta"]  # compared with a network that holds no memory


def test_a_checkpoint_still_loads_with_its_weights_and_no_tensor_left_on_meta(tmp_path, tiny):
    path = save(tmp_path / "ok.safetensors", tiny, ModelCard(**_card()))
    model, _ = load(path)
    for name, value in tiny.state_dict().items():
        assert torch.equal(model.state_dict()[name], value), name
    assert not any(t.is_meta for t in (*model.parameters(), *model.buffers()))
    assert all(p.requires_grad for p in model.parameters())


def _header_file(path, entries: int) -> None:
    header = {
        f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(entries)
    }
    header["__metadata__"] = {"fgsm_studio_card": json.dumps(_card())}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)


def test_a_header_of_too_many_tensors_is_refused_before_safetensors_reads_it(tmp_path):
    path = tmp_path / "many.safetensors"
    _header_file(path, MAX_TENSORS + 1)
    for reader in (load, read_card):
        with pytest.raises(CheckpointError, match=r"lists 10,001 tensors; .* up to 10,000"):
            reader(path)


def test_image_size_is_bounded_by_what_the_architecture_and_stem_can_run():
    rgb = dict(in_channels=3, mean=[0.5] * 3, std=[0.25] * 3)
    with pytest.raises(CheckpointError, match="cifar stem can run \\(at most 256 pixels\\)"):
        ModelCard.from_dict(_card(arch="resnet50", stem="cifar", image_size=1024, **rgb))
    with pytest.raises(CheckpointError, match="half stem can run \\(at most 512"):
        ModelCard.from_dict(_card(arch="resnet50", stem="half", image_size=600, **rgb))
    ModelCard.from_dict(_card(arch="resnet50", stem="auto", image_size=1024, **rgb))
    ModelCard.from_dict(_card(arch="resnet50", stem="cifar", image_size=256, **rgb))
    ModelCard.from_dict(_card(arch="small_cnn", image_size=1024))


def test_the_blank_image_check_runs_at_a_small_size(tmp_path, tiny):
    path = save(tmp_path / "big.safetensors", tiny, ModelCard(**_card(image_size=512)))
    seen = []
    real = checkpoint._check_finite_output  # noqa: SLF001

    def spy(model, card, p):
        handle = model.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape))
        try:
            real(model, card, p)
        finally:
            handle.remove()

    checkpoint._check_finite_output = spy  # noqa: SLF001
    try:
        _, card = load(path)
    finally:
        checkpoint._check_finite_output = real  # noqa: SLF001
    assert card.image_size == 512 and seen == [torch.Size([1, 1, 32, 32])]


def test_a_card_nested_600_deep_is_refused_when_read(tmp_path, tiny):
    deep: dict = {}
    for _ in range(600):
        deep = {"x": deep}
    path = _file(tmp_path, tiny, _card(training=deep))
    for reader in (load, read_card):
        with pytest.raises(CheckpointError, match="nested too deeply"):
            reader(path)
    shallow = _file(tmp_path, tiny, _card(training={"a": {"b": [1, {"c": 2}]}}))
    assert read_card(shallow).to_dict()["training"]["a"]["b"][1] == {"c": 2}


@pytest.mark.parametrize(
    ("metrics", "match"),
    [
        (
            {"n": 10, "clean": 0.9, "attacks": {"fgsm": {"abc": 0.5}}},
            "epsilon 'abc' is not a number",
        ),
        ({"clean": 0.9, "attacks": {"fgsm": {"0.1": 0.5}}}, "metrics.n .* is missing"),
    ],
)
def test_card_metrics_are_read_by_the_typed_reader_at_load(tmp_path, tiny, metrics, match):
    path = _file(tmp_path, tiny, _card(metrics=metrics))
    for reader in (load, read_card):
        with pytest.raises(CheckpointError, match=match):
            reader(path)


def test_a_header_over_16_mb_is_too_large_not_unknown(tmp_path):
    """The issue's 67 MB header took 4 minutes to open; headers stop at 16 MB."""
    path = tmp_path / "huge.safetensors"
    n = 17 * 2**20
    path.write_bytes(struct.pack("<Q", n) + b"{" + b" " * (n - 2) + b"}")
    with pytest.raises(CheckpointError, match="too large to open: its safetensors header is 17 MB"):
        load(path)
