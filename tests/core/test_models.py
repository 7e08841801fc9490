"""The small-input stems of the paper's networks and the card field that names them."""

import pytest
import torch


@pytest.mark.parametrize("arch", ["mobilenet_v2", "resnet50", "densenet121"])
def test_half_stem_works_on_a_quarter_of_the_pixels(arch):
    """stem="half" (the bundled paper networks on digits): 28 px -> 14 px into stage one."""
    from fgsm_studio.core.models.networks import build

    kw = dict(num_classes=10, in_channels=1, image_size=28, mean=[0.1], std=[0.3])
    half, cifar = build(arch, stem="half", **kw), build(arch, **kw)
    seen = {}

    def record(name):
        def hook(_module, _inputs, out):
            seen[name] = out.shape[-1]

        return hook

    first = {
        "mobilenet_v2": lambda n: n.features[0],
        "resnet50": lambda n: n.conv1,
        "densenet121": lambda n: n.features.conv0,
    }[arch]
    first(half.net).register_forward_hook(record("half"))
    first(cifar.net).register_forward_hook(record("cifar"))
    x = torch.rand(2, 1, 28, 28)
    assert half(x).shape == cifar(x).shape == (2, 10)
    assert (seen["half"], seen["cifar"]) == (14, 28)


def test_stem_travels_in_the_card(tmp_path):
    from fgsm_studio.core.models import checkpoint
    from fgsm_studio.core.models.card import CheckpointError, ModelCard
    from fgsm_studio.core.models.networks import build

    model = build(
        "resnet50", num_classes=10, in_channels=1, image_size=28, mean=[0.1], std=[0.3], stem="half"
    )
    card = ModelCard(
        arch="resnet50",
        num_classes=10,
        class_names=[str(i) for i in range(10)],
        in_channels=1,
        image_size=28,
        mean=[0.1],
        std=[0.3],
        stem="half",
    )
    path = checkpoint.save(tmp_path / "m.safetensors", model, card)
    loaded, card2 = checkpoint.load(path)
    assert card2.stem == "half" and loaded.net.conv1.stride == (2, 2)
    with pytest.raises(CheckpointError, match="unknown stem"):
        ModelCard.from_dict({**card.to_dict(), "stem": "sideways"})
