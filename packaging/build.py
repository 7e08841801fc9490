"""Build the one-folder bundle ``dist/fgsm-studio-<variant>/`` with PyInstaller, then prove it starts.

    python packaging/build.py --variant cpu    # no CUDA libraries: any x86-64 Linux (default)
    python packaging/build.py --variant cuda   # with torch's CUDA libraries: NVIDIA GPUs

Needs ``pip install -e ".[build]"`` (PyInstaller); the cpu variant also needs gcc and
binutils (packaging/cuda_stubs.py). Steps: stage the ``fgsm_studio`` package as a
wheel lays it out (``build/stage``), run PyInstaller on the spec, fail when its log
has a hidden-import error, write a desktop entry and icon beside the executables,
then run the bundle's ``--self-test`` in a clean environment (``env -i``, no Python
on PATH, a fresh home) and fail with its report when it does not pass. Prints the
build time and the bundle size.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
WORK = ROOT / "build"
STAGE = WORK / "stage"
HIDDEN_IMPORT_ERROR = re.compile(r"ERROR: Hidden import .* not found")

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


def stage() -> Path:
    """Lay out ``fgsm_studio`` as an installed wheel would, before anything looks for it.

    The checkout maps core/, gui/ and resources/ into one package through setuptools'
    package-dir; PyInstaller follows plain folders. The stage is made here, before
    PyInstaller starts, and reaches PyInstaller through the spec's ``pathex`` only,
    never PYTHONPATH: a folder on PYTHONPATH that does not exist yet at start-up is
    cached as "nothing there" (sys.path_importer_cache), which is how a first build
    from a clean checkout lost fgsm_studio.core and fgsm_studio.gui (issue 21).
    """
    shutil.rmtree(STAGE, ignore_errors=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "packaging" / "fgsm_studio", STAGE / "fgsm_studio", ignore=skip)
    for sub in ("core", "gui"):
        shutil.copytree(ROOT / sub, STAGE / "fgsm_studio" / sub, ignore=skip)
    for launcher in ("launcher.py", "launcher_cli.py"):
        shutil.copy(ROOT / "packaging" / launcher, STAGE / launcher)
    return STAGE


def self_test(bundle: Path, timeout: int = 900) -> tuple[bool, str]:
    """Run the bundle's ``--self-test`` as a lab machine would: no Python, no PYTHONPATH."""
    with tempfile.TemporaryDirectory(prefix="fgsm-selftest-") as tmp:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": tmp,
            "FGSM_STUDIO_HOME": str(Path(tmp) / "data"),
            "QT_QPA_PLATFORM": "offscreen",
            "LANG": "C.UTF-8",
        }
        cmd = ["env", "-i", *(f"{k}={v}" for k, v in env.items())]
        cmd.append(str(bundle / "fgsm-studio"))
        cmd.append("--self-test")
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired as exc:
            return False, f"--self-test did not answer in {timeout} s\n{exc.stdout or ''}"
    report = result.stdout + result.stderr
    return result.returncode == 0, report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--variant",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cpu: no CUDA libraries (about 1 GiB); cuda: torch's CUDA libraries (4+ GiB)",
    )
    ap.add_argument(
        "--skip-self-test", action="store_true", help="build only (the bundle is not proven)"
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    stage()
    bundle = DIST / f"fgsm-studio-{args.variant}"
    work = WORK / f"pyinstaller-{args.variant}"
    log = WORK / f"pyinstaller-{args.variant}.log"
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(DIST)]
    cmd += ["--workpath", str(work), str(ROOT / "packaging" / "fgsm_studio.spec")]
    cmd += ["--", "--variant", args.variant]
    # Nothing on the caller's PYTHONPATH (a development overlay, another checkout) may
    # shadow the stage, which the spec puts first on PyInstaller's search path.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    WORK.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:  # shown as it comes, and kept for the checks below
            sys.stdout.write(line)
            out.write(line)
        code = proc.wait()
    if code != 0:
        print(f"build FAILED: PyInstaller exited {code} (log: {log})", file=sys.stderr)
        return code
    missing = [
        line.strip() for line in log.read_text().splitlines() if HIDDEN_IMPORT_ERROR.search(line)
    ]
    if missing:
        print("build FAILED: PyInstaller could not find what the bundle imports:", file=sys.stderr)
        print("\n".join(missing), file=sys.stderr)
        return 1
    icon = bundle / "fgsm-studio.png"
    shutil.copy(ROOT / "resources" / "icons" / "fgsm-studio.png", icon)
    (bundle / "fgsm-studio.desktop").write_text(
        DESKTOP.format(exe=bundle / "fgsm-studio", icon=icon)
    )
    minutes = (time.perf_counter() - t0) / 60
    size = folder_size(bundle) / 2**30
    print(
        f"built {bundle / 'fgsm-studio'} ({args.variant}) in {minutes:.1f} min; bundle size {size:.2f} GiB"
    )
    if args.skip_self_test:
        print("self-test skipped (--skip-self-test): this bundle is not proven to start")
        return 0
    t1 = time.perf_counter()
    ok, report = self_test(bundle)
    print(report.rstrip())
    if not ok:
        print(f"build FAILED: the bundle's --self-test did not pass ({bundle})", file=sys.stderr)
        return 1
    print(f"self-test passed in a clean environment ({time.perf_counter() - t1:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
