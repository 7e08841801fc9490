"""Where ``reproduce``'s runs execute: one after another here, or as Ray tasks.

``reproduce`` plans many independent runs (``RunSpec``s, each naming its data,
device and evaluation). A ``RunJob`` holds what the runs share (the output
folder, threads per run) and turns one spec into its ``RunRecord`` by driving
``core.runs.experiments.execute``; an executor decides where each job runs:

* ``SerialExecutor``: in this process, in order (the default).
* ``RayExecutor`` (``core.runs.ray_executor``): every run is a Ray task (``pip install "fgsm-studio[cluster]"``)
  asking for one GPU when the runs want CUDA, else ``cpus_per_run`` CPUs. Without
  an address it starts a private local Ray instance over this machine's cores and
  GPUs (so a 4-GPU workstation runs four runs at once), listening on 127.0.0.1 only
  with token authentication on (``core/runs/ray_local.py``); ``address="auto"`` or
  ``"ray://head:10001"`` joins a running cluster. Records come back as runs finish;
  a worker process that dies costs only its own run, which Ray retries
  (``max_retries``); a run that fails in Python is reported and the others go on.

Both executors skip runs whose record already exists in ``out/runs``, so either
resumes the other's work, and both produce the same records (with a fixed seed
and one thread per run, bit for bit: ``tests/core/test_cluster.py``). On a
cluster ``out`` must be storage every worker shares (NFS, a mounted bucket):
each worker writes its record (and checkpoints) there. ``RayExecutor`` checks
this on every node before the first run and refuses with a clear message.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # experiments imports torch: only where a run really starts
    from .ray_executor import RayExecutor
    from .spec import RunRecord, RunSpec


class ClusterError(RuntimeError):
    """The cluster could not run the plan; the message is meant for the user."""


class HeadLost(ClusterError):
    """The Ray head (or the client connection to it) went away while runs were out."""


More = Callable[["RunRecord"], Iterable["RunSpec"]]


@dataclass(frozen=True)
class RunJob:
    """Everything a run needs besides its spec; small and picklable for Ray."""

    out_dir: str
    threads: int | None = None  # per run; None: the cores free (serial) or the task's CPUs (Ray)
    keep_models: bool = False  # also keep each run's model: OUT/models/<key>.safetensors

    def model_path(self, spec: RunSpec) -> Path:
        return Path(self.out_dir) / "models" / f"{spec.key()}.safetensors"

    def record_path(self, spec: RunSpec) -> Path:
        return Path(self.out_dir) / "runs" / f"{spec.key()}.json"

    def finished(self, spec: RunSpec) -> RunRecord | None:
        """The saved record of a finished run, or None."""
        from .records import RecordError, read_record

        path = self.record_path(spec)
        if not path.is_file():
            return None
        try:
            record = read_record(path, spec)  # the one reader: schema, ranges, keys
        except RecordError:
            return None  # a torn or untrustworthy record: run it again
        return record if record.test is not None else None  # a stopped run: run it

    def __call__(
        self, spec: RunSpec, on_event: Callable[[object], None] | None = None
    ) -> RunRecord:
        from ..devices import configure_threads
        from ..measure.evaluation import drive
        from .experiments import execute

        configure_threads("cli", self.threads)
        model = None
        if self.keep_models:
            model = self.model_path(spec)
            model.parent.mkdir(parents=True, exist_ok=True)
        record = drive(execute(spec, self.out_dir, save_model=model), on_event)
        assert record is not None  # only a torchrun rank other than 0 gets None
        return record


class SerialExecutor:
    """Runs one after another in this process."""

    name = "serial"
    parallel = 1

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(
        self,
        specs: Iterable[RunSpec],
        job: RunJob,
        *,
        on_start: Callable[[RunSpec], None] | None = None,
        on_event: Callable[[object], None] | None = None,
        more: More | None = None,
    ) -> Iterator[RunRecord]:
        """Each spec's record in turn; ``more(record)`` may add specs (e.g. Table 1's)."""
        queue = deque(dict.fromkeys(specs))  # drop duplicates, keep order
        seen = set(queue)
        while queue:
            spec = queue.popleft()
            record = job.finished(spec)
            if record is None:
                if on_start:
                    on_start(spec)
                record = job(spec, on_event)
            yield record
            for new in more(record) if more else ():
                if new not in seen:
                    seen.add(new)
                    queue.append(new)


def make_executor(
    kind: str,
    address: str | None = None,
    *,
    cpus_per_run: int = 1,
    gpus_per_run: float | None = None,
) -> SerialExecutor | RayExecutor:
    if kind == "serial":
        if address:
            raise ClusterError("--address only makes sense with --executor ray.")
        return SerialExecutor()
    if kind == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(address, cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run)
    raise ClusterError(f"unknown executor {kind!r}: serial or ray")
