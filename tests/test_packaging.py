"""The PyInstaller bundle (slow: a 4+ GiB build of about 3 minutes; run with --run-slow)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bundle_self_test_and_screenshot():
    pytest.importorskip("PyInstaller", reason="pip install -e '.[build]'")
    result = subprocess.run(
        ["bash", str(ROOT / "packaging" / "smoke_test.sh")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3000,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "SMOKE OK" in result.stdout


def test_spec_names_what_the_bundle_needs():
    spec = (ROOT / "packaging" / "fgsm_studio.spec").read_text()
    assert "collect_all(package)" in spec and '"torchvision"' in spec  # torchvision's binaries
    assert (
        '(str(ROOT / "resources"), "fgsm_studio/resources")' in spec
    )  # models, samples, digits, icons
    assert "QtWebEngineCore" in spec  # excluded: never used


def test_ci_runs_the_readme_test_command_exactly():
    readme = (ROOT / "README.md").read_text()
    command = readme.split("run the whole test suite", 1)[1].split("```bash\n", 1)[1]
    command = command.split("\n", 1)[0]
    ci = (ROOT / ".ci" / "run").read_text().rstrip().splitlines()
    assert ci[-1] == command
    assert "--group dev" in command  # the developer tools are a dependency group
