"""The tree's own rules: ruff is clean, mypy is clean for core and gui, core imports no Qt.

The import-linter contract in pyproject.toml is read on the checkout itself, as a
contributor runs ``lint-imports`` from the repository root: ``core`` and ``gui`` are
the folders, their imports are relative inside each, so the graph follows them file to
file. Tests break the rule on purpose in a copy of the folders, once with an absolute
import of ``fgsm_studio.gui`` and once with Qt, and check the contract fails; ``..``
imports reach sibling sub-packages (``from ..data.dataset import ...``) but none leaves
``core/`` or ``gui/`` (checked here, as that could hide core -> gui). mypy (configured in
pyproject.toml) runs on a copy laid out as a wheel (``fgsm_studio.core``), with its
cache under ``build/`` so that a second run takes seconds; a type error injected into a
staged copy must make it fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = "core imports no PySide6, pyqtgraph or gui"


def _run(*cmd: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def stage_package(dest: Path) -> Path:
    """Copy fgsm_studio's Python files into ``dest/fgsm_studio`` as an installed wheel has them."""
    pkg = dest / "fgsm_studio"
    py_only = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "packaging" / "fgsm_studio", pkg, ignore=py_only)
    for sub in ("core", "gui"):
        shutil.copytree(ROOT / sub, pkg / sub, ignore=py_only)
    (pkg / "resources").mkdir()
    shutil.copy(ROOT / "resources" / "__init__.py", pkg / "resources" / "__init__.py")
    return pkg


def _lint_imports(tree: Path = ROOT) -> subprocess.CompletedProcess:
    """``lint-imports`` as a contributor runs it, from the root of ``tree``."""
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("import-linter is not installed: pip install --group dev -e .")
    return subprocess.run(
        [exe, "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy_tree(dest: Path) -> Path:
    """The checkout's ``core``, ``gui`` and pyproject.toml, as ``lint-imports`` reads them."""
    py_only = shutil.ignore_patterns("__pycache__", "*.pyc")
    for sub in ("core", "gui"):
        shutil.copytree(ROOT / sub, dest / sub, ignore=py_only)
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_ruff_is_clean():
    result = _run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = _run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_imports_no_qt():
    """On the checkout itself, and the graph is real: core's own imports are in it."""
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{CONTRACT} KEPT" in result.stdout
    dependencies = int(result.stdout.split(" dependencies")[0].split()[-1])
    assert dependencies > 300, result.stdout  # relative imports are followed (0 before)


@pytest.mark.parametrize(
    "line",
    ["import PySide6.QtCore", "from fgsm_studio.gui import app", "from gui import app"],
)
def test_the_contract_can_fail(tmp_path, line):
    """Break the rule in a copy (core imports Qt or gui): the same contract must fail."""
    tree = _copy_tree(tmp_path)
    victim = tree / "core" / "attacks" / "gradient.py"
    victim.write_text(f"{line}  # noqa\n" + victim.read_text())
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert f"{CONTRACT} BROKEN" in result.stdout


MEASURE_CONTRACT = "core.measure imports no core.runs"


def test_measuring_needs_no_run_machinery(tmp_path):
    """The experiments <-> robustness circle stays broken: kept on the checkout, broken in a
    copy where core.measure.robustness imports core.runs.experiments again."""
    assert f"{MEASURE_CONTRACT} KEPT" in _lint_imports().stdout
    tree = _copy_tree(tmp_path)
    victim = tree / "core" / "measure" / "robustness.py"
    victim.write_text(victim.read_text() + "\nfrom ..runs.experiments import splits  # noqa\n")
    result = _lint_imports(tree)
    assert result.returncode != 0 and f"{MEASURE_CONTRACT} BROKEN" in result.stdout


def _relative_imports(top: str):
    """(file, line, how many packages up it climbs above ``top``) for each relative import."""
    import ast

    for path in sorted((ROOT / top).rglob("*.py")):
        package_depth = len(path.relative_to(ROOT).parts) - 1  # core/data/x.py: 2 (core.data)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                yield path, node, node.level - package_depth


@pytest.mark.parametrize("top", ["core", "gui"])
def test_no_relative_import_leaves_its_folder(top):
    """``..`` may climb to a sibling sub-package, never out of core/ or gui/: that would hide
    core -> gui from the graph. Only the package's ``__version__`` may (core/cli/options.py)."""
    seen = 0
    for path, node, above in _relative_imports(top):
        seen += 1
        names = [alias.name for alias in node.names]
        if above > 0:
            assert above == 1 and names == ["__version__"] and node.module is None, (
                f"{path.relative_to(ROOT)}:{node.lineno} climbs out of {top}/"
            )
    assert seen > 20  # the imports are relative: the check looked at them


def test_the_relative_import_check_can_fail(tmp_path, monkeypatch):
    """A ``...`` import in a sub-package (out of core/) is caught."""
    tree = _copy_tree(tmp_path)
    victim = tree / "core" / "attacks" / "gradient.py"
    victim.write_text("from ...gui import app  # noqa\n" + victim.read_text())
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tree)
    with pytest.raises(AssertionError, match="climbs out of core/"):
        test_no_relative_import_leaves_its_folder("core")


def _mypy(staged: Path, package: str = "fgsm_studio.core") -> subprocess.CompletedProcess:
    pytest.importorskip("mypy", reason="pip install --group dev -e .")
    env = dict(os.environ, MYPYPATH=str(staged))
    cache = ROOT / "build" / "mypy-cache"
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
        + ["--cache-dir", str(cache), "-p", package],
        cwd=staged,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )


def test_mypy_is_clean_for_core(tmp_path):
    stage_package(tmp_path)
    result = _mypy(tmp_path)
    assert "Success: no issues found" in result.stdout, (
        result.stdout[-4000:] + result.stderr[-2000:]
    )


def test_mypy_is_clean_for_gui(tmp_path):
    """gui too (issue 23, 4), every module of it (no override left in pyproject.toml)."""
    stage_package(tmp_path)
    result = _mypy(tmp_path, "fgsm_studio.gui")
    assert "Success: no issues found" in result.stdout, (
        result.stdout[-4000:] + result.stderr[-2000:]
    )


def test_mypy_fails_on_an_injected_type_error(tmp_path):
    pkg = stage_package(tmp_path)
    victim = pkg / "core" / "paths.py"
    victim.write_text(victim.read_text() + '\n\nINJECTED: int = "not an int"\n')
    result = _mypy(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "fgsm_studio/core/paths.py:" in result.stdout  # the staged copy was checked
    assert (
        'Incompatible types in assignment (expression has type "str", variable has type "int")'
        in (result.stdout)
    )
