"""Beside the epsilon slider: the smallest change that flips the image, from the state.

``FlipSizeLabel`` draws ``ExplorerState.flip_size``: "computing..." while the
worker runs DeepFool and C&W, then e.g. "Smallest change that flips it:" over
"L2 = 0.81 (C&W), L-inf = 0.023 (DeepFool)", the L-inf size in the slider's
units (pixel units for digits, /255 for photos), or "not found". With Feature
Squeezing on it is the squeezed model's ("...flips the squeezed model"); the
search is untargeted, and in targeted mode the title says so ("any other class").
Its tooltip says in plain words why this differs from FGSM's epsilon.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QWidget

from fgsm_studio.core.attacks.minimal import SmallestFlip

from .explorer.state import ExplorerState

TITLE = "Smallest change that flips it:"
WIDEST = "L2 = 10.00 (DeepFool), L-inf = 10.25/255 (DeepFool)"  # (the titles wrap less)  # room kept: the slider never jumps
TOOLTIP = (
    "<p>FGSM spends its whole budget epsilon on every pixel. DeepFool and C&amp;W "
    "(Carlini &amp; Wagner) instead search for the <b>least</b> change that makes this "
    "model change its answer, and this is its size: L2 is the length of the whole "
    "change (all pixels together), L-inf the most any one pixel moves, in the same "
    "units as epsilon. A small number means the image sits close to the model's "
    "decision boundary. With Feature Squeezing on it is measured on the squeezed "
    "model (the search follows the gradient through the squeezer, BPDA). It looks for "
    "any other answer, also in targeted mode.</p>"
)


def linf_text(size: float, per_255: bool) -> str:
    return f"{size * 255:.1f}/255".replace(".0/255", "/255") if per_255 else f"{size:.3f}"


def flip_title(*, squeezed: bool = False, targeted: bool = False) -> str:
    """The first line: which model, and (targeted mode) that any other class counts."""
    if squeezed and targeted:
        return "Smallest change, squeezed model, any class:"
    if squeezed:
        return "Smallest change that flips the squeezed model:"
    return "Smallest change to any other class:" if targeted else TITLE


def flip_size_text(
    size: SmallestFlip | None,
    computing: bool,
    *,
    per_255: bool,
    squeezed: bool = False,
    targeted: bool = False,
) -> str:
    """What the label says, in the slider's units."""
    TITLE = flip_title(squeezed=squeezed, targeted=targeted)  # noqa: N806 (the heading)
    if computing:
        return f"{TITLE}\ncomputing..."
    if size is None:
        return ""
    if size.l2 is None and size.linf is None:
        return f"{TITLE}\nnot found"
    parts = []
    if size.l2 is not None:
        parts.append(f"L2 = {size.l2:.2f} ({size.l2_by})")
    if size.linf is not None:
        parts.append(f"L-inf = {linf_text(size.linf, per_255)} ({size.linf_by})")
    return f"{TITLE}\n{', '.join(parts)}"


class FlipSizeLabel(QLabel):
    """Two lines of text drawn from the state's smallest flip; the scale decides the units."""

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.per_255 = False
        self.setAccessibleName("smallest flip")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setToolTip(TOOLTIP)
        state.flip_size_changed.connect(self._on_state_flip_size_changed)
        state.target_changed.connect(lambda _: self._on_state_flip_size_changed())
        state.defense_changed.connect(lambda: self._on_state_flip_size_changed())

    def set_per_255(self, per_255: bool) -> None:
        self.per_255 = per_255
        self._on_state_flip_size_changed()

    def minimumSizeHint(self) -> QSize:
        """As wide as the widest line in the current font (not the font of the moment the
        text last changed: presenter mode's large type left a window too wide for the
        screen after Esc, issue 24, 6)."""
        hint = super().minimumSizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(WIDEST) + 4, hint.height())

    def sizeHint(self) -> QSize:
        return self.minimumSizeHint().expandedTo(super().sizeHint())

    def _on_state_flip_size_changed(self) -> None:
        s = self.state
        self.setText(
            flip_size_text(
                s.flip_size,
                s.flip_computing,
                per_255=self.per_255,
                squeezed=s.squeezing,
                targeted=s.target is not None,
            )
        )
