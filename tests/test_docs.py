"""README documents every FGSM_* environment variable that the tree reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("core", "gui", "packaging", "tests", "benchmarks", ".ci")


def variables_in_the_tree() -> set[str]:
    found: set[str] = set()
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            if path.relative_to(ROOT).parts[:2] == ("tests", "data") or path == Path(__file__):
                continue  # test data (binary) and this file's own pattern (core/data/ is read)
            if path.is_file() and path.suffix in (".py", ".sh", ".spec", ""):
                text = path.read_text(errors="replace")
                found |= set(re.findall(r"\bFGSM_[A-Z_]*[A-Z]\b", text))
    return found


def test_every_environment_variable_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(FGSM_[A-Z_]+)` \|", table, flags=re.M))
    used = variables_in_the_tree()
    assert {"FGSM_STUDIO_HOME", "FGSM_STUDIO_TIMING"} <= used  # the scan finds them
    assert used - documented == set(), "add these to README's environment table"
