"""The built wheel: only ``fgsm_studio`` lands in site-packages, and it runs when installed.

The wheel is built from a copy of the tree (never in the checkout) by setuptools'
backend, without build isolation (no network needed) and with warnings as errors. The fast test reads the wheel's file list; the
slow one installs it, not editable, into a fresh venv that sees the system's torch
and Qt (``--system-site-packages``) and runs both commands from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from fgsm_studio import __version__

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "core", "gui", "resources", "packaging")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.spec")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=skip)
        else:
            shutil.copy(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    # setuptools' own backend with warnings as errors: data in a folder that is not a
    # declared package, a deprecated option... each fails the build (issue 21).
    build = f"import setuptools.build_meta as b; b.build_wheel({str(out)!r})"
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", build],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert "Warning" not in result.stderr, result.stderr
    (built,) = out.glob("fgsm_studio-*.whl")
    return built


def test_both_commands_print_the_one_version(capsys):
    from importlib.metadata import version

    from fgsm_studio.core.cli.main import main as cli_main
    from fgsm_studio.gui.app import main as app_main

    assert __version__ == version("fgsm-studio")
    for main, prog in ((app_main, "fgsm-studio"), (cli_main, "fgsm-studio-cli")):
        with pytest.raises(SystemExit) as done:
            main(["--version"])
        assert done.value.code == 0
        assert capsys.readouterr().out.strip() == f"{prog} {__version__}"


def test_the_wheel_holds_one_package_and_its_resources(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"fgsm_studio", f"fgsm_studio-{__version__}.dist-info"}
    for needed in (
        "fgsm_studio/__main__.py",
        "fgsm_studio/core/cli/main.py",
        "fgsm_studio/core/cli/__main__.py",
        "fgsm_studio/gui/app.py",
        "fgsm_studio/resources/models/mnist_small_cnn_standard.safetensors",
        "fgsm_studio/resources/data/mnist_5k.csv.gz",
        "fgsm_studio/resources/icons/fgsm-studio.png",
        f"fgsm_studio-{__version__}.dist-info/licenses/LICENSE",
    ):
        assert needed in names
    # every module of every sub-package (a package left out of pyproject's list is missing)
    for sub in ("core", "gui"):
        for path in (ROOT / sub).rglob("*.py"):
            if "__pycache__" not in path.parts:
                assert f"fgsm_studio/{path.relative_to(ROOT).as_posix()}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    meta = zipfile.ZipFile(wheel).read(f"fgsm_studio-{__version__}.dist-info/METADATA").decode()
    assert "License-Expression: MIT AND BSD-3-Clause AND Apache-2.0" in meta
    assert "Requires-Dist: PySide6!=6.12.0,>=6.6" in meta
    assert "Requires-Dist: platformdirs>=4" in meta  # imported by core.paths
    assert "Requires-Dist: pytest" not in meta  # developer tools are dependency groups


@pytest.mark.slow
def test_the_wheel_installs_and_runs_in_a_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
        check=True,
        timeout=120,
    )
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(QT_QPA_PLATFORM="offscreen", FGSM_STUDIO_HOME=str(tmp_path / "home"))

    def run(*cmd: str | Path, timeout: int = 300) -> str:
        result = subprocess.run(
            [str(c) for c in cmd], env=env, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    # the system's pip, run by the venv's interpreter, installs into the venv
    run(py, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", wheel)
    site = Path(run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    assert site != Path(sysconfig.get_paths()["purelib"])
    assert sorted(p.name for p in site.iterdir()) == [
        "fgsm_studio",
        f"fgsm_studio-{__version__}.dist-info",
    ]
    assert run(py, "-m", "fgsm_studio", "--version").strip() == f"fgsm-studio {__version__}"
    cli = run(venv / "bin" / "fgsm-studio-cli", "--version").strip()
    assert cli == f"fgsm-studio-cli {__version__}"
    code = (
        "import fgsm_studio, sys\n"
        "from fgsm_studio.core.paths import resources_dir\n"
        "from fgsm_studio.core.models.bundled import bundled_models\n"
        "from fgsm_studio.core.models.checkpoint import load\n"
        "assert fgsm_studio.__file__.startswith(sys.prefix), fgsm_studio.__file__\n"
        "assert str(resources_dir()).startswith(sys.prefix), resources_dir()\n"
        "models = bundled_models()\n"
        "load(models[0].path)\n"
        "print(len(models))\n"
    )
    assert int(run(py, "-c", code)) >= 7
    report = run(py, "-m", "fgsm_studio", "--self-test", timeout=600)
    assert report.splitlines()[-1] == "3 passed, 0 failed"  # the quick one: Qt, frame, data folder
