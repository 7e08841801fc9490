"""core.models.networks and core.devices."""

from __future__ import annotations

import pytest
import torch

from fgsm_studio.core.devices import available_devices, describe, pick_device
from fgsm_studio.core.models.networks import TRAINABLE, build, regularized_weights


@pytest.mark.parametrize("arch", TRAINABLE)
@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 32)])
def test_every_arch_builds_and_predicts(arch, channels, size):
    model = build(
        arch,
        num_classes=7,
        in_channels=channels,
        image_size=size,
        mean=[0.5] * channels,
        std=[0.25] * channels,
    ).eval()
    with torch.no_grad():
        out = model(torch.rand(2, channels, size, size))
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()


def test_small_input_stems_keep_resolution():
    feats = {}
    model = build(
        "resnet50", num_classes=10, in_channels=3, image_size=32, mean=[0.5] * 3, std=[0.25] * 3
    ).eval()

    def keep(key):
        def hook(module, inputs, output):
            feats[key] = output.shape

        return hook

    model.net.layer4.register_forward_hook(keep("r"))
    mnv2 = build(
        "mobilenet_v2", num_classes=10, in_channels=1, image_size=28, mean=[0.5], std=[0.25]
    ).eval()
    mnv2.net.features.register_forward_hook(keep("m"))
    with torch.no_grad():
        model(torch.rand(1, 3, 32, 32))
        mnv2(torch.rand(1, 1, 28, 28))
    assert feats["r"][-1] == 4 and feats["m"][-1] == 4


def test_normalization_is_the_first_layer():
    model = build("small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.5], std=[0.25])
    x = torch.rand(1, 1, 28, 28)
    assert torch.allclose(model.normalize(x), (x - 0.5) / 0.25)
    assert "normalize.mean" in model.state_dict()


def test_regularized_weights_are_conv_and_linear_weights_only():
    model = build(
        "mobilenet_v2", num_classes=10, in_channels=1, image_size=28, mean=[0.5], std=[0.25]
    )
    ws = regularized_weights(model)
    assert ws and all(w.ndim in (2, 4) for w in ws)
    assert not any(w is model.net.classifier[1].bias for w in ws)


def test_bad_arguments():
    with pytest.raises(ValueError, match="Unknown architecture"):
        build("vgg", num_classes=10, in_channels=1, image_size=28, mean=[0], std=[1])
    with pytest.raises(ValueError, match="mean/std"):
        build("small_cnn", num_classes=10, in_channels=3, image_size=28, mean=[0], std=[1])


def test_devices():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    assert describe("cpu").startswith("CPU")
    assert available_devices()[0][0] == "auto"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            pick_device("cuda")
