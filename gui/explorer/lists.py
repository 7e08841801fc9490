"""What the Explorer offers to choose from, the base of its state: ``ExplorerLists``.

The models in the Model list (the bundled catalogue, then the models opened in this
window that it lacks), the Recent list of model files, and the samples of the model's
dataset with the one on screen (the gallery, Previous / Next and the arrow keys). Like
the rest of ``ExplorerState`` (which is this class and the attack and what is on
screen), it changes only through its methods, each emitting the signal of what changed,
once, and only if the value really changed. Which sample is on screen follows the image
(``_shown_name``, the state's image's name).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from fgsm_studio.core.models.bundled import ModelEntry, Sample


class ExplorerLists(QObject):
    samples_changed = Signal()  # the model's dataset's samples (the gallery)
    current_sample_changed = Signal(int)  # the sample on screen (-1: the image is none)
    catalogue_changed = Signal()  # a model was opened that the list did not have
    recent_changed = Signal()  # the Recent list of model files

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._samples: tuple[Sample, ...] = ()
        self._current_sample = -1
        self._catalogue: tuple[ModelEntry, ...] = ()
        self._opened: tuple[ModelEntry, ...] = ()
        self._recent: tuple[str, ...] = ()

    # ------------------------------------------------------------------ reading
    @property
    def samples(self) -> tuple[Sample, ...]:
        return self._samples

    @property
    def current_sample(self) -> int:
        """The index in ``samples`` of the image on screen, or of the one asked for
        while it loads; -1 when the image is not one of them."""
        return self._current_sample

    @property
    def catalogue(self) -> tuple[ModelEntry, ...]:
        """The bundled models (the list's first part)."""
        return self._catalogue

    @property
    def opened(self) -> tuple[ModelEntry, ...]:
        """Models opened in this window that the catalogue lacks, oldest first."""
        return self._opened

    @property
    def recent(self) -> tuple[str, ...]:
        """The Recent list of model files, newest first (as the settings have it)."""
        return self._recent

    def listed(self, source: Path | str) -> bool:
        """Is ``source`` (a file) one of the catalogue's or the opened models?"""
        return any(str(e.path) == str(source) for e in (*self._catalogue, *self._opened))

    def _shown_name(self) -> str | None:
        """The name of the image on screen (the state's image), None without one."""
        return None

    # ------------------------------------------------------------------ changing
    def set_samples(self, samples: list[Sample] | tuple[Sample, ...]) -> None:
        """The samples of the model's dataset; the image on screen may be one of them."""
        samples = tuple(samples)
        if samples != self._samples:
            self._samples = samples
            self.samples_changed.emit()
            self._set_current_sample(self._sample_called(self._shown_name()))

    def step_sample(self, delta: int) -> Sample | None:
        """The next (``delta`` 1) or previous (-1) sample, made current; None without samples."""
        n = len(self._samples)
        if n == 0:
            return None
        i = self._current_sample
        i = (i + delta) % n if i >= 0 else (0 if delta > 0 else n - 1)
        self._set_current_sample(i)
        return self._samples[i]

    def choose_sample(self, index: int) -> Sample:
        """The sample at ``index`` (the user clicked it), made current."""
        if not 0 <= index < len(self._samples):
            raise ValueError(f"there is no sample {index} of {len(self._samples)}")
        self._set_current_sample(index)
        return self._samples[index]

    def _sample_called(self, name: str | None) -> int:
        names = [s.path.name for s in self._samples]
        return names.index(name) if name in names else -1

    def _set_current_sample(self, index: int) -> None:
        if index != self._current_sample:
            self._current_sample = index
            self.current_sample_changed.emit(index)

    def set_catalogue(self, entries: list[ModelEntry] | tuple[ModelEntry, ...]) -> None:
        """The bundled models (set once, when the window is made)."""
        entries = tuple(entries)
        if entries != self._catalogue:
            self._catalogue = entries
            self.catalogue_changed.emit()

    def add_opened(self, entry: ModelEntry) -> None:
        """A model opened from a file the list does not have yet."""
        if not self.listed(entry.path):
            self._opened = (*self._opened, entry)
            self.catalogue_changed.emit()

    def set_recent(self, paths: list[str] | tuple[str, ...]) -> None:
        paths = tuple(paths)
        if paths != self._recent:
            self._recent = paths
            self.recent_changed.emit()
