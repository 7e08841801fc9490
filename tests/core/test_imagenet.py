"""ImageNet models: EfficientNet-Lite0 offline, torchvision .pth files, and offline downloads."""

from __future__ import annotations

import pytest
import torch

from fgsm_studio.core.data.images import load_image, to_model_input
from fgsm_studio.core.models import imagenet, imagenet_cards
from fgsm_studio.core.models.card import CheckpointError
from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.models.networks import build
from fgsm_studio.core.paths import resource_path


def test_class_names_and_cards_need_no_download():
    names = imagenet_cards.categories()
    assert len(names) == 1000 and "orange" in names
    card = imagenet_cards.guess_card("/somewhere/resnet50-11ad3fa6.pth")
    assert card.arch == "resnet50" and card.num_classes == 1000 and card.image_size == 224
    assert imagenet_cards.guess_card("my_model.pth") is None


def test_torchvision_style_pth_opens_by_its_name(tmp_path):
    card = imagenet_cards.imagenet_card("mobilenet_v2")
    net = build(
        "mobilenet_v2",
        num_classes=1000,
        in_channels=3,
        image_size=224,
        mean=card.mean,
        std=card.std,
    ).net.eval()
    path = tmp_path / "mobilenet_v2-7ebf99e0.pth"
    torch.save(net.state_dict(), path)
    model, loaded = load(path)
    assert loaded.dataset == "imagenet" and loaded.class_names[950] == "orange"
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(
            model(x), net((x - model.normalize.mean) / model.normalize.std), atol=1e-5
        )


def test_old_densenet_keys_are_renamed():
    keys = (
        build(
            "densenet121",
            num_classes=1000,
            in_channels=3,
            image_size=224,
            mean=[0.5] * 3,
            std=[0.2] * 3,
        )
        .net.state_dict()
        .keys()
    )
    # torchvision's original file: 'norm.1' for 'norm1', and no BatchNorm counters
    old = {
        k.replace("norm1", "norm.1").replace("conv2", "conv.2"): torch.zeros(1)
        for k in keys
        if not k.endswith("num_batches_tracked")
    }
    assert any("norm.1" in k for k in old)
    assert set(imagenet_cards.fix_densenet_keys(old)) == {
        k for k in keys if not k.endswith("num_batches_tracked")
    }


def test_download_without_internet_says_what_to_do(monkeypatch):
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(CheckpointError, match="offline.*resnet50-11ad3fa6.pth"):
        imagenet.download_torchvision("resnet50")


def test_download_reports_progress_and_checks_the_hash(monkeypatch, tmp_path):
    import io
    import urllib.request

    card = imagenet_cards.imagenet_card("mobilenet_v2")
    net = build(
        "mobilenet_v2",
        num_classes=1000,
        in_channels=3,
        image_size=224,
        mean=card.mean,
        std=card.std,
    ).net
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    payload = buf.getvalue()

    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(payload))}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response(payload))
    said = []
    # The served bytes do not match the hash in torchvision's file name: refused.
    with pytest.raises(CheckpointError, match="checksum"):
        imagenet.download_torchvision("mobilenet_v2", progress=said.append)
    assert said and "MB" in said[-1] and "100%" in said[-1]
    import hashlib

    prefix = hashlib.sha256(payload).hexdigest()[:8]
    monkeypatch.setattr(
        type(tvm_weights()),
        "url",
        property(lambda self: f"https://example/mobilenet_v2-{prefix}.pth"),
    )
    path = imagenet.download_torchvision("mobilenet_v2", progress=said.append)
    model, loaded = load(path)
    assert loaded.dataset == "imagenet" and loaded.num_classes == 1000


def tvm_weights():
    import torchvision.models as tvm

    return tvm.MobileNet_V2_Weights.DEFAULT


@pytest.mark.skipif(
    not imagenet.lite0_available(), reason="the optional 'imagenet' extra is not installed"
)
def test_efficientnet_lite0_offline_sees_the_orange():
    path = imagenet.resolve("imagenet:efficientnet_lite0")
    model, card = load(path)
    x = to_model_input(load_image(resource_path("samples", "photos", "orange.jpg")), 3, 224)
    with torch.no_grad():
        probs = model(x[None]).softmax(1)[0]
    assert card.class_names[int(probs.argmax())] == "orange" and probs.max() > 0.5
    assert imagenet.resolve("imagenet:efficientnet_lite0") == path  # converted once
