"""``fgsm-studio --self-test``: a quick start check (Qt, one stored frame, the data folder)
and ``--self-test=full`` for everything else (issue 21, item 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fgsm_studio.core.paths import resource_path
from fgsm_studio.gui import selftest


def _env(tmp_path, **changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(QT_QPA_PLATFORM="offscreen", FGSM_STUDIO_HOME=str(tmp_path / "home"))
    env.update(changes)
    return env


def test_the_stored_frame_is_what_this_checkout_computes():
    """Retraining the default model without storing its new answer fails here first."""
    stored = json.loads(resource_path(*selftest.EXPECTED).read_text())
    got = selftest.frame_answer()
    assert got.keys() == stored.keys()
    for key, want in stored.items():
        if isinstance(want, float):
            assert got[key] == pytest.approx(want, abs=selftest.PROB_TOLERANCE), key
        else:
            assert got[key] == want, key
    assert stored["pred_adv"] != stored["pred_clean"]  # the frame shows an attack that works


def test_quick_self_test_passes_and_checks_only_what_a_start_needs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "fgsm_studio", "--self-test"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "FGSM Studio self-test (quick)"
    assert [line.split(":")[0] for line in lines[1:-1]] == [
        "[ OK ] Qt",
        "[ OK ] frame",
        "[ OK ] data folder",
    ]
    assert "class 7 (1.000) becomes 3" in result.stdout
    assert lines[-1] == "3 passed, 0 failed"


def test_a_wrong_stored_answer_fails_the_frame_check(tmp_path, monkeypatch, capsys):
    stored = json.loads(resource_path(*selftest.EXPECTED).read_text())
    stored.update(pred_adv=stored["pred_clean"], prob_adv=0.5)
    wrong = tmp_path / "expected.json"
    wrong.write_text(json.dumps(stored))
    monkeypatch.setattr(selftest, "EXPECTED", (str(wrong),))  # an absolute part replaces the base
    results: list[bool] = []
    selftest._check("frame", selftest._frame, results)
    out = capsys.readouterr().out
    assert results == [False]
    assert "[FAIL] frame: mnist_small_cnn_standard.safetensors on mnist_00_7.png: pred_adv 3" in out
    assert "prob_adv 0.96" in out


def test_an_unwritable_data_folder_fails_the_quick_self_test(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("FGSM_STUDIO_HOME", str(blocker / "home"))  # under a file: never writable
    results: list[bool] = []
    selftest._check("data folder", selftest._data_folder, results)
    assert results == [False]
    assert "[FAIL] data folder: The data folder" in capsys.readouterr().out


@pytest.mark.slow
def test_full_self_test_adds_models_attack_and_training(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "fgsm_studio", "--self-test=full"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("versions", "device", "bundled models", "attack", "training step"):
        assert f"[ OK ] {check}:" in result.stdout
    assert result.stdout.splitlines()[-1] == "8 passed, 0 failed"
