"""The one resource-path helper.

Resources (bundled models, samples, the 5000 MNIST digits) live in the
``resources`` folder, which sits beside ``core`` in a checkout (editable
install), in an installed wheel (``fgsm_studio/resources`` beside
``fgsm_studio/core``) and in a PyInstaller bundle (the spec copies it to
``fgsm_studio/resources`` under the bundle's folder). So one rule serves all
three: the folder beside this package, or the bundle's copy when frozen.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resources_dir() -> Path:
    """The folder holding bundled models, samples and data."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "fgsm_studio" / "resources"
    return _HERE.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("models", "x.safetensors")``."""
    return resources_dir().joinpath(*parts)


def user_data_dir() -> Path:
    """Where the app writes trained models, logs and settings (created on demand).

    ``FGSM_STUDIO_HOME`` overrides it (tests point it at a temporary folder).
    """
    override = os.environ.get("FGSM_STUDIO_HOME")
    if override:
        base = Path(override)
    elif sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home())) / "FGSM Studio"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "FGSM Studio"
    else:
        base = (
            Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "fgsm-studio"
        )
    base.mkdir(parents=True, exist_ok=True)
    return base
