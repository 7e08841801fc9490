"""Does a defense only look robust? Plain-words findings from a run's epoch history.

``findings(history)`` reads the validation accuracies each epoch measured
(``EpochMetrics``: clean, FGSM on the whole validation set, PGD with a few steps
on a fixed subset of it) and returns what should worry a user, each with what it
means and what to try:

* ``fgsm-only``: FGSM accuracy far above PGD accuracy at the latest epoch. The
  model has learned to defeat the single FGSM step (gradient masking), not to
  resist a stronger attack; FGSM-trained models here reach 92.5% under FGSM at
  eps 0.3 and 0% under PGD.
* ``label-leaking``: FGSM accuracy above clean accuracy at the latest epoch
  (Kurakin et al., 2017): the FGSM examples give the label away.
* ``pgd-collapse``: PGD accuracy falling by more than half, and by at least
  ``drop``, from one epoch to the next: catastrophic overfitting (Wong et al., 2020).

Runs without adversarial training (``loss_adv`` 0: no defense, or a1 = 0) have
no defense to judge and get no findings. Pure: it reads the metrics and runs nothing; the thresholds are keyword arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .config import EpochMetrics

KINDS = ("fgsm-only", "label-leaking", "pgd-collapse")


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
    epoch: int  # the epoch that shows it
    text: str  # what was seen and what it means, one or two sentences
    advice: str  # what to try

    def sentence(self) -> str:
        return f"{self.text} {self.advice}"


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def findings(
    history: Sequence[EpochMetrics],
    *,
    gap: float = 0.3,
    leak: float = 0.03,
    drop: float = 0.2,
) -> list[Finding]:
    """What the history says about the defense (empty when nothing is wrong).

    ``gap``: FGSM minus PGD accuracy that counts as "far above"; ``leak``: FGSM
    minus clean accuracy that counts as "above" (validation noise aside);
    ``drop``: the least fall of PGD accuracy between two epochs that counts as
    a collapse (it must also lose more than half of what it had).
    """
    out: list[Finding] = []
    if not any(h.loss_adv > 0 for h in history):
        return out  # no adversarial training (no defense, or a1 = 0): no defense to judge
    last = history[-1]
    if last.val_pgd_acc is not None and last.val_fgsm_acc - last.val_pgd_acc >= gap:
        out.append(
            Finding(
                "fgsm-only",
                last.epoch,
                f"This defense only looks robust: at epoch {last.epoch} the model keeps "
                f"{_pct(last.val_fgsm_acc)} of the validation images under FGSM but only "
                f"{_pct(last.val_pgd_acc)} under PGD, a stronger attack; it has learned to "
                "defeat the one FGSM step, not to resist attacks.",
                "Try a smaller epsilon, FGSM with a random start (fgsm-rs) or PGD training, "
                "and judge the model by its PGD accuracy.",
            )
        )
    if last.val_fgsm_acc - last.val_acc >= leak:
        out.append(
            Finding(
                "label-leaking",
                last.epoch,
                f"At epoch {last.epoch} accuracy under FGSM ({_pct(last.val_fgsm_acc)}) is "
                f"above clean accuracy ({_pct(last.val_acc)}): the FGSM images give the "
                "label away (label leaking), so the FGSM figure says nothing about robustness.",
                "Judge the model by PGD accuracy; try FGSM with a random start (fgsm-rs), "
                "a smaller epsilon or PGD training.",
            )
        )
    pgd = [(h.epoch, h.val_pgd_acc) for h in history if h.val_pgd_acc is not None]
    for (e0, p0), (e1, p1) in zip(pgd, pgd[1:], strict=False):
        if p0 - p1 >= drop and p1 < p0 / 2:
            out.append(
                Finding(
                    "pgd-collapse",
                    e1,
                    f"PGD accuracy collapsed from {_pct(p0)} at epoch {e0} to {_pct(p1)} at "
                    f"epoch {e1}: catastrophic overfitting, the model stopped resisting "
                    "multi-step attacks while FGSM training went on.",
                    "Choose the best epoch by PGD accuracy (it keeps the epoch before the "
                    "collapse), or try a smaller epsilon, FGSM with a random start (fgsm-rs) "
                    "or PGD training.",
                )
            )
            break
    return out


def card_warnings(history: Sequence[EpochMetrics]) -> list[dict[str, str]]:
    """``findings`` as a card, a run record's table row and the CSV keep them:
    ``{"kind", "text"}`` (the finished model's card and the best-so-far file's alike)."""
    return [{"kind": f.kind, "text": f.sentence()} for f in findings(history)]
