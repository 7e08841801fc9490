"""How the Train tab tells and keeps the end of a run: finished, failed or stopped.

``tell(view, job, how, value)`` runs on the GUI thread once the run's thread is done
(``TrainView._on_worker_finished``). A finished run's record goes to the store and
the status says its held-out accuracy; a failed run says why in one sentence; a
stopped run says where it stopped (epoch, batch, how much of the run), draws its
unfinished epoch's mean loss in the loss plot ("not validated") and keeps its record,
marked stopped, with its best-so-far checkpoint when an epoch had finished (issue 24,
13). The progress bar and the status line say the same figure.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from fgsm_studio.core.runs.experiments import best_so_far_path, stopped_record
from fgsm_studio.core.runs.spec import RunRecord, Stopped

if TYPE_CHECKING:
    from .view import TrainView
    from .worker import TrainJob


def tell(view: TrainView, job: TrainJob, how: str, value: object) -> None:
    """Say and keep how ``job`` ended: ``how`` "finished" (``value`` its record),
    "failed" (``value`` the sentence) or "stopped"."""
    if how == "finished" and isinstance(value, RunRecord):
        finished(view, job, value)
    elif how == "failed":
        view.say(f"FAILED: {value}")
        view.progress.setFormat("failed at %p%")
        view.status.setText(
            f"The run failed at {view.progress.value()} of {view.progress.maximum()} batches: {value}"
        )
        keep_partial(view, job)
    else:
        kept = keep_partial(view, job)
        if not kept:
            view.say("Stopped before the first epoch finished: nothing was saved.")
        where_ = view.state.where_stopped(job)
        show_partial(view)
        view.say(where_)
        view.progress.setFormat(f"stopped at {percent(view)}%")  # the status's figure
        view.status.setText(
            f"{where_}; {view.progress.value()} of {view.progress.maximum()} batches of "
            f"the run ({percent(view)}%); "
            + ("the best epoch so far is kept." if kept else "nothing was saved.")
        )
        keep_stopped(view, job, where_, kept)


def show_partial(view: TrainView) -> None:
    """A stopped run's unfinished epoch in the loss plot: its mean training loss so far
    at its fraction of an epoch, marked "not validated" (issue 24, 13)."""
    p, losses = view.state.last_batch, view.epoch_losses
    done = view.state.history[-1].epoch if view.state.history else 0
    if p is None or not losses or p.epoch == done:
        return
    share = p.batch / p.batches
    words = f"epoch {p.epoch}: {round(100 * share)}%\nnot validated"
    view.plots.show_partial(p.epoch - 1 + share, sum(losses) / len(losses), words)


def keep_stopped(view: TrainView, job: TrainJob, where_: str, kept: bool) -> None:
    """A stopped run's record (where it stopped, its validated epochs, its best-so-far
    file) in the store: its row survives a restart and is exported (issue 24, 13)."""
    p, history = view.state.last_batch, view.state.history
    stopped = Stopped(p.epoch, p.batch, p.batches, where_) if p else Stopped(0, 0, 0, where_)
    seconds = max([p.elapsed_s if p else 0.0] + [h.elapsed_s for h in history])
    record = stopped_record(
        job.spec,
        history,
        stopped,
        name=job.name,
        sweep=job.sweep,
        saved_to=str(best_so_far_path(job.save_to)) if kept else None,
        train_seconds=seconds,
    )
    problem = view.state.add_record(record)
    if problem:
        view.say(problem)


def keep_partial(view: TrainView, job: TrainJob) -> bool:
    """Whether the run left a best-so-far checkpoint (an epoch had finished); it is then
    the tab's last saved model (Open in Explorer)."""
    partial = best_so_far_path(job.save_to)
    if not partial.is_file():
        return False
    view.say(f"The best epoch so far is kept: {partial}")
    view.state.set_last_saved(str(partial))
    return True


def finished(view: TrainView, job: TrainJob, record: RunRecord) -> None:
    """A finished run: its record (in its sweep, if any) kept, its held-out accuracy said."""
    record = replace(record, sweep=job.sweep)
    problem = view.state.add_record(record)
    if problem:
        view.say(problem)
    view.state.set_last_saved(record.saved_to)
    test = record.held_out
    view.say(
        f"Run finished: held-out clean {100 * test.clean:.1f}% "
        f"(n={test.n}), checkpoint {view.state.last_saved}"
    )
    view.progress.setFormat("done: %p%")
    view.progress.setValue(view.progress.maximum())
    view.status.setText(
        f"Finished {job.name}: held-out clean {100 * test.clean:.1f}%. "
        "Choose settings and press Train for another run."
    )


def percent(view: TrainView) -> int:
    """How much of the run the progress bar shows done, in whole percent."""
    top = view.progress.maximum() - view.progress.minimum()
    return round(100 * (view.progress.value() - view.progress.minimum()) / top) if top else 0
