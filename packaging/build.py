"""Build the one-folder bundle ``dist/fgsm-studio/`` with PyInstaller and report its size.

    python packaging/build.py            # needs: pip install -e ".[build]"

Writes a desktop entry and icon beside the executable, then prints the build
time and the bundle size.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
BUNDLE = DIST / "fgsm-studio"

DESKTOP = """[Desktop Entry]
Type=Application
Name=FGSM Studio
Comment=See adversarial attacks fool a CNN, and train a defense
Exec={exe}
Icon={icon}
Terminal=false
Categories=Education;Science;
"""


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> int:
    t0 = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--distpath",
        str(DIST),
        "--workpath",
        str(ROOT / "build" / "pyinstaller"),
        str(ROOT / "packaging" / "fgsm_studio.spec"),
    ]
    # The spec stages fgsm_studio under build/stage; nothing on the caller's PYTHONPATH
    # (a development overlay, another checkout) may shadow it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT / "build" / "stage")
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0:
        print("PyInstaller failed", file=sys.stderr)
        return result.returncode
    icon = BUNDLE / "fgsm-studio.png"
    shutil.copy(ROOT / "resources" / "icons" / "fgsm-studio.png", icon)
    (BUNDLE / "fgsm-studio.desktop").write_text(
        DESKTOP.format(exe=BUNDLE / "fgsm-studio", icon=icon)
    )
    minutes = (time.perf_counter() - t0) / 60
    print(
        f"built {BUNDLE / 'fgsm-studio'} in {minutes:.1f} min; bundle size {folder_size(BUNDLE) / 2**30:.2f} GiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
