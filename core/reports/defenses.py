"""The reproduction report's defense table: every defense, clean / FGSM / PGD / worst case.

One row per defense and training epsilon (the standard model, the paper's WR_FGSM
at Table 1's best pair, and each of ``reproduce --defenses``), with its accuracy
clean and, at every measured epsilon, under FGSM, PGD and in the per-image worst
case (``core.measure.robustness``). Each row ends with one plain sentence on what holds,
made from its own figures by ``holds_sentence``: an attack is *held* when the
model keeps at least ``HOLD`` (three quarters) of its clean accuracy under it.
The rows come from ``report.summarize``; nothing here reads files.
"""

from __future__ import annotations

from .. import catalogue

HOLD = 0.75  # held: at least this share of the clean accuracy survives the attack
MASKING_GAP = 10.0  # points between PGD and the worst case that say PGD overstates
_ATTACKS = (("fgsm", "FGSM"), ("pgd", "PGD"), ("worst", "the worst case"))


def defense_name(row: dict) -> str:
    """A row's defense in words, with its weights where they matter."""
    return catalogue.defense(row["defense"]).report_name(**row)


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def holds_sentence(row: dict, epsilons: list[float]) -> str:
    """What holds at each epsilon, e.g. "Holds at 0.1 under every attack; at 0.3 nothing holds."."""
    # the worst case is measured on its own images: judge it against their clean accuracy
    base = {"worst": row.get("worst_clean", row["clean"])}
    parts = []
    for e in epsilons:
        figs = [
            (name, row[f"{key}@{e:g}"], base.get(key, row["clean"]))
            for key, name in _ATTACKS
            if row.get(f"{key}@{e:g}") is not None
        ]
        if not figs:
            continue
        held = [name for name, v, clean in figs if v >= HOLD * clean]
        lost = [name for name, v, clean in figs if v < HOLD * clean]
        if not lost:
            every = (
                "every attack"
                if len(figs) == len(_ATTACKS)
                else _join(held).replace(" or ", " and ")
            )
            parts.append(f"holds at {e:g} under {every}")
        elif not held:
            parts.append(f"at {e:g} nothing holds")
        else:
            parts.append(f"at {e:g} holds under {' and '.join(held)} only, not {_join(lost)}")
        pgd = row.get(f"worst_pgd@{e:g}", row.get(f"pgd@{e:g}"))  # on the worst case's images
        worst = row.get(f"worst@{e:g}")
        if pgd is not None and worst is not None and pgd - worst >= MASKING_GAP:
            parts[-1] += (
                f" (the worst case is {pgd - worst:.0f} points under PGD, which overstates it)"
            )
    if not parts:
        return "No attack was measured."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _fmt(row: dict, col: str) -> str:
    v = row.get(col)
    return "-" if v is None else f"{v:.1f}"


def _images(row: dict) -> str:
    if row.get("worst_n") is None:
        return "-"
    return f"{row['worst_n']} images (clean {row['worst_clean']:.1f})"


def _flagged(row: dict) -> str:
    """The row's flags (at chance, loss did not fall), in bold before its sentence."""
    return f"**Flagged: {row['flags']}.** " if row.get("flags") else ""


def defense_rows(rows: list[dict], best) -> list[dict]:
    """The rows of the table: every non-WR_FGSM row, and WR_FGSM's best pair per epsilon."""
    out = [r for r in rows if not catalogue.is_paper(r["defense"])]
    wr: dict[tuple, list[dict]] = {}
    for r in rows:
        if catalogue.is_paper(r["defense"]):
            wr.setdefault((r["dataset"], r["arch"], r["limit"], r["train_eps"]), []).append(r)
    out += [best(group) for group in wr.values()]
    rank = {d: i for i, d in enumerate(catalogue.DEFENSES)}
    return sorted(
        out,
        key=lambda r: (r["dataset"], r["arch"], rank.get(r["defense"], 9), r["train_eps"]),
    )


def defense_table(rows: list[dict], epsilons: list[float], setting: str) -> list[str]:
    """The markdown section: heading, how to read it, the table."""
    if not rows:
        return []
    cols = [
        (f"{k}@{e:g}", f"{name.replace('the ', '')} {e:g}")
        for e in epsilons
        for k, name in _ATTACKS
    ]
    md = [
        "## Every defense: clean, FGSM, PGD and worst case",
        "",
        f"Worst case: {setting}. Clean, FGSM and PGD are measured on every held-out image, the",
        "worst case on the images its column names (and judged against their own clean accuracy).",
        f"An attack is *held* when the model keeps at least {HOLD:.0%} of its clean accuracy under",
        "it. The standard model trains without an adversarial term (no `train eps`);",
        "the others train at `train eps`, WR_FGSM with Table 1's best pair, the rest with a1 = 1",
        "(L_ori + L_adv). Train time: wall time per run on this machine.",
        "",
        "| dataset | model | defense | train eps | rounds | clean | "
        + " | ".join(label for _, label in cols)
        + " | worst case on | train time | what holds |",
        "|" + "---|" * (9 + len(cols)),
    ]
    for r in rows:
        md.append(
            f"| {r['dataset']} | {r['arch']} | {defense_name(r)} | "
            f"{'-' if r['defense'] == 'none' else format(r['train_eps'], 'g')} | "
            f"{r['rounds']} | {_fmt(r, 'clean')} | "
            + " | ".join(_fmt(r, c) for c, _ in cols)
            + f" | {_images(r)} | {r['train_s'] / 60:.1f} min | {_flagged(r)}"
            + f"{holds_sentence(r, epsilons)} |"
        )
    md.append("")
    return md
