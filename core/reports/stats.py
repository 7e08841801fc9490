"""What a reproduction report may claim: flags, intervals, and how the best pair is chosen.

* ``run_flags``: a run at chance (clean accuracy within ``CHANCE_MARGIN`` points of
  1 / classes) or whose training loss never fell below its first epoch's; the CLI
  says them at the end of the run and the report beside its row.
* ``wilson``: the 95% Wilson interval of an accuracy measured on ``n`` images; with
  one round a standard deviation is undefined, so the report shows this instead.
* ``interval95``: what every error bar of Figures 2 and 3 is (the report's and the
  Train tab's alike): the 95% confidence interval of the accuracy drawn, Student t
  over the rounds with two or more, Wilson over the images with one.
* ``choose_best``: the best WR_FGSM pair by *validation* clean + FGSM accuracy
  (each run's best epoch, never the held-out test part), with its margin over the
  runner-up and whether that margin is within the noise (two standard errors:
  of the rounds' spread with two or more rounds, else binomial on the validation
  images).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..runs.spec import RunRecord

CHANCE_MARGIN = 5.0  # points above 1 / classes that still count as chance
CLASSES = {"mnist-5k": 10, "mnist": 10, "fashion-mnist": 10, "cifar10": 10}


def chance(record: RunRecord) -> float | None:
    """Chance accuracy in % (100 / classes), or None when the class count is unknown."""
    k = record.num_classes or CLASSES.get(record.spec.dataset, 0)
    return 100.0 / k if k else None


def run_flags(record: RunRecord) -> list[str]:
    """Short phrases for what makes a run's numbers untrustworthy (empty: nothing)."""
    flags = []
    c = chance(record)
    clean = 100 * record.test.clean if record.test is not None else None  # None: stopped
    if c is not None and clean is not None and clean <= c + CHANCE_MARGIN:
        flags.append(f"at chance (clean {clean:.1f}%, chance {c:.0f}%)")
    losses = [h.loss for h in record.history]
    if len(losses) >= 2 and min(losses[1:]) >= losses[0]:
        flags.append(f"training loss did not fall ({losses[0]:.3g} -> {losses[-1]:.3g})")
    return flags


def wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion ``p`` measured on ``n`` trials."""
    if n <= 0:
        return 0.0, 1.0
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# Student's t, two-sided 95%, by degrees of freedom (1-30); beyond 30 the normal's 1.96 is
# within 2.5% of it. A table, so the report needs no scipy.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip


def t95(df: int) -> float:
    """The two-sided 95% quantile of Student's t with ``df`` degrees of freedom."""
    return _T95[df - 1] if 1 <= df <= len(_T95) else 1.96


def interval95(mean: float, std: float, rounds: int, n: int) -> tuple[float, float]:
    """The 95% confidence interval of an accuracy (fractions in [0, 1]) the figures draw.

    ``rounds`` >= 2: of the mean over the rounds, mean +- t * std / sqrt(rounds) (the
    sample standard deviation ``std`` of the rounds' values: training and test
    images both vary); one round: the Wilson interval over its ``n`` images.
    """
    if rounds >= 2:
        half = t95(rounds - 1) * std / math.sqrt(rounds)
        return max(0.0, mean - half), min(1.0, mean + half)
    return wilson(mean, n)


def val_score(record: RunRecord) -> float | None:
    """Validation clean + FGSM accuracy (in %, out of 200) at the run's best epoch."""
    for h in record.history:
        if h.epoch == record.best_epoch:
            return 100 * (h.val_acc + h.val_fgsm_acc)
    return None


@dataclass(frozen=True)
class Choice:
    a1: float
    score: float  # mean validation clean + FGSM, %
    runner_up: float | None  # its a1
    margin: float  # points over the runner-up
    noise: float  # two standard errors of the difference, points
    rounds: int
    on: str  # "validation" or "test" (old records without a history)

    @property
    def within_noise(self) -> bool:
        return self.runner_up is not None and self.margin <= self.noise

    def sentence(self) -> str:
        head = (
            f"a1={self.a1:g} (a2={1 - self.a1:g}) has the highest {self.on} clean + FGSM "
            f"accuracy ({self.score:.1f} of 200, mean of {self.rounds} round(s))"
        )
        if self.runner_up is None:
            return head + "; it was the only pair."
        verdict = "within the noise" if self.within_noise else "beyond the noise"
        return (
            f"{head}, {self.margin:.1f} points above a1={self.runner_up:g}; two standard "
            f"errors of that difference are {self.noise:.1f} points, so the win is {verdict}."
        )


def choose_best(records: Iterable[RunRecord]) -> Choice | None:
    """The WR_FGSM a1 with the highest validation clean + FGSM accuracy, and by how much."""
    scores: dict[float, list[float]] = defaultdict(list)
    n_val: dict[float, int] = {}
    records = list(records)
    on = "validation" if all(val_score(r) is not None for r in records) else "test"
    for r in records:
        v = val_score(r) if on == "validation" else None
        t = r.held_out
        s = v if v is not None else 100 * (t.clean + t.acc("fgsm", r.spec.train.epsilon))
        scores[r.spec.train.a1].append(s)
        n_val[r.spec.train.a1] = r.n_val if on == "validation" else t.n
    if not scores:
        return None
    mean = {a: sum(v) / len(v) for a, v in scores.items()}
    ranked = sorted(mean, key=lambda a: (-mean[a], a))
    best = ranked[0]
    rounds = len(scores[best])
    if len(ranked) == 1:
        return Choice(best, mean[best], None, 0.0, 0.0, rounds, on)
    second = ranked[1]

    def se2(a: float) -> float:  # squared standard error of one pair's mean score, points^2
        v = scores[a]
        if len(v) >= 2:
            m = sum(v) / len(v)
            return sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)
        p = min(max(mean[a] / 200, 0.0), 1.0)  # binomial, two accuracies on n images
        return 2 * (100**2) * p * (1 - p) / max(n_val[a], 1)

    noise = 2 * math.sqrt(se2(best) + se2(second))
    return Choice(best, mean[best], second, mean[best] - mean[second], noise, rounds, on)
