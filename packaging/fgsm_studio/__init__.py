"""FGSM Studio: see, live, how a tiny adversarial perturbation fools a CNN.

One import package over the checkout's three folders (pyproject.toml maps them
with setuptools' ``package-dir``): ``fgsm_studio.core`` (the science, no Qt),
``fgsm_studio.gui`` (the window) and ``fgsm_studio.resources`` (bundled models,
samples, data). This file and ``__main__.py`` are the package's own two files.
"""

from __future__ import annotations

from importlib import metadata


def _version() -> str:
    try:
        return metadata.version("fgsm-studio")
    except metadata.PackageNotFoundError:  # a frozen bundle built without metadata
        return "0+unknown"


__version__ = _version()
