"""A model card in words for the window: how it was trained, what was measured on it (other
writers' digits first, then its own test images, saying which), its warnings, and the
card as HTML for the sidebar. Every sentence comes from the card's measured figures,
never from the defense's name.
"""

from __future__ import annotations

from pathlib import Path

from fgsm_studio.core import catalogue
from fgsm_studio.core.measure.evaluation import EvalResult
from fgsm_studio.core.models.card import ModelCard

from ..safe_text import escape

KINDS = {  # first match wins: "fashion-mnist" is clothing
    "fashion": "clothing photos (Fashion-MNIST)",
    "mnist": "handwritten digits",
    "cifar": "small colour photos (CIFAR-10)",
    "imagenet": "everyday photos (ImageNet)",
}
OTHER_SETS = (
    ("optdigits", "digits by other writers"),
    ("fonts", "digits rendered from fonts"),
    ("draw", "digits drawn with the Draw tool"),
    ("mnist-test", "MNIST test digits by other writers"),
)


def training_words(card: ModelCard) -> str:
    """The card's detail line on how it was trained, e.g. 'PGD adversarial training: 10
    steps, trained at eps=0.1'."""
    t, defense = card.training, catalogue.defense(card.defense)
    more = extra_words(t.get("extra_train"))
    if not defense.has("defended"):
        return defense.detail + more
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
    return f"{defense.detail}: {', '.join(parts)}{more}"


def extra_words(extra: object) -> str:
    """'; also N generated / self-labelled images' for a card trained with --extra-train."""
    if not isinstance(extra, dict) or not isinstance(extra.get("n"), int):
        return ""
    method = str((extra.get("about") or {}).get("method", ""))
    kind = (
        "self-labelled "
        if method.startswith("self-training")
        else "generated "
        if "VAE" in method
        else "extra "
    )
    return f"; also {extra['n']:,} {kind}images"


def card_html(card: ModelCard, path: Path) -> str:
    """The card as rich text: its plain words (``card_summary_html``) above its details
    (``card_details_html``); every value from the file is escaped (a name may hold HTML)."""
    return f"{card_summary_html(card)}<br>{card_details_html(card)}"


def card_summary_html(card: ModelCard) -> str:
    """What the sidebar always shows: the title, the plain words, the monitor's warnings."""
    warned = "".join(
        f"<br><span style='color:#8a5300'><b>&#9888;</b> {escape(w)}</span>"
        for w in card_warnings(card)
    )
    return f"<b>{escape(card.title())}</b><br>{plain_words(card)}{warned}"


def card_details_html(card: ModelCard) -> str:
    """The card's small print: network, input, dataset, how it was trained, one line of
    measured accuracies per attack (the sidebar shows it under its "more" switch)."""
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
    return (
        f"<small>{escape(card.arch)}, {card.num_classes} classes, "
        f"{card.in_channels}x{card.image_size}x{card.image_size} input, "
        f"dataset {escape(card.dataset)}<br>{how}<br>{table}</small>"
    )


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
    for name, words in OTHER_SETS:
        found = _set_measured(card, name, words)
        if found is not None:
            return found
    return None


def _set_measured(
    card: ModelCard, name: str, words: str
) -> tuple[str, float | None, dict[float, float]] | None:
    sets = card.metrics.get("other_writers")
    m = sets.get(name) if isinstance(sets, dict) else None
    if not isinstance(m, dict) or not isinstance(m.get("attacks"), dict):
        return None
    per = _per_epsilon(m["attacks"].get("worst-case"))
    if per is None:
        return None
    n, clean = m.get("n"), m.get("clean")
    size = f", n={n:,}" if isinstance(n, int) and not isinstance(n, bool) else ""
    clean = float(clean) if isinstance(clean, int | float) else None
    return f"{words} ({name}{size})", clean, per


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
        first = f"On {where}:{right} under the strongest attacks we ran, {said}: {verdict}."
        return first + _mnist_test_too(card, where)
    found = strongest_measured(card)
    if found is None:
        return "No strong attack was measured on it: how well it resists attacks is unknown."
    words, per = found
    said, verdict = _figures(per)
    said = said.replace("% at epsilon", "% of the time at epsilon", 1)
    return f"Measured on its own test images only: under {words} it is right {said}: {verdict}."


def _mnist_test_too(card: ModelCard, said_first: str) -> str:
    """MNIST's own test writers as well, when the first set was another: the handwriting
    closest to what the model learnt, so the two together bound what it keeps."""
    words = dict(OTHER_SETS)["mnist-test"]
    found = _set_measured(card, "mnist-test", words)
    if found is None or said_first == found[0]:
        return ""
    n = card.metrics["other_writers"]["mnist-test"].get("n")
    said = ", ".join(f"{100 * v:.0f}% at {e:g}" for e, v in sorted(found[2].items()))
    size = f" (n={n:,})" if isinstance(n, int) and not isinstance(n, bool) else ""
    return f" MNIST test writers{size}: {said}."


def card_warnings(card: ModelCard) -> list[str]:
    """The robustness monitor's warnings saved in the card by the Train tab (plain text)."""
    warned = card.training.get("warnings")
    if not isinstance(warned, list):
        return []
    return [str(w.get("text", "")) for w in warned if isinstance(w, dict) and w.get("text")]
