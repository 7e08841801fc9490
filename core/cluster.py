"""Where ``reproduce``'s runs execute: one after another here, or as Ray tasks.

``reproduce`` plans many independent runs (``RunSpec``s, each naming its data,
device and evaluation). A ``RunJob`` holds what the runs share (the output
folder, threads per run) and turns one spec into its ``RunRecord`` by driving
``core.experiments.execute``; an executor decides where each job runs:

* ``SerialExecutor``: in this process, in order (the default).
* ``RayExecutor``: every run is a Ray task (``pip install "fgsm-studio[cluster]"``)
  asking for one GPU when the runs want CUDA, else ``cpus_per_run`` CPUs. Without
  an address it starts a private local Ray instance over this machine's cores and
  GPUs (so a 4-GPU workstation runs four runs at once), listening on 127.0.0.1 only
  with token authentication on (``core/ray_local.py``); ``address="auto"`` or
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

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # experiments imports torch: only where a run really starts
    from fgsm_studio.core.experiments import RunRecord, RunSpec


class ClusterError(RuntimeError):
    """The cluster could not run the plan; the message is meant for the user."""


@dataclass(frozen=True)
class RunJob:
    """Everything a run needs besides its spec; small and picklable for Ray."""

    out_dir: str
    threads: int | None = None  # per run; None: the cores free (serial) or the task's CPUs (Ray)

    def record_path(self, spec: RunSpec) -> Path:
        return Path(self.out_dir) / "runs" / f"{spec.key()}.json"

    def finished(self, spec: RunSpec) -> RunRecord | None:
        """The saved record of a finished run, or None."""
        from fgsm_studio.core.records import RecordError, read_record

        path = self.record_path(spec)
        if not path.is_file():
            return None
        try:
            return read_record(path, spec)  # the one reader: schema, ranges, keys
        except RecordError:
            return None  # a torn or untrustworthy record: run it again

    def __call__(
        self, spec: RunSpec, on_event: Callable[[object], None] | None = None
    ) -> RunRecord:
        from fgsm_studio.core.devices import configure_threads
        from fgsm_studio.core.evaluation import drive
        from fgsm_studio.core.experiments import execute

        configure_threads("cli", self.threads)
        record = drive(execute(spec, self.out_dir), on_event)
        assert record is not None  # only a torchrun rank other than 0 gets None
        return record


class SerialExecutor:
    """Runs one after another in this process."""

    name = "serial"

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
    ) -> Iterator[RunRecord]:
        for spec in dict.fromkeys(specs):  # drop duplicates, keep order
            if on_start:
                on_start(spec)
            yield job(spec, on_event)


def _probe_write(out_dir: str) -> tuple[str, str | None]:
    """(host, None) if this process can create and remove a file in ``out_dir``."""
    host = socket.gethostname()
    probe = Path(out_dir) / "runs" / f".write-probe-{host}-{uuid.uuid4().hex[:8]}"
    try:
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return host, f"{type(exc).__name__}: {exc.strerror or exc}"
    return host, None


def _run_remote(job: RunJob, spec: RunSpec) -> RunRecord:
    """A Ray task's body: one run on the CPUs (or the GPU) Ray gave this task."""
    import ray

    if job.threads is None:
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
        job = replace(job, threads=max(1, int(cpus)))
    return job(spec)


class RayExecutor:
    """Runs every spec as a Ray task; records are yielded as runs finish."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        cpus_per_run: int = 1,
        gpus_per_run: float | None = None,
        max_retries: int = 2,
        num_cpus: int | None = None,
    ) -> None:
        try:
            import ray  # noqa: F401
        except ImportError as exc:
            raise ClusterError(
                'The Ray executor needs Ray: pip install "fgsm-studio[cluster]".'
            ) from exc
        if cpus_per_run < 1:
            raise ClusterError(f"cpus_per_run must be at least 1, not {cpus_per_run}.")
        self.address, self.cpus_per_run, self.gpus_per_run = address, cpus_per_run, gpus_per_run
        self.max_retries, self.num_cpus = max_retries, num_cpus
        self._started = False
        self._private = ExitStack()

    def __enter__(self) -> RayExecutor:
        import ray

        from fgsm_studio.core import ray_local

        kwargs: dict = dict(
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
            logging_level=logging.WARNING,
        )
        self._private = ExitStack()
        try:
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                # Our own instance: loopback only, token authentication on, never
                # one already running here (core/ray_local.py says why and how).
                self._private.enter_context(ray_local.private_environment())
                ray.init(address="local", num_cpus=self.num_cpus or os.cpu_count(), **kwargs)
                self._started = True
                ray_local.check_private()
        except ray_local.OpenInstanceError as exc:
            self.__exit__()
            raise ClusterError(str(exc)) from exc
        except (ConnectionError, RuntimeError, ValueError) as exc:
            self.__exit__()
            where = self.address or "a local instance"
            raise ClusterError(f"Ray could not start or reach {where}: {exc}") from exc
        self._started = True
        return self

    def __exit__(self, *exc: object) -> None:
        import ray

        if self._started:
            ray.shutdown()
            self._started = False
        self._private.close()

    def _gpus(self, spec: RunSpec) -> float:
        import ray

        if self.gpus_per_run is not None:
            return self.gpus_per_run
        device = spec.train.device
        if device.startswith("cuda"):
            return 1.0
        if device == "auto" and ray.cluster_resources().get("GPU", 0) >= 1:
            return 1.0
        return 0.0

    def check_storage(self, out_dir: str) -> None:
        """Refuse unless a worker on every node can write into ``out_dir``."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        probe = ray.remote(num_cpus=0)(_probe_write)
        nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        answers = ray.get(
            [
                probe.options(
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)
                ).remote(out_dir)
                for node in nodes
            ]
        )
        bad = [(host, why) for host, why in answers if why]
        if bad:
            host, why = bad[0]
            raise ClusterError(
                f"A Ray worker on {host} cannot write to the output folder {out_dir} ({why}). "
                "On a cluster --out must be storage every worker shares (NFS or a mounted "
                "bucket), at the same path on every node."
            )

    def run(
        self,
        specs: Iterable[RunSpec],
        job: RunJob,
        *,
        on_start: Callable[[RunSpec], None] | None = None,
        on_event: Callable[[object], None] | None = None,
    ) -> Iterator[RunRecord]:
        import ray

        if not self._started:
            raise ClusterError("RayExecutor.run needs 'with RayExecutor(...) as ex:'.")
        out = str(Path(job.out_dir).resolve())
        job = replace(job, out_dir=out)
        pending: dict = {}
        todo = list(dict.fromkeys(specs))
        for spec in todo:  # finished runs are yielded at once, never sent out again
            record = job.finished(spec)
            if record is not None:
                yield record
        todo = [s for s in todo if job.finished(s) is None]
        if not todo:
            return
        self.check_storage(out)
        task = ray.remote(_run_remote)
        for spec in todo:
            if on_start:
                on_start(spec)
            options = dict(
                num_cpus=self.cpus_per_run,
                num_gpus=self._gpus(spec),
                max_retries=self.max_retries,
            )
            pending[task.options(**options).remote(job, spec)] = spec
        failures: list[str] = []
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            spec = pending.pop(done[0])
            try:
                record = ray.get(done[0])
            except ray.exceptions.RayTaskError as exc:  # the run raised: say which, go on
                cause = exc.cause if getattr(exc, "cause", None) else exc
                failures.append(f"{spec.key()}: {cause}")
                continue
            except ray.exceptions.WorkerCrashedError:
                failures.append(f"{spec.key()}: its worker died {self.max_retries + 1} times")
                continue
            self._keep(job, spec, record)
            yield record
        if failures:
            raise ClusterError(
                f"{len(failures)} run(s) failed (the others are saved; run again to retry): "
                + "; ".join(failures[:5])
            )

    @staticmethod
    def _keep(job: RunJob, spec: RunSpec, record: RunRecord) -> None:
        """Write the record here too, in case the worker's copy is on another disk."""
        from fgsm_studio.core.records import write_record

        if job.finished(spec) is None:
            write_record(job.record_path(spec), record)


def make_executor(kind: str, address: str | None = None) -> SerialExecutor | RayExecutor:
    if kind == "serial":
        if address:
            raise ClusterError("--address only makes sense with --executor ray.")
        return SerialExecutor()
    if kind == "ray":
        return RayExecutor(address)
    raise ClusterError(f"unknown executor {kind!r}: serial or ray")
