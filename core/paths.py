"""Where things are: the bundled resources, and the user's own folders.

Resources (bundled models, samples, the 5000 MNIST digits) live in the
``resources`` folder, which sits beside ``core`` in a checkout (editable
install), in an installed wheel (``fgsm_studio/resources`` beside
``fgsm_studio/core``) and in a PyInstaller bundle (the spec copies it to
``fgsm_studio/resources`` under the bundle's folder). So one rule serves all
three: the folder beside this package, or the bundle's copy when frozen.

The user's folders follow each platform's convention through platformdirs:
data (trained and downloaded models, settings), logs and a cache (partial
downloads). ``FGSM_STUDIO_HOME`` puts all three in one folder (tests point it at
a temporary one). The folders are created on demand; one that cannot be created
(a read-only home) is still returned, and ``unwritable_folders`` says which and
why, so the app can start anyway and tell the user what will not be saved.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "fgsm-studio"
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


def _user_folder(kind: str) -> Path:
    override = os.environ.get("FGSM_STUDIO_HOME")
    if override:
        base = Path(override)
        folder = base if kind == "data" else base / kind
    elif kind == "data":
        folder = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    elif kind == "logs":
        folder = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    else:
        folder = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # reported by unwritable_folders(); each write then says what failed
        pass
    return folder


def user_data_dir() -> Path:
    """Trained and converted models, settings (``FGSM_STUDIO_HOME`` overrides)."""
    return _user_folder("data")


def user_log_dir() -> Path:
    """The app's log file (``$FGSM_STUDIO_HOME/logs`` under the override)."""
    return _user_folder("logs")


def user_cache_dir() -> Path:
    """Partial downloads and other files that can be made again."""
    return _user_folder("cache")


def _write_problem(folder: Path) -> str | None:
    """Why no file can be written in ``folder``, or None when one can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def unwritable_folders() -> list[str]:
    """One sentence per user folder that cannot be written, naming what will not be saved."""
    purposes = (
        ("data", user_data_dir, "trained models, downloaded models and settings"),
        ("log", user_log_dir, "the log file"),
        ("cache", user_cache_dir, "downloads in progress"),
    )
    problems = []
    for label, folder_of, what in purposes:
        folder = folder_of()
        reason = _write_problem(folder)
        if reason:
            problems.append(
                f"The {label} folder {folder} is not writable ({reason}): {what} will not be saved."
            )
    return problems
