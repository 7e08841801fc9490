"""Issue 23, 5: an image the model gets wrong clean counts as wrong under attack too, even
where the attack happens to move it to the right answer (as core.measure.robustness counts it)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import TensorDataset

from fgsm_studio.core.measure.evaluation import evaluate
from fgsm_studio.core.measure.robustness import robust_evaluate


class Wavy(nn.Module):
    """Two classes by the sign of cos(10 p), p the image's one pixel: not monotonic, so
    FGSM can overshoot from a wrong answer into the right one."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = torch.cos(10 * x.flatten(1).mean(1)) * self.scale
        return torch.stack([c, -c], 1)


def test_wrong_clean_is_wrong_under_attack_in_both_loops():
    model = Wavy()
    data = TensorDataset(torch.full((1, 1, 1, 1), 0.7), torch.tensor([1]))
    with torch.no_grad():  # the premise: wrong clean (cos 7 > 0: class 0), right at p = 0.2
        assert model(torch.full((1, 1, 1, 1), 0.7)).argmax(1).item() == 0
        assert model(torch.full((1, 1, 1, 1), 0.2)).argmax(1).item() == 1
    ours = evaluate(model, data, attacks=("fgsm",), epsilons=(0.5,))
    assert ours.clean == 0.0 and ours.acc("fgsm", 0.5) == 0.0
    robust = robust_evaluate(model, data, epsilons=(0.5,), attacks=("fgsm",))
    assert robust.acc("fgsm", 0.5) == ours.acc("fgsm", 0.5)
