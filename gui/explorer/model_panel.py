"""The model panel: bundled models, opened checkpoints, recent files, the card.

Emits ``model_chosen(path)`` and ``compare_chosen(path or None)``; it never loads
anything itself (the explorer loads off the GUI thread). It shows the state's
model and compare model: when a load ends, failed or not, the combo boxes show
what is really loaded. Recent checkpoints are kept in QSettings, merged with
what another window saved meanwhile; a value of the wrong type there is reset.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from PySide6.QtCore import QSettings, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fgsm_studio.core import catalogue
from fgsm_studio.core.measure.evaluation import EvalResult, MetricsError
from fgsm_studio.core.models.bundled import ModelEntry
from fgsm_studio.core.models.card import ModelCard

from ..safe_text import escape, tooltip
from . import ways_in
from .state import ExplorerState

log = logging.getLogger(__name__)

COMPARE_WORDS = {  # one sentence under the switch: what the compare model is shown
    "own": "Each model is attacked with its own gradient.",
    "transfer": "Transfer: it only judges the image made against the model above, "
    "which flatters a defense.",
}
TRANSFER_TIP = (
    "<p>Off (the default): the compare model is attacked with its own gradient, as an "
    "attacker who knows it would; the fair test of a defense. On: it judges the image "
    "crafted against the model above (a transfer attack), which is usually weaker, so "
    "the defense looks stronger than it is.</p>"
)


def training_words(card: ModelCard) -> str:
    """The card's detail line on how it was trained, e.g. 'PGD adversarial training: 10
    steps, trained at eps=0.1'."""
    t, defense = card.training, catalogue.defense(card.defense)
    if not defense.has("defended"):
        return defense.detail
    parts = []
    if "reg" in defense.options:
        parts.append(
            f"a1={t.get('a1', '?')}, a2={t.get('a2', '?')}, {t.get('reg', 'scaled')} penalty"
        )
    if "attack_steps" in defense.options:
        parts.append(f"{t.get('attack_steps', '?')} steps")
    if "beta" in defense.options:
        parts.append(f"beta={t.get('beta', '?')}")
    parts.append(f"trained at eps={t.get('epsilon', '?')}")
    return f"{defense.detail}: {', '.join(parts)}"


def card_html(card: ModelCard, path: Path) -> str:
    """The card as rich text; every value from the file is escaped (a name may hold HTML)."""
    m = EvalResult.from_card(card.metrics)
    how = escape(training_words(card))
    # One line per attack, not a table: lines wrap in the sidebar's width, a table with
    # four epsilons did not and was clipped ("right 97% o", issue 24, 14).
    rows = []
    if m is not None:
        rows.append(f"clean: <b>{100 * m.clean:.1f}%</b>")
        for attack, per in m.attacks.items():
            cells = " &middot; ".join(f"{e:g}&nbsp;<b>{100 * v:.1f}%</b>" for e, v in per.items())
            name = "worst case" if attack == "worst-case" else attack.upper()
            rows.append(f"{escape(name)}: {cells}")
    robust = card.metrics.get("robustness")
    subset = ""
    if m is not None and isinstance(robust, dict) and robust.get("n") not in (None, m.n):
        subset = f"; n={robust['n']} for the stronger attacks"  # (one line in the sidebar)
    table = (
        f"{'<br>'.join(rows)}<br><i>held-out: {escape(m.held_out)}, n={m.n}{escape(subset)}</i>"
        if m is not None
        else "<i>no measured accuracies in this card</i>"
    )
    warned = "".join(
        f"<br><span style='color:#8a5300'><b>&#9888;</b> {escape(w)}</span>"
        for w in card_warnings(card)
    )
    return (
        f"<b>{escape(card.title())}</b><br>{plain_words(card)}{warned}<br>"
        f"<small>{escape(card.arch)}, {card.num_classes} classes, "
        f"{card.in_channels}x{card.image_size}x{card.image_size} input, "
        f"dataset {escape(card.dataset)}<br>{how}<br>{table}</small>"
    )


KINDS = {  # first match wins: "fashion-mnist" is clothing
    "fashion": "clothing photos (Fashion-MNIST)",
    "mnist": "handwritten digits",
    "cifar": "small colour photos (CIFAR-10)",
    "imagenet": "everyday photos (ImageNet)",
}


def plain_words(card: ModelCard) -> str:
    """The card in words a newcomer reads first, e.g. "Recognises handwritten digits
    (10 classes), right 97% of the time on 500 test images. On digits by other writers
    (optdigits, n=100): 87% right; under the strongest attacks we ran, 6% at epsilon 0.1 and
    0% at 0.3: attacks of 0.1 fool it almost always." From the card's measurements, never
    from the defense's name (``attack_words``). Short: with five lines of it the sidebar
    fits 1280x720 unscrolled."""
    kind = next((v for k, v in KINDS.items() if k in card.dataset.lower()), "its images")
    n = card.metrics.get("n")
    seen = (
        f", right {100 * card.metrics['clean']:.0f}% of the time" if "clean" in card.metrics else ""
    )
    tested = f" on {n:,} test images" if n and seen else ""
    return escape(
        f"Recognises {kind} ({card.num_classes} classes){seen}{tested}. {attack_words(card)}"
    )


# The other-writers sets (``core.data.other_writers``, ``fgsm-studio-cli measure --publish``),
# the first found speaks: real handwriting before rendered fonts.
OTHER_SETS = (
    ("optdigits", "digits by other writers"),
    ("fonts", "digits rendered from fonts"),
    ("draw", "digits drawn with the Draw tool"),
)


def _per_epsilon(per: object) -> dict[float, float] | None:
    """{epsilon: accuracy} from a card's ``{"0.1": 0.55, ...}``; None if it is not one."""
    if not isinstance(per, dict) or not per:
        return None
    try:
        return {float(e): float(v) for e, v in per.items()}
    except (TypeError, ValueError):
        return None


def other_writers_measured(card: ModelCard) -> tuple[str, float | None, dict[float, float]] | None:
    """The card's worst case on digits no model trained on (``metrics["other_writers"]``):
    (which set and n in words, its clean accuracy, {epsilon: accuracy}); None if none."""
    sets = card.metrics.get("other_writers")
    if not isinstance(sets, dict):
        return None
    for name, words in OTHER_SETS:
        m = sets.get(name)
        if not isinstance(m, dict) or not isinstance(m.get("attacks"), dict):
            continue
        per = _per_epsilon(m["attacks"].get("worst-case"))
        if per is None:
            continue
        n, clean = m.get("n"), m.get("clean")
        size = f", n={n:,}" if isinstance(n, int) and not isinstance(n, bool) else ""
        clean = float(clean) if isinstance(clean, int | float) else None
        return f"{words} ({name}{size})", clean, per
    return None


def strongest_measured(card: ModelCard) -> tuple[str, dict[float, float]] | None:
    """The card's strongest measured attack on its own test images: the worst case over
    several attacks, else PGD (the most steps), as (its name in words, {epsilon: accuracy});
    None if neither."""
    attacks = card.metrics.get("attacks")
    if not isinstance(attacks, dict):
        return None
    pgd = sorted((k for k in attacks if str(k).startswith("pgd")), key=lambda k: (len(k), k))
    for key, words in (
        ("worst-case", "the strongest attack measured"),
        *((k, "PGD (no stronger attack was measured)") for k in reversed(pgd)),
    ):
        per = _per_epsilon(attacks.get(key))
        if per is not None:
            return words, per
    return None


def _figures(per: dict[float, float]) -> tuple[str, str]:
    """ "55% at epsilon 0.1 and 0% at 0.3", and what they mean ("attacks of 0.3 fool it
    almost always"), from the first three epsilons."""
    points = sorted(per.items())[:3]
    said = " and ".join(
        f"{100 * v:.0f}% {'at epsilon ' if i == 0 else 'at '}{e:g}"
        for i, (e, v) in enumerate(points)
    )
    fooling = [(e, v) for e, v in points if v < 0.5]
    if not fooling:
        return said, f"attacks up to {points[-1][0]:g} rarely fool it"
    e, v = fooling[0]
    how = "almost always" if v < 0.1 else "more often than not"
    return said, f"attacks of {e:g} fool it {how}"


def attack_words(card: ModelCard) -> str:
    """What the card says about attacks, in one sentence, saying what it was measured on:
    the worst case on other writers' digits; else, on its own test images, the worst case,
    else PGD; else that it is unknown."""
    other = other_writers_measured(card)
    if other is not None:
        where, clean, per = other
        said, verdict = _figures(per)
        right = "" if clean is None else f" {100 * clean:.0f}% right;"
        return f"On {where}:{right} under the strongest attacks we ran, {said}: {verdict}."
    found = strongest_measured(card)
    if found is None:
        return "No strong attack was measured on it: how well it resists attacks is unknown."
    words, per = found
    said, verdict = _figures(per)
    said = said.replace("% at epsilon", "% of the time at epsilon", 1)
    return f"Measured on its own test images only: under {words} it is right {said}: {verdict}."


def card_warnings(card: ModelCard) -> list[str]:
    """The robustness monitor's warnings saved in the card by the Train tab (plain text)."""
    warned = card.training.get("warnings")
    if not isinstance(warned, list):
        return []
    return [str(w.get("text", "")) for w in warned if isinstance(w, dict) and w.get("text")]


def fit_popup(combo: QComboBox, most: int = 900) -> None:
    """The list as wide as its longest name (up to ``most`` px, beyond which a name is
    elided in the middle, whole in its tooltip): long names are never cut off."""
    view = combo.view()
    metrics = view.fontMetrics()
    widest = max(
        (metrics.horizontalAdvance(combo.itemText(i)) for i in range(combo.count())), default=0
    )
    view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    view.setMinimumWidth(min(max(420, widest + 48), most))
    for i in range(combo.count()):  # every row has its full name on hover
        if not combo.itemData(i, Qt.ItemDataRole.ToolTipRole):
            combo.setItemData(i, combo.itemText(i), Qt.ItemDataRole.ToolTipRole)


def entry_tip(entry: ModelEntry) -> str:
    """A model's tooltip in the lists: its title, plain words, figures and file, as rich
    text with every value from the file escaped (a card named ``<b>x</b>`` shows as typed)."""
    figures = escape(entry.summary())
    return (
        f"<p><b>{escape(entry.title)}</b><br>{plain_words(entry.card)}"
        f"{'<br>' + figures if figures else ''}<br><small>{escape(str(entry.path))}</small></p>"
    )


class CardLabel(QLabel):
    """Wrapped text that always gets its whole height at its width (the card, the notice).

    A wrapped QLabel in a scrolled column got less than its height-for-width (the
    layout's minimum ignored it) and drew its last lines over the next widget (issue 24,
    14). This one says it has no height-for-width and sets its minimum height to its
    text's real height at its width instead, again whenever its width or text changes;
    the sidebar scrolls when they do not fit.
    """

    def hasHeightForWidth(self) -> bool:
        return False

    def setText(self, text: str) -> None:
        super().setText(text)
        self.fit()

    def fit(self) -> None:
        parent = self.parentWidget()
        width = self.width() if self.width() > 50 or parent is None else parent.width()
        doc = QTextDocument()  # (QLabel's own heightForWidth came out a line short)
        doc.setDefaultFont(self.font())
        if self.textFormat() == Qt.TextFormat.PlainText:
            doc.setPlainText(self.text())
        else:
            doc.setHtml(self.text())
        margins = self.contentsMargins()
        doc.setTextWidth(max(10, width - margins.left() - margins.right()))
        needed = math.ceil(doc.size().height()) + margins.top() + margins.bottom() + 4
        if needed != self.minimumHeight():
            self.setMinimumHeight(needed)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.fit()


class ModelPanel(QWidget):
    model_chosen = Signal(object)  # Path
    compare_chosen = Signal(object)  # Path or None

    def __init__(
        self,
        state: ExplorerState,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.state, self.settings = state, settings
        self.combo = QComboBox()
        self.combo.setToolTip("The model under attack")
        self.compare = QComboBox()
        self.compare.setToolTip(
            "A second model (the defended twin by default), attacked with its own gradient "
            "beside the model above"
        )
        for combo in (self.combo, self.compare):  # long titles: the popup shows them whole
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(16)
            combo.view().setMinimumWidth(420)
        self.open_button = QPushButton("Open checkpoint...")
        self.recent_button = QPushButton("Recent")
        self.open_button.setToolTip("Attack a model file of your own (.safetensors, .pth)")
        self.recent_button.setToolTip("Model files you opened before")
        self.recent_menu = QMenu(self)
        self.recent_button.setMenu(self.recent_menu)
        self.recent_menu.triggered.connect(self._on_recent_menu_triggered)
        self.card = CardLabel()
        self.card.setTextFormat(Qt.TextFormat.RichText)
        self.card.setWordWrap(True)
        self.card.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.card.setMinimumWidth(0)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.recent_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("<b>Model</b>"))
        layout.addWidget(self.combo)
        layout.addLayout(row)
        # A sentence that stays (not a banner that goes): why a model could not be used
        # and what to do instead, e.g. an ImageNet model whose download failed offline.
        self.notice = CardLabel()
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setStyleSheet(
            "QLabel { background:#fff3cd; color:#5c3c00; border:1px solid #e0a800; padding:4px; }"
        )
        self.notice.hide()
        self.offer = QPushButton()
        self.offer.hide()
        self._offered: str | None = None
        layout.addWidget(self.notice)
        layout.addWidget(self.offer)
        layout.addWidget(self.card)
        self.transfer = QCheckBox("same image (transfer)")
        self.transfer.setToolTip(TRANSFER_TIP)
        heading = QHBoxLayout()  # the switch beside the heading: the sidebar fits 720 px
        heading.addWidget(QLabel("<b>Compare with</b>"))
        heading.addStretch(1)
        heading.addWidget(self.transfer)
        layout.addLayout(heading)
        layout.addWidget(self.compare)
        self.transfer_words = QLabel(COMPARE_WORDS["own"])
        self.transfer_words.setWordWrap(True)
        self.transfer_words.setTextFormat(Qt.TextFormat.PlainText)
        self.transfer_words.setStyleSheet("color:#555;")
        layout.addWidget(self.transfer_words)
        self.compare.addItem("(nothing)", None)
        self._shown: set[str] = set()  # the catalogue's entries in the lists
        self._on_state_catalogue_changed()
        from fgsm_studio.core.models.imagenet import virtual_sources

        for source, title in virtual_sources():
            self.combo.addItem(title, source)
        fit_popup(self.combo)
        self.combo.activated.connect(self._on_combo_activated)
        self.compare.activated.connect(self._on_compare_activated)
        self.transfer.toggled.connect(self._on_transfer_toggled)
        self.offer.clicked.connect(self._on_offer_clicked)
        state.compare_mode_changed.connect(self._on_state_compare_mode_changed)
        self.open_button.clicked.connect(self.open_checkpoint_dialog)
        state.model_changed.connect(self._on_state_model_changed)
        state.compare_changed.connect(self._show_compare)
        state.loading_changed.connect(self._on_state_loading_changed)
        state.catalogue_changed.connect(self._on_state_catalogue_changed)
        state.recent_changed.connect(self._on_state_recent_changed)
        self._on_state_recent_changed()

    def _add_entry(self, entry: ModelEntry, suffix: str) -> None:
        if str(entry.path) not in self._shown:
            self._shown.add(str(entry.path))
            self._add(entry.path, entry.title + suffix, entry_tip(entry))

    def _on_state_catalogue_changed(self) -> None:
        for e in self.state.catalogue:
            self._add_entry(e, "")
        for e in self.state.opened:
            self._add_entry(e, " (opened)")

    def _add(self, path: Path, title: str, tip: str) -> int:
        for combo in (self.combo, self.compare):
            combo.addItem(title, path)
            combo.setItemData(combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
            fit_popup(combo)
        return self.combo.count() - 1

    def index_of(self, source: Path | str) -> int:
        for i in range(self.combo.count()):
            if str(self.combo.itemData(i)) == str(source):
                return i
        return -1

    def _show_model(self) -> None:
        """Select the state's model (as it was opened), adding it to the list if new."""
        loaded = self.state.model
        if loaded is None:
            return
        i = self.index_of(loaded.source)
        if i < 0:
            i = self.index_of(loaded.path)
        if i < 0:  # (the controller adds what it opens to the state's catalogue first)
            log.warning("%s is not in the model list", loaded.path)
            return
        try:  # cards are checked at load; should one still fail, never show the last one's
            text = card_html(loaded.card, loaded.path)
        except (MetricsError, ValueError, TypeError):
            text = f"<b>{escape(loaded.card.title())}</b><br><i>its card could not be read</i>"
        self.card.setText(text)
        self.combo.setCurrentIndex(i)
        self.combo.setToolTip(tooltip(f"The model under attack: {self.combo.itemText(i)}"))
        self.card.setToolTip(tooltip(str(loaded.path)))  # the file, on hover

    def _show_compare(self) -> None:
        compare = self.state.compare
        if compare is None:
            self.compare.setCurrentIndex(0)
            return
        for i in range(1, self.compare.count()):
            if Path(self.compare.itemData(i)) == compare.path:
                self.compare.setCurrentIndex(i)
                return

    def _offer_compatible(self) -> None:
        """The compare list offers only models of the same classes and input as the model."""
        card = self.state.card
        view = self.compare.view()
        if card is None or not isinstance(view, QListView):
            return
        cards = {str(e.path): e.card for e in (*self.state.catalogue, *self.state.opened)}
        for i in range(1, self.compare.count()):
            other = cards.get(str(self.compare.itemData(i)))
            fits = other is None or (
                other.class_names == card.class_names
                and other.in_channels == card.in_channels
                and other.image_size == card.image_size
            )
            view.setRowHidden(i, not fits)

    def _on_state_model_changed(self) -> None:
        self.clear_notice()
        self._show_model()
        self._offer_compatible()

    def _on_state_loading_changed(self, what: str, source: object) -> None:
        if source is None:  # done, or failed: show what is really loaded
            if what == "model":
                self._show_model()
            else:
                self._show_compare()

    def _on_state_recent_changed(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.state.recent if Path(p).is_file()]
        for p in recent:
            self.recent_menu.addAction(Path(p).name).setData(p)
        self.recent_button.setEnabled(bool(recent))

    def _on_recent_menu_triggered(self, action: QAction) -> None:
        self.model_chosen.emit(Path(str(action.data())))

    def _on_combo_activated(self, index: int) -> None:
        data = str(self.combo.itemData(index))
        self.model_chosen.emit(data if data.startswith("imagenet:") else Path(data))

    def show_notice(
        self, text: str, *, offer: tuple[str, str] | None = None, details: str = ""
    ) -> None:
        """A sentence that stays until the next model loads, and (``offer``: source, title)
        a button that loads another model instead."""
        self.notice.setText(text)
        self.notice.setToolTip(tooltip(details))
        self.notice.show()
        self._offered = None if offer is None else offer[0]
        self.offer.setVisible(offer is not None)
        if offer is not None:
            self.offer.setText(f"Use {offer[1]}")

    def clear_notice(self) -> None:
        self.notice.hide()
        self.offer.hide()
        self._offered = None

    def _on_offer_clicked(self) -> None:
        if self._offered is not None:
            self.model_chosen.emit(self._offered)

    def _on_transfer_toggled(self, on: bool) -> None:
        self.state.set_compare_mode("transfer" if on else "own")

    def _on_state_compare_mode_changed(self, mode: str) -> None:
        with QSignalBlocker(self.transfer):
            self.transfer.setChecked(mode == "transfer")
        self.transfer_words.setText(COMPARE_WORDS[mode])

    def _on_compare_activated(self, index: int) -> None:
        data = self.compare.itemData(index)
        self.compare_chosen.emit(None if data is None else Path(data))

    def open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open a model checkpoint",
            ways_in.last_folder(self.settings),  # shared with the images
            "Checkpoints (*.safetensors *.pth *.pt);;All files (*)",
        )
        if path:
            ways_in.remember_folder(self.settings, path)
            self.model_chosen.emit(Path(path))
