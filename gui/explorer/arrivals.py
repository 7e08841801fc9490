"""The Explorer's first screen, and what each model that arrives brings: ``ModelArrivals``.

``start(model, image, epsilon)``: ``core.explorer.opening.plan_opening`` decides the
first model, image and epsilon (the command line's, else the bundled defaults); the
view loads the model off the GUI thread. When a model arrives (``model_arrived``) it
becomes the state's (listed if it was opened from a file, put first in Recent), its
defended twin is loaded to compare with, and it gets its image: the opening's image if
one was asked for; for the default opening, the sample ``pick_sample`` chooses on the
``TaskRunner`` (its answer also sets epsilon); for any later model,
``image_after_model`` (a sample of its own dataset where the image on screen is of
another kind, else that image under the new model, warned about where it is nothing
like the model's training images). A model of a new kind brings its own epsilon
default unless the opening set one (``keeps_epsilon``). An ImageNet model whose
weights cannot be downloaded (offline) gets a sentence that stays in the model panel,
offering the model that needs no download (``download_failed``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch

from fgsm_studio.core.explorer.opening import (
    Opening,
    image_after_model,
    pick_sample,
    plan_opening,
)
from fgsm_studio.core.models.bundled import ModelEntry, Sample, samples_for, twin
from fgsm_studio.core.models.imagenet import VIRTUAL_PREFIX, virtual_sources
from fgsm_studio.core.models.imagenet_cards import NAMES

from .state import LoadedModel

if TYPE_CHECKING:
    from .view import ExplorerView

log = logging.getLogger(__name__)
SWEEP = torch.linspace(0, 0.5, 101)  # the epsilons ``pick_sample`` tries


class ModelArrivals:
    """The opening's plan until its model has loaded, the first sample's pick, and each
    arriving model's place, twin and image (see the module docstring)."""

    def __init__(self, view: ExplorerView) -> None:
        self.view = view
        self.plan: Opening | None = None  # applied when its model has loaded
        self.task = -1  # the runner's task id of the opening's sample pick
        view.runner.finished.connect(self._on_runner_finished)
        view.runner.failed.connect(self._on_runner_failed)

    @property
    def keeps_epsilon(self) -> bool:
        """The opening (still to be applied) set epsilon: a new model's default waits."""
        return self.plan is not None and self.plan.epsilon is not None

    def start(self, model: Path | None, image: Path | None, epsilon: float | None) -> None:
        view = self.view
        plan = plan_opening(view.entries, model=model, image=image, epsilon=epsilon)
        if plan.epsilon is not None:
            view.state.set_epsilon(plan.epsilon)
        if plan.model is None:
            view.state.set_status("No model found: open a checkpoint")
            return
        self.plan = plan
        view.load_model(plan.model)

    def model_arrived(self, loaded: LoadedModel) -> None:
        """``loaded`` (read by the loader) becomes the model under attack."""
        view, state = self.view, self.view.state
        old = state.model
        if not str(loaded.source).startswith(VIRTUAL_PREFIX):  # (those are listed by name)
            state.add_opened(ModelEntry(loaded.path, loaded.card))
        state.set_session(None)  # the old model's gradient: never drawn with the new card
        state.set_model(loaded)
        if loaded.path not in {e.path for e in state.catalogue}:
            view.remember_model(loaded.path)
        state.set_loading("model", None)
        # Until its first frame: the old model's verdict is gone (set_session(None)).
        state.set_status(f"{loaded.card.title()}: attacking the image...")
        other = twin(ModelEntry(loaded.path, loaded.card), view.entries)
        view.load_compare(other.path if other else None)
        self._give_image(loaded, old)
        view.model_loaded.emit(str(loaded.path))

    def _give_image(self, loaded: LoadedModel, old: LoadedModel | None) -> None:
        view = self.view
        samples = samples_for(loaded.card.dataset)
        plan, self.plan = self.plan, None
        if plan is not None and plan.image is not None:
            view.set_image(plan.image)  # its arrival makes the session
        elif plan is not None and plan.pick_sample and samples:
            net, card = loaded.net, loaded.card
            self.task = view.runner.submit("first", lambda: pick_sample(net, card, samples, SWEEP))
        else:
            old_dataset = None if old is None else old.card.dataset
            has_image = view.state.image is not None
            sample = image_after_model(
                old_dataset, loaded.card.dataset, samples, has_image=has_image
            )
            if sample is not None:
                view.set_image(sample.path, sample.label)
            else:
                view.frames.new_session()  # the current image (if any) under the new model
                view.warn_if_out_of_domain()

    def download_failed(self, source: object, message: str) -> bool:
        """An ImageNet model whose weights could not be downloaded (offline): one sentence
        that stays in the model panel, offering the model that needs no download."""
        text = str(source)
        if not text.startswith(VIRTUAL_PREFIX) or "Could not download" not in message:
            return False
        name = NAMES.get(text[len(VIRTUAL_PREFIX) :], text)
        offline = next(((src, t) for src, t in virtual_sources() if "(offline)" in t), None)
        instead = f" {offline[1]} needs no connection." if offline else ""
        log.warning("download failed: %s", message)
        self.view.sidebar.panel.show_notice(
            f"{name} needs its weights from the internet, and they could not be downloaded: "
            f"this computer seems to be offline.{instead}",
            offer=offline,
            details=message,
        )
        return True

    def _on_runner_finished(self, channel: str, task_id: int, result: object) -> None:
        if channel == "first" and task_id == self.task:
            sample, eps = cast(tuple[Sample, float], result)
            self.view.state.set_epsilon(eps)
            self.view.set_image(sample.path, sample.label)

    def _on_runner_failed(self, channel: str, task_id: int, message: str, details: str) -> None:
        if channel == "first" and task_id == self.task:
            self.view.show_error(f"Choosing the first sample failed: {message}")
