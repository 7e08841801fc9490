"""Can Qt open a window here? Asked before ``QApplication``, which would abort instead.

On Linux Qt draws through its X11 platform plugin ``libqxcb.so``, which needs a
dozen system libraries (``libxcb-cursor0`` and friends) that a fresh desktop
may lack; without them Qt prints "Could not load the Qt platform plugin xcb"
and aborts. ``platform_problem`` loads the plugin the way Qt will (``dlopen``),
and turns a failure into one sentence naming the missing library and the apt
command that installs it. The app and ``--self-test`` both ask it, so the
self-test checks the platform the app will really use.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# What libqxcb.so needs beyond Qt itself (``ldd`` on PySide6 6.x's plugin), and the
# Debian/Ubuntu package that provides each library.
XCB_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}
_MISSING = re.compile(r"([\w.+-]+\.so[.\d]*): cannot open shared object file")


def chosen_platform() -> str:
    """The platform plugin Qt will try first: QT_QPA_PLATFORM, else the session's."""
    requested = os.environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if requested:
        return requested
    if sys.platform.startswith("linux"):
        return "wayland" if os.environ.get("XDG_SESSION_TYPE") == "wayland" else "xcb"
    return "default"


def xcb_plugin() -> Path | None:
    """Qt's X11 platform plugin as this installation (or bundle) ships it."""
    import PySide6
    from PySide6.QtCore import QLibraryInfo

    folders = (
        Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)),
        Path(PySide6.__file__).parent / "Qt" / "plugins",
    )
    for folder in folders:
        plugin = folder / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def _all_missing(plugin: Path) -> list[str]:
    """Every library ``ldd`` cannot find for the plugin (dlopen names only the first)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted({line.split()[0] for line in out.splitlines() if "not found" in line})


def missing_library_message(missing: list[str]) -> str:
    """One sentence: which libraries are missing, and the apt command that installs them."""
    packages = sorted({XCB_PACKAGES[lib] for lib in missing if lib in XCB_PACKAGES})
    unknown = [lib for lib in missing if lib not in XCB_PACKAGES]
    how = f"install with: sudo apt install {' '.join(packages)}" if packages else ""
    if unknown:
        how += ("; " if how else "install ") + (
            f"the package that provides {', '.join(unknown)} (apt-file search {unknown[0]})"
        )
    return (
        f"Qt cannot load its X11 platform plugin (xcb) because the system "
        f"{'library' if len(missing) == 1 else 'libraries'} {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} missing: {how}."
    )


def _display_unreachable(display: str) -> str | None:
    """Why nothing answers on X display ``display`` (":0", "localhost:10.0"), or None."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit() or host.startswith("/"):  # a form Qt may know and we do not
        return None
    try:
        if host in ("", "unix"):
            path = f"/tmp/.X11-unix/X{number}"
            for address in ("\0" + path, path):  # Linux's abstract socket, then the file
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(2)
                    try:
                        sock.connect(address)
                        return None
                    except OSError as exc:
                        last: OSError = exc
            raise last
        with socket.create_connection((host, 6000 + int(number)), timeout=2):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def platform_problem(loader: Callable[[str], object] = ctypes.CDLL) -> str | None:
    """Why Qt could not open a window on the platform it will use, or None if it can."""
    if chosen_platform() != "xcb":
        return None
    if not os.environ.get("DISPLAY"):
        return (
            "There is no X display to open the window on (DISPLAY is not set): start "
            "FGSM Studio from a desktop session, or set QT_QPA_PLATFORM=offscreen for "
            "--self-test and --screenshot on a headless machine."
        )
    unreachable = _display_unreachable(os.environ["DISPLAY"])
    if unreachable:
        return (
            f"Cannot connect to the X display {os.environ['DISPLAY']} named by DISPLAY "
            f"({unreachable}): start FGSM Studio from a running desktop session, or set "
            "QT_QPA_PLATFORM=offscreen for --self-test and --screenshot."
        )
    plugin = xcb_plugin()
    if plugin is None:
        return None  # a Qt build without a separate plugin file: Qt itself will say
    try:
        loader(str(plugin))
    except OSError as exc:
        found = _MISSING.search(str(exc))
        if found is None:
            return f"Qt cannot load its X11 platform plugin {plugin} ({exc})."
        missing = _all_missing(plugin) or [found.group(1)]
        return missing_library_message(missing)
    return None
