"""Progress of a plan of runs, on a terminal and in a log: what is done, running, queued, and when.

Every line starts with the plan's state: ``[3/12 done, 2 running, 7 queued, ETA 14
min, 5.2 min]``. The ETA comes from the runs finished in this session (their mean
wall time, times the runs left, over the runs that go at once); before the first
one finishes there is none. Each epoch of each running run gets a line (the serial
path hands its events directly; the Ray executor relays ``RunEvent``s from its
workers); a run's start is said when it really starts, and its end with its test
accuracy and, when it is at chance or its loss did not fall, a warning
(``core.reports.stats.run_flags``). On a terminal a tqdm bar follows the batches of
the run in this process; in a log (not a TTY) there are only plain lines, never
a bar or an ANSI code.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, TextIO


@dataclass(frozen=True)
class RunEvent:
    """An event of the run ``key``, relayed from where it runs: "started" or an EpochMetrics."""

    key: str
    event: Any


class Progress:
    """Progress of ``total`` runs on ``stream`` (stderr), ``parallel`` at a time."""

    def __init__(self, total: int, stream: TextIO | None = None, *, parallel: int = 1) -> None:
        from .training.config import BatchProgress, EpochMetrics
        from .training.robust_monitor import findings

        self._findings = findings
        self._types = BatchProgress, EpochMetrics
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total, self.parallel = total, max(1, parallel)
        self.finished = 0
        self.running: dict[str, float] = {}  # key -> when it started
        self.durations: list[float] = []  # wall time of runs trained in this session
        self.current = ""  # the run whose events come without a key (serial)
        self.started = time.perf_counter()
        self.bar: Any = None  # a tqdm bar while an epoch runs on a terminal
        self.bar_epoch = -1
        self.history: dict[
            str, list
        ] = {}  # each run's EpochMetrics, for core.training.robust_monitor
        self.warned: dict[str, set[str]] = {}

    # -- the plan's state ----------------------------------------------------------
    def eta(self) -> float | None:
        """Minutes left, from the runs finished in this session; None before the first."""
        if not self.durations:
            return None
        left = self.total - self.finished
        mean = sum(self.durations) / len(self.durations)
        now = time.perf_counter()
        begun = sum(min(now - t, mean) for t in self.running.values())  # work already done
        return max(0.0, left * mean - begun) / min(self.parallel, max(left, 1)) / 60

    def state(self) -> str:
        queued = max(0, self.total - self.finished - len(self.running))
        eta = self.eta()
        when = ""
        if eta is not None and self.finished < self.total:
            when = f", ETA {eta * 60:.0f} s" if eta < 2 else f", ETA {eta:.0f} min"
        mins = (time.perf_counter() - self.started) / 60
        return (
            f"{self.finished}/{self.total} done, {len(self.running)} running, {queued} queued"
            f"{when}, {mins:.1f} min"
        )

    # -- what the executors call ---------------------------------------------------
    def start(self, key: str) -> None:
        self._close()
        self.current = key
        if key not in self.running:
            self.running[key] = time.perf_counter()
        self.history[key], self.warned[key] = [], set()
        self._line(key, "started")

    def __call__(self, event: object) -> None:
        key = self.current
        if isinstance(event, RunEvent):
            key, event = event.key, event.event
            if event == "started":
                if key in self.running:  # a retry after its worker died
                    self._line(key, "started again (its worker died)")
                    return
                self.start(key)
                return
        batch_type, epoch_type = self._types
        if isinstance(event, batch_type) and self.tty:
            self._batch(event)
        elif isinstance(event, epoch_type):
            self._close()
            pgd = "-" if event.val_pgd_acc is None else f"{100 * event.val_pgd_acc:.1f}%"
            self._line(
                key,
                f"epoch {event.epoch}/{event.epochs} val {100 * event.val_acc:.1f}% "
                f"FGSM {100 * event.val_fgsm_acc:.1f}% PGD {pgd} "
                f"{event.images_per_s:.0f} img/s{' (best)' if event.is_best else ''}",
            )
            history = self.history.setdefault(key, [])
            history.append(event)
            warned = self.warned.setdefault(key, set())
            for finding in self._findings(history):
                if finding.kind not in warned:  # each kind once per run
                    warned.add(finding.kind)
                    self._line(key, f"warning: {finding.sentence()}")

    def done(self, record, *, trained: bool = True) -> None:
        """A run finished (``trained``) or was found finished (a resume)."""
        from .reports.stats import run_flags

        self._close()
        begun = self.running.pop(record.key, None)
        self.finished += 1
        if trained and begun is not None:
            self.durations.append(time.perf_counter() - begun)
        t = record.held_out
        fg = ", ".join(
            f"{a}@{e:g}={100 * v:.1f}%" for a, d in t.attacks.items() for e, v in d.items()
        )
        said = "test" if trained else "already done: test"
        self._line(record.key, f"{said} clean {100 * t.clean:.1f}%, {fg}")
        for flag in run_flags(record):
            self._line(record.key, f"warning: this run is flagged: {flag}")

    def note(self, text: str) -> None:
        """A line about the plan as a whole."""
        self._close()
        self._write(f"[{self.state()}] {text}")

    # -- drawing ------------------------------------------------------------------
    def _batch(self, event) -> None:
        from tqdm import tqdm

        if self.bar is None or self.bar_epoch != event.epoch:
            self._close()
            self.bar = tqdm(
                total=event.batches,
                desc=f"[{self.finished + 1}/{self.total}] epoch {event.epoch}",
                unit="batch",
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
            )
            self.bar_epoch = event.epoch
        self.bar.set_postfix_str(
            f"loss {event.loss:.3f}, {event.images_per_s:.0f} img/s", refresh=False
        )
        self.bar.update(event.batch - self.bar.n)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar, self.bar_epoch = None, -1

    def _line(self, key: str, text: str) -> None:
        self._write(f"[{self.state()}] {key}: {text}")

    def _write(self, line: str) -> None:
        if self.tty:
            from tqdm import tqdm

            tqdm.write(line, file=self.stream)
        else:
            print(line, file=self.stream)
        self.stream.flush()
