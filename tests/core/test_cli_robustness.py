"""``fgsm-studio-cli robustness --update-card`` on a copy of a bundled model."""

from __future__ import annotations

import shutil

import pytest
import torch

from fgsm_studio.core.cli.main import main as cli_main
from fgsm_studio.core.models.checkpoint import load, read_card
from fgsm_studio.core.paths import resource_path


def _main(argv: list[str]) -> int:
    return cli_main(["robustness", *argv])


LIGHT = ["--pgd-steps", "2", "--apgd-steps", "2", "--targets", "1", "--epsilons", "0.1,0.3"]
LIGHT += ["--attacks", "fgsm,pgd,apgd-ce", "--survivors-only", "apgd-t", "--update-card"]


def _copy(tmp_path, name):
    path = tmp_path / name
    shutil.copy(resource_path("models", name), path)
    return path


def test_a_limited_run_adds_the_worst_case_and_keeps_the_card_figures(tmp_path):
    path = _copy(tmp_path, "mnist_small_cnn_standard.safetensors")
    before_model, before = load(path)
    assert _main([str(path), "--limit", "20", *LIGHT]) == 0
    after_model, after = load(path)
    m, old = after.metrics, before.metrics
    # FGSM was measured by the training CLI on the whole held-out part (n=500): kept
    assert m["attacks"]["fgsm"] == old["attacks"]["fgsm"] and m["n"] == old["n"]
    assert m["attacks"]["pgd"] == old["attacks"]["pgd"]  # the 10-step PGD stays beside PGD-2
    assert set(m["attacks"]["worst-case"]) == {"0.1", "0.3"} and "pgd-2" in m["attacks"]
    assert m["robustness"]["n"] == 20 and m["robustness"]["held_out"] == "fold 0 of 10"
    for a, b in zip(
        before_model.state_dict().values(), after_model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)  # only the card changed


@pytest.mark.slow  # reads the 10,000 Fashion-MNIST test images
def test_a_train_test_card_is_measured_on_its_test_split(tmp_path):
    path = _copy(tmp_path, "fashion_small_cnn_standard.safetensors")
    try:
        code = _main([str(path), "--limit", "20", *LIGHT])
    except (OSError, ValueError) as exc:  # Debian's dataset-fashion-mnist is not installed
        pytest.skip(f"Fashion-MNIST is not available: {exc}")
    assert code == 0
    assert read_card(path).metrics["robustness"]["held_out"] == "test split"


def test_update_card_keeps_weights_stored_in_8_bits_in_8_bits(tmp_path):
    from fgsm_studio.core.models.checkpoint import save

    path = _copy(tmp_path, "mnist_small_cnn_standard.safetensors")
    save(path, *load(path), int8=True)
    before_model, _ = load(path)
    size = path.stat().st_size
    assert _main([str(path), "--limit", "10", *LIGHT]) == 0
    after_model, after = load(path)
    assert after.storage == "int8" and "robustness" in after.metrics
    assert path.stat().st_size < size + 4096  # not written back in float16 (twice the size)
    for a, b in zip(
        before_model.state_dict().values(), after_model.state_dict().values(), strict=True
    ):
        assert torch.allclose(a, b, rtol=1e-6, atol=0)  # the same integers, the same scales
