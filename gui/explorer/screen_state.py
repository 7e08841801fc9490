"""How the Explorer is on screen, a base of its state: ``ExplorerScreen``.

The status line the headline shows while no frame speaks (loading, running PGD),
whether the epsilon slider is held (frames then skip what the release redraws), the
banner's message, and presenter mode (with the curve in it or not). None of it changes
what is attacked or computed; the widgets draw it, the window and the keys set it. It
changes only through its methods, each emitting the signal of what changed, once and
only if the value really changed (the banner's sentence excepted: shown again, it
restarts its time). The lists to choose from are its own base, ``ExplorerLists``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from .lists import ExplorerLists


class ExplorerScreen(ExplorerLists):
    status_changed = Signal(str)  # "" when the frame speaks for itself
    dragging_changed = Signal(bool)  # the slider is held (cheap frames) or released
    message_changed = Signal(str, str)  # the banner's text ("" hides it) and kind
    presenter_changed = Signal(bool)  # presenter mode: big type, light on black, no sidebar
    curve_in_presenter_changed = Signal(bool)  # the curve shown in presenter mode (key C)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status = ""
        self._dragging = False
        self._message = ("", "error")
        self._presenter = False
        self._curve_in_presenter = False

    # ------------------------------------------------------------------ reading
    @property
    def status(self) -> str:
        return self._status

    @property
    def dragging(self) -> bool:
        """Is the epsilon slider held? (Frames then skip what the release redraws.)"""
        return self._dragging

    @property
    def message(self) -> tuple[str, str]:
        """The banner's text ("" when none) and kind ("error" or "info")."""
        return self._message

    @property
    def presenter(self) -> bool:
        return self._presenter

    @property
    def curve_in_presenter(self) -> bool:
        return self._curve_in_presenter

    # ------------------------------------------------------------------ changing
    def set_status(self, text: str) -> None:
        """A line for the headline while no frame speaks (loading, running PGD); "" clears it."""
        if text != self._status:
            self._status = text
            self.status_changed.emit(text)

    def set_dragging(self, on: bool) -> None:
        if bool(on) != self._dragging:
            self._dragging = bool(on)
            self.dragging_changed.emit(self._dragging)

    def show_message(self, text: str, kind: str = "error") -> None:
        """A sentence in the banner: an error, or "info" (a file saved); "" hides it.
        The same sentence again is shown again (emitted: the banner restarts its time)."""
        if kind not in ("error", "info"):
            raise ValueError(f"unknown message kind {kind!r}: error or info")
        if not text and not self._message[0]:
            return
        self._message = (text, kind)
        self.message_changed.emit(text, kind)

    def clear_message(self) -> None:
        self.show_message("", self._message[1])

    def set_presenter(self, on: bool) -> None:
        if bool(on) != self._presenter:
            self._presenter = bool(on)
            self.presenter_changed.emit(self._presenter)

    def set_curve_in_presenter(self, on: bool) -> None:
        if bool(on) != self._curve_in_presenter:
            self._curve_in_presenter = bool(on)
            self.curve_in_presenter_changed.emit(self._curve_in_presenter)
