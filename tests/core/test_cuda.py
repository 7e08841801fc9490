"""The CUDA path, on a GPU only (marked ``cuda``: skipped without one; run by
benchmarks/gpu_check.sh): training on the GPU with bfloat16 autocast, the attack
frame the same as on the CPU, the self-test's device line (issue 21, item 6)."""

from __future__ import annotations

import pytest
import torch

from fgsm_studio.core.data.images import load_image, to_model_input
from fgsm_studio.core.explorer.session import AttackSession
from fgsm_studio.core.models.bundled import default_model, samples_for
from fgsm_studio.core.models.checkpoint import load

pytestmark = pytest.mark.cuda


def test_wr_fgsm_trains_on_the_gpu_with_bfloat16_autocast(mnist_1k):
    from fgsm_studio.core.models.networks import build
    from fgsm_studio.core.training.config import TrainConfig
    from fgsm_studio.core.training.loop import run

    model = build(
        "small_cnn", num_classes=10, in_channels=1, image_size=28, mean=[0.13], std=[0.31]
    )
    config = TrainConfig(defense="wr_fgsm", epochs=2, batch_size=64, device="cuda")
    result = run(model, mnist_1k, mnist_1k, config)
    assert next(model.parameters()).device.type == "cuda"
    assert torch.cuda.is_bf16_supported()  # what turns autocast on (core.training.loop)
    last = result.history[-1]
    assert torch.isfinite(torch.tensor(last.loss))
    assert last.val_acc > 0.5  # 2 epochs on 1000 digits: well above chance (0.1)


def test_the_attack_frame_on_the_gpu_is_the_cpus():
    entry = default_model()
    frames = []
    for device in ("cpu", "cuda"):
        model, card = load(entry.path)
        model.to(device)
        sample = samples_for(card.dataset)[0]
        x = to_model_input(load_image(sample.path), card.in_channels, card.image_size)
        frames.append(AttackSession(model, x).frame(0.25))
    cpu, gpu = frames
    assert (cpu.pred_clean, cpu.pred_adv) == (gpu.pred_clean, gpu.pred_adv)
    assert torch.allclose(cpu.probs_adv, gpu.probs_adv.cpu(), atol=1e-3)


def test_the_self_test_names_the_gpu_and_computes_on_it():
    from fgsm_studio.gui.selftest import _device

    assert _device() == f"CUDA: {torch.cuda.get_device_name(0)}"
