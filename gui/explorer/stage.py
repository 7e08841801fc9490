"""The stage: the Explorer's verdict line, the image panels, the prediction bars, the curve
and the smallest-flip line, drawn from the state's current frame (and, in presenter
mode, laid out for a projector).
"""

from __future__ import annotations

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from fgsm_studio.core.attacks.squeezing import cost_words
from fgsm_studio.core.explorer.session import AttackFrame

from ..safe_text import escape
from .bars import NORMAL_CHART, PredictionBars
from .curve import EpsilonCurve
from .panels import ImageTriptych, big_font
from .state import ExplorerState
from .widgets import (
    FOOLED,
    HOLDS,
    PRESENTER_CHART,
    detector_words,
    fit_font,
    model_kind,
    noise_words,
    verdict_detail,
    verdict_word,
    wrong_before,
)

# px: the image panels' least height (their titles and pictures of 120 px), so that at
# 1280x720 with the walk-through's bar open the charts keep ``NORMAL_CHART``.
TRIPTYCH = 150


class Stage(QWidget):
    """Headline, original | perturbation | adversarial, the bars and the curve.

    What a demo card shows. Every part has a fixed place: the headline one line of
    fixed height, the verdict's details one smaller line, the compare chart keeps
    its room while hidden (while a compare model is chosen).
    """

    def __init__(self, state: ExplorerState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.headline = QLabel("Loading the model...")
        self.detail = QLabel("")
        for label in (self.headline, self.detail):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.headline.setToolTip(
            "What the model believes: the original image's class, then the adversarial "
            "image's, and whether the attack fooled it"
        )
        self.set_headline_size(20)
        self.triptych = ImageTriptych()
        self.triptych.setMinimumHeight(TRIPTYCH)
        self.triptych.setToolTip(
            "<p>Left: the image as given. Middle: the change the attack made to each pixel "
            "(red = brighter, blue = darker, white = unchanged), magnified to be seen. "
            "Right: the image plus that change, what the model now sees.</p>"
        )
        self.bars_clean = PredictionBars("Original image")
        self.bars_adv = PredictionBars("Adversarial image")
        self.bars_cmp = PredictionBars("Compare model on the adversarial image")
        bar_tip = (
            "<p>How sure the model is of each class. Red: its answer; green outline: the "
            "true class; orange: the target of a targeted attack; grey: the others.</p>"
        )
        for b in (self.bars_clean, self.bars_adv, self.bars_cmp):
            b.setToolTip(bar_tip)
        self.curve = EpsilonCurve()
        self.curve.setToolTip(
            "<p>How the model's confidence changes as epsilon grows under FGSM, whichever "
            "attack is chosen (BIM and PGD are stronger and usually win at a smaller "
            "epsilon): the original class, the target (targeted attacks) and the class it "
            "picks. The dotted line is where FGSM first wins; the solid line is the "
            "current epsilon.</p>"
        )
        stage = QVBoxLayout(self)
        stage.addWidget(self.headline)
        stage.addWidget(self.detail)
        stage.addWidget(self.triptych, 5)
        bars = QHBoxLayout()
        for b in (self.bars_clean, self.bars_adv, self.bars_cmp, self.curve):
            b.setSizePolicy(QSizePolicy.Policy.Ignored, b.sizePolicy().verticalPolicy())
            bars.addWidget(b, 1)
        stage.addLayout(bars, 4)
        self._layout = stage
        self._keep_compare_room()
        state.frame_changed.connect(self._on_state_frame_changed)
        state.status_changed.connect(self._on_state_status_changed)
        state.compare_changed.connect(self._on_state_compare_changed)
        state.sweep_changed.connect(self._on_state_sweep_changed)
        state.session_changed.connect(self._on_state_session_changed)
        state.loading_changed.connect(self._on_state_loading_changed)
        state.epsilon_changed.connect(self.curve.set_epsilon)
        state.scale_changed.connect(self._on_state_scale_changed)
        state.presenter_changed.connect(self.set_presenter)
        state.attack_changed.connect(self.curve.set_attack)
        self.curve.set_attack(state.attack)

    def set_presenter(self, on: bool) -> None:
        """Presenter mode: the pictures are the demo, so they take most of the height
        (at 1280x720, at least 40% of the screen); the charts keep what their bars need."""
        self._layout.setStretch(2, 1 if on else 5)
        self._layout.setStretch(3, 0 if on else 4)
        self.triptych.set_stacked(on)  # the twin's and the noise's panels share a column
        for bars in (self.bars_clean, self.bars_adv, self.bars_cmp):
            # the top 3 classes (and the true and target ones) in large type, not all ten
            bars.max_all, bars.top_k = (0, 3) if on else (10, 5)
            bars.setMinimumHeight(PRESENTER_CHART if on else NORMAL_CHART)
            bars.setMaximumHeight(PRESENTER_CHART if on else 16777215)
        self.curve.setMinimumHeight(PRESENTER_CHART if on else 0)
        self.curve.setMaximumHeight(PRESENTER_CHART if on else 16777215)
        self.curve.set_presenter_look(on)
        self._redraw_bars()

    def _redraw_bars(self) -> None:
        """The frame's bars again, with the classes the presenter look shows (top 3 or all)."""
        frame, card = self.state.frame, self.state.card
        if frame is None or card is None or frame.probs_clean.numel() != card.num_classes:
            return
        names = card.class_names
        true = self.state.true_label(len(names))
        for bars, probs, pred in (
            (self.bars_clean, frame.probs_clean, frame.pred_clean),
            (self.bars_adv, frame.probs_adv, frame.pred_adv),
        ):
            bars.show_probs(probs, names, pred=pred, true=true, target=frame.target)
        compare, cprobs = self.state.compare, self.state.compare_probs
        if compare is not None and cprobs is not None and cprobs.numel() == len(names):
            pred = int(cprobs.argmax())
            self.bars_cmp.show_probs(cprobs, names, pred=pred, true=true, target=frame.target)

    def _keep_compare_room(self) -> None:
        """The compare chart keeps its room while hidden only when a compare model is
        chosen (its bars then come and go and the other charts never jump); with none,
        the other charts share its room (ImageNet, or a model without a twin)."""
        keep = self.bars_cmp.sizePolicy()
        keep.setRetainSizeWhenHidden(self.state.compare is not None)
        self.bars_cmp.setSizePolicy(keep)

    def set_headline_size(self, points: int) -> None:
        """Headline and detail line: fixed heights for their font, so nothing below moves."""
        big_font(self.headline, points)
        big_font(self.detail, max(10, points * 3 // 5), bold=points > 20)
        self._points = {self.headline: points, self.detail: max(10, points * 3 // 5)}
        for label in (self.headline, self.detail):
            label.setFixedHeight(label.fontMetrics().height() + 6)
            fit_font(label, self._points[label])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        for label, points in self._points.items():
            fit_font(label, points)

    def _set_lines(self, headline: str, detail: str) -> None:
        """The two lines, each in its full size or smaller if it would be clipped."""
        for label, text in ((self.headline, headline), (self.detail, detail)):
            if text != label.text():
                label.setText(text)
                fit_font(label, self._points[label])

    def _on_state_status_changed(self, text: str) -> None:
        frame, card = self.state.frame, self.state.card
        if text or frame is None or card is None or frame.probs_clean.numel() != card.num_classes:
            self._set_lines(escape(text), "")  # (a frame of the previous model: not its verdict)
        else:
            self._show_verdict(frame)

    def _on_state_sweep_changed(self) -> None:
        sweep, session = self.state.sweep, self.state.session
        if sweep is None or session is None:
            return
        self.curve.show_sweep(
            sweep.epsilons,
            sweep.probs,
            session.pred_clean,
            sweep.flip_epsilon,
            target=session.target,
        )

    def _on_state_scale_changed(self) -> None:
        self.curve.set_range(self.state.scale.maximum)
        self.curve.set_epsilon(self.state.epsilon)

    def _on_state_session_changed(self) -> None:
        """The old curve goes at once; the new one comes from the worker."""
        self.curve.clear_sweep("Updating..." if self.state.session is not None else "")

    def _on_state_compare_changed(self) -> None:
        if self.state.compare is None:
            self.bars_cmp.hide()
        self._keep_compare_room()

    def _on_state_frame_changed(self) -> None:
        frame, card = self.state.frame, self.state.card
        if frame is None or card is None:  # a new model is coming: nothing of the old one stays
            self._clear()
            return
        names = card.class_names
        p0, p1 = frame.probs_clean[frame.pred_clean], frame.probs_adv[frame.pred_adv]
        self.triptych.show_frame(frame.original, frame.adversarial, frame.epsilon)
        who = (
            f"{model_kind(card)}, attacked"
            if self.state.compare_frame is not None
            else "Adversarial"
        )
        self.triptych.set_titles(
            f"Original: {escape(names[frame.pred_clean])} ({p0:.1%})",
            f"{who}: {escape(names[frame.pred_adv])} ({p1:.1%})",
        )
        self._show_extras()
        true = self.state.true_label(len(names))
        for bars, probs, pred in (
            (self.bars_clean, frame.probs_clean, frame.pred_clean),
            (self.bars_adv, frame.probs_adv, frame.pred_adv),
        ):
            bars.show_probs(probs, names, pred=pred, true=true, target=frame.target)
        if not self.state.status:
            self._show_verdict(frame)
        self._show_compare(self.state.compare_probs)

    def _on_state_loading_changed(self, what: str, source: object) -> None:
        """While another model loads (its name already in the list) the answers on screen
        are the old model's: they go at once; a load that fails brings them back."""
        if what != "model":
            return
        if source is not None:
            self._clear()
        elif self.state.frame is not None:
            self._on_state_frame_changed()

    def _clear(self) -> None:
        for bars in (self.bars_clean, self.bars_adv):
            bars.clear()
        self.bars_cmp.hide()
        self.triptych.set_titles("Original", "Adversarial")
        for key in ("twin", "noise"):
            self.triptych.show_extra(key, None)
        if not self.state.status:
            self._set_lines("", "")

    def _show_extras(self) -> None:
        """The compare model's own attacked image and the noise baseline, when there."""
        s = self.state
        twin, noise = s.compare_frame, s.noise_frame
        title = ""
        if twin is not None and s.compare is not None:
            names = s.compare.card.class_names
            p = float(twin.probs_adv[twin.pred_adv])
            title = (
                f"{model_kind(s.compare.card)}, attacked: {escape(names[twin.pred_adv])} ({p:.1%})"
            )
        self.triptych.show_extra("twin", None if twin is None else twin.adversarial, title)
        title = ""
        if noise is not None and s.card is not None:
            names = s.card.class_names
            p = float(noise.probs_adv[noise.pred_adv])
            title = f"Random noise: {escape(names[noise.pred_adv])} ({p:.1%})"
        self.triptych.show_extra("noise", None if noise is None else noise.adversarial, title)

    def _show_verdict(self, frame: AttackFrame) -> None:
        names = self._names()
        detail = verdict_detail(frame, names)
        if frame.flagged is not None and self.state.card is not None:  # squeezing: its cost
            detail += f" &middot; {escape(cost_words(self.state.card))}"
        noise = self.state.noise_frame
        if noise is not None:
            detail += noise_words(noise, names)
        self._set_lines(self._verdict(frame), detail)

    def _names(self) -> list[str]:
        """The class names of the model on screen (a frame is only shown with its model)."""
        card = self.state.card
        return [] if card is None else list(card.class_names)

    def _verdict(self, frame: AttackFrame) -> str:
        """The model's verdict; with a compare model, each model's own side by side
        ("standard: 7 -> 3 fooled / defended: 7 -> 7 holds")."""
        s = self.state
        names = self._names()
        p0, p1 = frame.probs_clean[frame.pred_clean], frame.probs_adv[frame.pred_adv]
        color = FOOLED if frame.flipped or wrong_before(frame) else HOLDS
        main = (
            f"{escape(names[frame.pred_clean])} ({p0:.1%}) &rarr; "
            f"<span style='color:{color}'>{escape(names[frame.pred_adv])} ({p1:.1%}): "
            f"{verdict_word(frame)}</span>{detector_words(frame)}"
        )
        other = self._compare_verdict(frame)
        if not other:
            return main
        return f"{model_kind(s.card).lower()}: {main} &nbsp;/&nbsp; {other}"

    def _compare_verdict(self, frame: AttackFrame) -> str:
        """The compare model's verdict: on its own attacked image, or (transfer) on ours."""
        s = self.state
        if s.compare is None or s.compare_probs is None:
            return ""
        card, twin = s.compare.card, s.compare_frame
        kind = model_kind(card).lower()
        if twin is not None:
            fooled, word = twin.flipped or wrong_before(twin), verdict_word(twin)
            pred = twin.pred_adv
        else:  # transfer: the same image; fooled if its answer is not its clean answer
            pred = int(s.compare_probs.argmax())
            fooled = pred == frame.target if frame.target is not None else pred != frame.pred_clean
            word = verdict_word(frame, flipped=fooled)
            kind += " (same image)"
        color = FOOLED if fooled else HOLDS
        name = escape(card.class_names[pred])
        return f"{kind}: <span style='color:{color}'>{name}, {word}</span>"

    def _show_compare(self, probs: torch.Tensor | None) -> None:
        compare = self.state.compare
        if compare is None or probs is None:
            self.bars_cmp.hide()
            return
        card = compare.card
        pred = int(probs.argmax())
        how = "" if self.state.compare_frame is not None else ", same image"
        self.bars_cmp.set_title(  # short: never clipped (its own attack is the default)
            f"{model_kind(card)}{how}: {escape(card.class_names[pred])} ({float(probs[pred]):.1%})"
        )
        self.bars_cmp.setToolTip(f"<p>{escape(card.title())}</p>")
        self.bars_cmp.show()
        true = self.state.true_label(card.num_classes)
        target = self.state.target
        self.bars_cmp.show_probs(probs, card.class_names, pred=pred, true=true, target=target)
