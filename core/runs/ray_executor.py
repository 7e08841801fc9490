"""The Ray executor of ``reproduce``: every run a Ray task, all out at once, records as they finish.

``RayExecutor`` (see ``core.runs.cluster`` for the plan, ``RunJob`` and the serial
executor) runs each spec as a Ray task asking for ``cpus_per_run`` CPUs or
``gpus_per_run`` GPUs. Without an address it starts a private local instance
(``core.runs.ray_local``: loopback only, token auth); with one it joins a running
cluster (``auto``, ``HOST:PORT`` or Ray Client's ``ray://HOST:10001``), warning
once when that head is on another machine and token authentication is off.
Workers relay "started" and each epoch through a ``ray.util.queue.Queue`` for the
driver's progress lines. The driver polls every ``POLL_S`` seconds; when the head's
port stops answering (``LOST_POLLS`` polls) or the connection drops it raises
``HeadLost`` instead of waiting for Ray to end the process, so ``reproduce`` can
say what is saved and how to resume.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from .cluster import ClusterError, HeadLost, More, RunJob

if TYPE_CHECKING:
    from .spec import RunRecord, RunSpec

POLL_S = 2.0  # how often the driver relays progress and checks the head
LOST_POLLS = 5  # polls in a row without the head's port: the head is gone


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


def _run_remote(job: RunJob, spec: RunSpec, events=None) -> RunRecord:
    """A Ray task's body: one run on the CPUs (or the GPU) Ray gave this task.

    ``events`` (a ``ray.util.queue.Queue``) carries "started" and each epoch's
    metrics back to the driver, for its progress lines.
    """
    import ray

    from ..progress import RunEvent
    from ..training.config import EpochMetrics

    if job.threads is None:
        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
        job = replace(job, threads=max(1, int(cpus)))
    key = spec.key()

    def send(event: object) -> None:
        # Fire and forget: Queue.put_nowait would ray.get() its answer, and a task that
        # blocks in ray.get lends its CPU to the next task, so runs would pile up on the
        # cores (4 at once on 2 CPUs, each 2.4x slower, measured). Calls from one task
        # to one actor keep their order.
        try:
            events.actor.put_nowait.remote(RunEvent(key, event))
        except Exception:  # noqa: BLE001 - progress is best effort, the run is not
            pass

    def relay(event: object) -> None:
        if events is not None and isinstance(event, EpochMetrics):
            send(event)

    if events is not None:
        send("started")
    return job(spec, relay)


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
        self._gcs, self._lost_polls, self._events_ok = "", 0, True
        self.parallel = 1

    def __enter__(self) -> RayExecutor:
        import ray

        from . import ray_local

        kwargs: dict = dict(
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
            logging_level=logging.WARNING,
        )
        self._private = ExitStack()
        if self.address:
            warn_if_open(self.address)
            # Ray ends a driver whose head is gone after 60 s (a C++ log line, exit 1);
            # wait longer and let _wait notice first, to save what is done and say so.
            os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", "600")
        try:
            if self.address and self.address.startswith("ray://"):
                self._client_init(kwargs)
            elif self.address:
                ray.init(address=self.address, **kwargs)
            else:
                # Our own instance: loopback only, token authentication on, never
                # one already running here (core/runs/ray_local.py says why and how).
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
        try:
            total = ray.cluster_resources()
            per = self.gpus_per_run or 0
            slots = total.get("GPU", 0) / per if per else total.get("CPU", 1) / self.cpus_per_run
            self.parallel = max(1, int(slots))
        except Exception:  # noqa: BLE001 - only the ETA uses it
            self.parallel = 1
        try:
            self._gcs = ray.get_runtime_context().gcs_address or ""
        except Exception:  # noqa: BLE001 - a Ray Client context has none: errors tell instead
            self._gcs = ""
        return self

    def _client_init(self, kwargs: dict) -> None:
        """Ray Client: the head starts a server per client, which can miss its first start
        on a busy head ("Starting Ray client server failed"); try once more."""
        import ray

        try:
            ray.init(address=self.address, **kwargs)
        except (ConnectionError, RuntimeError) as exc:
            if "client server failed" not in str(exc):
                raise
            ray.shutdown()
            ray.init(address=self.address, **kwargs)

    def __exit__(self, *exc: object) -> None:
        import ray

        if self._started and not (exc and isinstance(exc[1], HeadLost)):
            ray.shutdown()  # (after a lost head, shutting down would wait for it)
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
        more: More | None = None,
    ) -> Iterator[RunRecord]:
        """Every spec's record as runs finish; all runs are out at once.

        ``more(record)`` may add specs that depend on a finished run (Table 1's
        best pair); they go out as soon as they are known. ``on_event`` receives
        ``RunEvent``s ("started", each epoch) relayed from the workers.
        """
        import ray

        if not self._started:
            raise ClusterError("RayExecutor.run needs 'with RayExecutor(...) as ex:'.")
        out = str(Path(job.out_dir).resolve())
        job = replace(job, out_dir=out)
        todo = deque(dict.fromkeys(specs))
        seen = set(todo)
        pending: dict = {}
        failures: list[str] = []
        task = events = None
        while todo or pending:
            while todo:  # finished runs are yielded at once, the others all go out
                spec = todo.popleft()
                record = job.finished(spec)
                if record is None:
                    if task is None:
                        self.check_storage(out)
                        task, events = ray.remote(_run_remote), self._event_queue()
                    if on_start:
                        on_start(spec)
                    options = dict(
                        num_cpus=self.cpus_per_run,
                        num_gpus=self._gpus(spec),
                        max_retries=self.max_retries,
                    )
                    pending[task.options(**options).remote(job, spec, events)] = spec
                    continue
                yield record
                for new in more(record) if more else ():
                    if new not in seen:
                        seen.add(new)
                        todo.append(new)
            if not pending:
                break
            done, later = self._wait(pending, events, on_event)
            if not done:
                continue
            spec = pending.pop(done[0])
            try:
                record = ray.get(done[0])
            except (ConnectionError, ray.exceptions.RaySystemError) as exc:
                raise HeadLost(f"lost the connection to Ray ({type(exc).__name__})") from exc
            except ray.exceptions.RayError as exc:
                if not self._head_alive():  # the runs failed because the head went away
                    raise HeadLost(f"the Ray head at {self._gcs} stopped answering") from exc
                if isinstance(exc, ray.exceptions.RayTaskError):  # the run raised: go on
                    cause = exc.cause if getattr(exc, "cause", None) else exc
                    failures.append(f"{spec.key()}: {cause}")
                elif isinstance(exc, ray.exceptions.WorkerCrashedError):
                    failures.append(f"{spec.key()}: its worker died {self.max_retries + 1} times")
                else:
                    failures.append(f"{spec.key()}: {type(exc).__name__}: {exc}"[:300])
                for event in later:
                    if on_event is not None:
                        on_event(event)
                continue
            self._keep(job, spec, record)
            yield record
            for event in later:  # runs that started once this one ended
                if on_event is not None:
                    on_event(event)
            for new in more(record) if more else ():
                if new not in seen:
                    seen.add(new)
                    todo.append(new)
        if failures:
            raise ClusterError(
                f"{len(failures)} run(s) failed (the others are saved; run again to retry): "
                + "; ".join(failures[:5])
            )

    @staticmethod
    def _event_queue():
        """A queue the workers put progress on (None if it cannot be made)."""
        try:
            from ray.util.queue import Queue

            return Queue(actor_options={"num_cpus": 0})
        except Exception:  # noqa: BLE001 - progress lines are optional, the runs are not
            return None

    def _wait(self, pending: dict, events, on_event) -> tuple[list, list]:
        """Wait up to ``POLL_S`` for a run to finish, relaying progress; HeadLost if gone.

        Returns the finished refs and the events to relay only after the finished run's
        record (those of other runs: one may have started on the CPU it freed).
        """
        import ray

        later: list = []
        try:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
        except (ConnectionError, ray.exceptions.RaySystemError) as exc:
            raise HeadLost(f"lost the connection to Ray ({type(exc).__name__})") from exc
        if events is not None and on_event is not None and self._events_ok:
            try:
                n = events.qsize()
                batch = events.get_nowait_batch(n) if n else []
            except Exception:  # noqa: BLE001 - its actor is gone: progress lines stop, runs go on
                self._events_ok, batch = False, []
            ended = {pending[ref].key() for ref in done}
            for event in batch:
                if done and getattr(event, "key", None) not in ended:
                    later.append(event)
                else:
                    on_event(event)
        if not done and not self._head_alive():
            self._lost_polls += 1
            if self._lost_polls >= LOST_POLLS:
                raise HeadLost(f"the Ray head at {self._gcs} stopped answering")
        else:
            self._lost_polls = 0
        return done, later

    def _head_alive(self) -> bool:
        """Whether the head's GCS port still accepts a connection (True when unknown)."""
        if not self._gcs or ":" not in self._gcs:
            return True
        host, port = self._gcs.rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                return True
        except (OSError, ValueError):
            return False

    @staticmethod
    def _keep(job: RunJob, spec: RunSpec, record: RunRecord) -> None:
        """Write the record here too, in case the worker's copy is on another disk."""
        from .records import write_record

        if job.finished(spec) is None:
            write_record(job.record_path(spec), record)


_WARNED: set[str] = set()


def is_local_address(address: str) -> bool:
    """Whether a ``--address`` names this machine ("auto", loopback, localhost)."""
    if address in ("auto", "local"):
        return True
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def warn_if_open(address: str) -> None:
    """Warn once when joining a head on another machine without token authentication."""
    if is_local_address(address) or address in _WARNED:
        return
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
        return
    _WARNED.add(address)
    logging.getLogger(__name__).warning(
        "Joining the Ray head %s without token authentication (RAY_AUTH_MODE=token): anyone "
        "who can reach it can run code on every node; see docs/cluster.md, 'Protect the "
        "cluster'.",
        address,
    )
