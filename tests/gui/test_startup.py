"""The app starts where it can: an unwritable home, no display, a missing X11 library.

Issue 11 items 9 and 11: a read-only data folder, log file or HOME never stops the
window (it says what will not be saved); ``--self-test`` checks the platform the app
will use; a Qt platform that cannot load is one sentence naming the missing library
and the apt command, never Qt's abort.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from logging.handlers import RotatingFileHandler

import pytest

from fgsm_studio import __version__
from fgsm_studio.gui import errors, platform_check


def _run(args: list[str], env: dict[str, str], timeout: int = 240):
    return subprocess.run(
        [sys.executable, "-m", "fgsm_studio", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("FGSM_STUDIO_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env.pop(key, None)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_version_flag():
    result = _run(["--version"], _env(), timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"fgsm-studio {__version__}"


def test_the_window_starts_under_an_unwritable_home(tmp_path):
    """HOME under a regular file: nothing can be created there, even by root."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    shot = tmp_path / "shot.png"
    result = _run(
        ["--screenshot", str(shot)], _env(HOME=str(blocker / "home"), QT_QPA_PLATFORM="offscreen")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert shot.stat().st_size > 20000
    assert "Traceback" not in result.stderr
    assert "data folder" in result.stderr and "settings will not be saved" in result.stderr
    assert "log folder" in result.stderr


def test_a_log_file_that_cannot_be_opened_falls_back_to_stderr(monkeypatch, tmp_path):
    monkeypatch.setenv("FGSM_STUDIO_HOME", str(tmp_path))
    (tmp_path / "logs" / "fgsm-studio.log").mkdir(parents=True)  # a folder where the file goes
    root = logging.getLogger()
    before = list(root.handlers)
    monkeypatch.setattr(
        root, "handlers", [h for h in before if not isinstance(h, RotatingFileHandler)]
    )
    assert errors.setup_logging() is None
    assert any(type(h) is logging.StreamHandler for h in root.handlers)


def test_unsaved_warning_names_the_folders(qtbot):
    box = errors.show_unsaved_warning(
        ["The data folder /x is not writable (Read-only file system)."]
    )
    assert "/x is not writable" in box.text() and box.isVisible()
    box.close()


def test_self_test_uses_the_platform_the_app_will(tmp_path):
    """No QT_QPA_PLATFORM and no display: the app would fail, so must the self-test."""
    code = (
        "from fgsm_studio.gui.selftest import _check, _qt\n"
        "r = []\n_check('Qt', _qt, r)\nraise SystemExit(0 if all(r) else 1)\n"
    )
    env = _env(QT_QPA_PLATFORM=None, DISPLAY=None, WAYLAND_DISPLAY=None, XDG_SESSION_TYPE=None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL] Qt: There is no X display" in result.stdout
    assert "QT_QPA_PLATFORM=offscreen" in result.stdout


def test_no_display_is_a_sentence_not_an_abort():
    env = _env(QT_QPA_PLATFORM=None, DISPLAY=None, WAYLAND_DISPLAY=None, XDG_SESSION_TYPE=None)
    result = _run([], env, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("fgsm-studio: There is no X display")


def test_a_missing_library_names_its_apt_package(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(platform_check, "_all_missing", lambda plugin: [])
    monkeypatch.setattr(platform_check, "_display_unreachable", lambda display: None)

    def loader(path: str) -> None:
        raise OSError(
            "libxcb-cursor.so.0: cannot open shared object file: No such file or directory"
        )

    message = platform_check.platform_problem(loader)
    assert message is not None and "libxcb-cursor.so.0 is missing" in message
    assert "sudo apt install libxcb-cursor0" in message


def test_an_unknown_missing_library_says_how_to_find_its_package():
    message = platform_check.missing_library_message(["libxcb-icccm.so.4", "libfoo.so.9"])
    assert "sudo apt install libxcb-icccm4" in message and "apt-file search libfoo.so.9" in message


def test_this_machines_xcb_plugin_is_checked_for_real(monkeypatch):
    """Where ``ldd`` finds libraries missing for Qt's xcb plugin, the check names every one."""
    plugin = platform_check.xcb_plugin()
    if plugin is None or not sys.platform.startswith("linux"):
        pytest.skip("no separate xcb plugin on this platform")
    missing = platform_check._all_missing(plugin)
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(platform_check, "_display_unreachable", lambda display: None)
    message = platform_check.platform_problem()
    if not missing:
        assert message is None
    else:
        assert message is not None and all(lib in message for lib in missing)


def test_other_platforms_are_left_to_qt(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert platform_check.platform_problem() is None
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    assert platform_check.chosen_platform() in ("wayland", "default")


def test_a_display_nobody_answers_on_is_a_sentence(monkeypatch):
    """DISPLAY set, no X server behind it: Qt would abort with 'could not connect'."""
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":987")
    message = platform_check.platform_problem()
    assert message is not None and message.startswith("Cannot connect to the X display :987")


def test_a_display_that_answers_passes_the_check():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        if port < 6000:
            pytest.skip("the free port is below X's 6000")
        assert platform_check._display_unreachable(f"127.0.0.1:{port - 6000}.0") is None
    assert platform_check._display_unreachable(f"127.0.0.1:{port - 6000}") is not None
