"""What the Train view runs: a ``TrainJob`` and the generator that carries it out.

``TrainJob`` is what the form asks for (a ``RunSpec``, where to save, a name, the
sweep it belongs to). ``run_job(job)`` is a plain generator: it sets the training
thread's CPU threads (``configure_threads("trainer")``) and hands on
``core.runs.experiments.execute``'s events, returning its ``RunRecord``. The view runs
it with the generic ``workers.start_generator``; stopping it means no longer iterating.
``friendly(exc)`` turns a failure into one sentence for the user.
"""

from __future__ import annotations

import errno
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

from fgsm_studio.core.runs.experiments import Event
from fgsm_studio.core.runs.spec import RunRecord, RunSpec


@dataclass(frozen=True)
class TrainJob:
    spec: RunSpec
    save_to: Path = field(default_factory=Path)
    name: str = ""
    sweep: str = ""  # the sweep this run belongs to, if any

    @property
    def epochs(self) -> int:
        return self.spec.train.epochs


def run_job(job: TrainJob) -> Generator[Event, None, RunRecord]:
    """Train, evaluate and save one job (runs on the worker's thread)."""
    from fgsm_studio.core.devices import configure_threads
    from fgsm_studio.core.runs.experiments import execute

    configure_threads("trainer")
    record = yield from execute(job.spec, save_model=job.save_to, name=job.name)
    if record is None:  # execute returns None only on a non-main rank of a DDP run
        raise RuntimeError("The run ended without a record of its results.")
    return record


def friendly(exc: BaseException) -> str:
    """One sentence for the user about why a run failed."""
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return "The GPU ran out of memory. Lower the batch size or choose a smaller model, then start again."
    if isinstance(exc, PermissionError):
        return f"Cannot write the checkpoint: {exc}. Choose a folder you can write to."
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (
            "The disk is full: the checkpoint could not be saved. The last good checkpoint is kept."
        )
    return str(exc) or type(exc).__name__
