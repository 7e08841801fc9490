"""Turn run records (``core.runs.spec.RunRecord``) into CSV, PNG/SVG figures and markdown.

Groups runs that differ only by fold, and reports mean +- std over two or more
rounds, or the 95% Wilson interval over the images with one round. Every table
names the epsilon its attack numbers were measured at, and which form of the
WR_FGSM penalty a defended row used; runs at chance or whose loss did not fall
are flagged beside their row, and Table 1's best pair is chosen on validation
with its margin and noise stated (``core.reports.stats``). Records are read
through ``core.runs.records``: one that fails its checks is left out and listed.
"""

from __future__ import annotations

import csv
import logging
from collections import defaultdict
from pathlib import Path

from ..catalogue import defended, is_paper
from ..measure.evaluation import WORST_CASE, mean_std
from ..measure.robustness import describe_setting
from ..runs.records import load_folder
from ..runs.spec import RunRecord
from .defenses import defense_name, defense_rows, defense_table
from .figures import plots
from .runs_csv import write_runs_csv
from .stats import (
    CHANCE_MARGIN,
    Choice,
    chance,
    choose_best,
    run_flags,
    wilson,
)

log = logging.getLogger(__name__)


def load_records(out_dir: Path) -> list[RunRecord]:
    """Every finished run's record under ``out_dir/runs`` that passes ``core.runs.records``'
    checks (a stopped run has no held-out figures to report)."""
    return [r for r in load_folder(out_dir)[0] if r.test is not None]


def _group_key(r: RunRecord) -> tuple:
    t, wr = r.spec.train, is_paper(r.spec.train.defense)
    return (
        r.spec.dataset,
        t.arch,
        t.defense,
        t.a1 if wr else None,
        t.reg if wr else None,
        t.epsilon,
        r.spec.folds,
        t.epochs,
        r.spec.limit,
    )


def _acc(r: RunRecord, attack: str | None, eps: float | None) -> float | None:
    if attack is None or eps is None:
        return 100 * r.held_out.clean
    v = r.held_out.get(attack, eps)
    return None if v is None else 100 * v


def summarize(records: list[RunRecord]) -> list[dict]:
    """One row per group: mean/std of clean and each attack@eps over rounds."""
    groups: dict[tuple, list[RunRecord]] = defaultdict(list)
    for r in records:
        groups[_group_key(r)].append(r)
    rows = []
    for key, rs in sorted(groups.items(), key=lambda kv: str(kv[0])):
        dataset, arch, defense, a1, reg, eps, nfolds, epochs, limit = key
        row = {
            "dataset": dataset,
            "arch": arch,
            "defense": defense,
            "a1": a1,
            "a2": None if a1 is None else round(1 - a1, 10),
            "reg": reg,
            "train_eps": eps,
            "protocol": f"{len(rs)} of {nfolds} rounds" if nfolds else "train/test split",
            "rounds": len(rs),
            "epochs": epochs,
            "limit": limit,
            "train_s": round(sum(r.train_seconds for r in rs) / len(rs), 1),
        }
        row["n_images"] = min(r.held_out.n for r in rs)
        row["epochs_run"] = max(r.epochs_run for r in rs)
        row["chance"] = chance(rs[0])
        flags = [
            f"{f} (fold {r.spec.fold})" if len(rs) > 1 else f for r in rs for f in run_flags(r)
        ]
        row["flags"] = "; ".join(flags)
        row["clean"], row["clean_std"] = mean_std([100 * r.held_out.clean for r in rs])
        for attack, per_eps in rs[0].held_out.attacks.items():
            for e in per_eps:
                vals = [v for r in rs if (v := _acc(r, attack, e)) is not None]
                if len(vals) == len(rs):  # only epsilons measured in every round of the group
                    row[f"{attack}@{e:g}"], row[f"{attack}@{e:g}_std"] = mean_std(vals)
        robust = [r.robust for r in rs if r.robust is not None]
        if robust and len(robust) == len(rs):  # the worst case, on its own images
            for e in robust[0].attacks.get(WORST_CASE, {}):
                vals = [100 * v for m in robust if (v := m.get(WORST_CASE, e)) is not None]
                if len(vals) == len(rs):
                    row[f"worst@{e:g}"], row[f"worst@{e:g}_std"] = mean_std(vals)
                # PGD on the same images, to compare the worst case with (core.measure.robustness's PGD)
                pgd = [100 * v for m in robust if (v := m.get("pgd", e)) is not None]
                if len(pgd) == len(rs):
                    row[f"worst_pgd@{e:g}"] = mean_std(pgd)[0]
            row["worst_clean"] = mean_std([100 * m.clean for m in robust])[0]
            row["worst_n"] = robust[0].n
        rows.append(row)
    return rows


def _fmt(row: dict, col: str) -> str:
    """Mean +- std over 2 or more rounds; one round: the value and its 95% Wilson interval."""
    v = row.get(col)
    if v is None:
        return "-"
    if row["rounds"] >= 2:
        return f"{v:.2f} +- {row.get(col + '_std', 0):.2f}"
    lo, hi = interval(row, col)
    return f"{v:.2f} [{lo:.1f}, {hi:.1f}]"


def interval(row: dict, col: str) -> tuple[float, float]:
    """The 95% Wilson interval (in %) of a one-round cell, over the images it was measured on."""
    n = row.get("worst_n") if col.startswith("worst") else row["n_images"]
    lo, hi = wilson(row[col] / 100, int(n or 0))
    return 100 * lo, 100 * hi


def write_report(
    out_dir: Path, *, title: str = "FGSM Studio: reproduction of Doan & Pham (2025)"
) -> Path:
    out_dir = Path(out_dir)
    records, rejected = load_folder(out_dir)
    records = [r for r in records if r.test is not None]  # a stopped run: nothing to report
    for sentence in rejected:
        log.warning("%s It is left out of the report.", sentence)
    rows = summarize(records)
    if not rows:
        raise ValueError(f"No finished runs under {out_dir / 'runs'}")
    cols = sorted({k for r in rows for k in r})
    with open(out_dir / "summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    write_runs_csv(out_dir / "runs.csv", records)  # the one CSV of runs (core.reports.runs_csv)

    md = [
        f"# {title}",
        "",
        f"{len(records)} runs. Accuracies in % on held-out data never used for training or for",
        "choosing a model. A group of two or more rounds shows `mean +- std` (sample standard",
        "deviation over its rounds); a group of one round shows the value and its 95% Wilson",
        "interval over the held-out images, `[low, high]` (a standard deviation of one value is",
        "undefined). Attack numbers name their epsilon (pixel units, images in [0, 1]). PGD: 10",
        "steps, step 2.5*eps/10, random start. `scaled` = a2 * 5e-4 * ||W||^2, `literal` =",
        f"a2 * ||W||^2 (Eq. 8 as written). **Flagged**: clean accuracy within {CHANCE_MARGIN:g}",
        "points of chance (1 / classes), or a training loss that never fell below its first epoch's.",
        "",
    ]
    if rejected:
        md += ["Records left out (they failed the record checks):", ""]
        md += [f"- {s}" for s in rejected] + [""]
    settings = sorted({r.spec.worst_case for r in records} - {"off"})
    setting = "; ".join(describe_setting(s) for s in settings) or "not measured"
    if settings:
        md += [f"`worst@eps`: the per-image worst case ({setting}).", ""]
    attack_cols = sorted(
        {k for r in rows for k in r if "@" in k and not k.endswith("_std") and "_pgd@" not in k},
        key=lambda c: (float(c.split("@")[1]), c),
    )

    def table(sel: list[dict], heading: str) -> None:
        if not sel:
            return
        md.extend(
            [
                f"## {heading}",
                "",
                "| dataset | model | defense | train eps | protocol | epochs | images | clean | "
                + " | ".join(attack_cols)
                + " | flagged |",
                "|" + "---|" * (9 + len(attack_cols)),
            ]
        )
        for r in sel:
            eps = f"{r['train_eps']:g}" if defended(r["defense"]) else "-"
            md.append(
                f"| {r['dataset']} | {r['arch']} | {defense_name(r)} | {eps} | {r['protocol']} | "
                f"{r['epochs']} | {r['n_images']} | {_fmt(r, 'clean')} | "
                + " | ".join(_fmt(r, c) for c in attack_cols)
                + f" | {'**' + r['flags'] + '**' if r['flags'] else ''} |"
            )
        md.append("")

    std_rows = [r for r in rows if not defended(r["defense"])]
    wr_rows = [r for r in rows if is_paper(r["defense"])]
    table(std_rows, "Figure 2: standard models, clean vs under attack")
    table(wr_rows, "Figure 3 and Table 1: WR_FGSM-defended models")
    choices = best_pairs(records)
    _table1(md, std_rows, wr_rows, choices)
    kept = [r for r in records if r.saved_to]
    if kept:
        md += [
            "## Models",
            "",
            f"{len(kept)} runs kept their model (`--keep-checkpoints`), each with its card, as",
            "`models/<run key>.safetensors`; open one in the Explorer with",
            "`fgsm-studio --model OUT/models/<run key>.safetensors`. Table 1's pair and the standard",
            "models are the runs of the tables above.",
            "",
        ]
    eps_cols = sorted({float(c.split("@")[1]) for c in attack_cols})
    md.extend(defense_table(defense_rows(rows, lambda g: _best(g, choices)), eps_cols, setting))
    plots(out_dir, md, std_rows, wr_rows)
    path = out_dir / "report.md"
    path.write_text("\n".join(md) + "\n")
    return path


def _where(r) -> tuple:
    """What Table 1 compares within: dataset, model, training limit, training epsilon."""
    if isinstance(r, dict):
        return r["dataset"], r["arch"], r["limit"], r["train_eps"]
    return r.spec.dataset, r.spec.train.arch, r.spec.limit, r.spec.train.epsilon


def best_pairs(records: list[RunRecord]) -> dict[tuple, Choice]:
    """Per ``_where``: the WR_FGSM pair chosen on validation, over the rounds every pair has."""
    wr: dict[tuple, list[RunRecord]] = defaultdict(list)
    for r in records:
        if is_paper(r.spec.train.defense):
            wr[_where(r)].append(r)
    out = {}
    for where, rs in wr.items():
        regs = [r.spec.train.reg for r in rs]  # the sweep's penalty: the one most runs have
        reg = max(sorted(set(regs)), key=regs.count)
        rs = [r for r in rs if r.spec.train.reg == reg]
        by_a1: dict[float, set[int]] = defaultdict(set)
        for r in rs:
            by_a1[r.spec.train.a1].add(r.spec.fold)
        common = set.intersection(*by_a1.values())
        choice = choose_best(r for r in rs if r.spec.fold in common)
        if choice is not None:
            out[where] = choice
    return out


def _best(group: list[dict], choices: dict[tuple, Choice]) -> dict:
    """The row of the chosen pair (its penalty's), with the most rounds."""
    choice = choices.get(_where(group[0]))
    mine = [r for r in group if choice is not None and r["a1"] == choice.a1] or group
    return max(mine, key=lambda r: (r["rounds"], r["reg"] == "scaled"))


def _table1(
    md: list[str], std_rows: list[dict], wr_rows: list[dict], choices: dict[tuple, Choice]
) -> None:
    md.extend(
        [
            "## Table 1: standard vs best WR_FGSM pair",
            "",
            "Best pair: the highest *validation* clean + FGSM accuracy at its training epsilon (each",
            "run's best epoch, on the validation part of its round; the held-out test numbers below",
            "played no part), over the rounds every pair was trained on. Noise: two standard errors",
            "of the difference (of the rounds' spread with two or more rounds, else binomial over",
            "the validation images).",
            "",
            "| dataset | model | eps | standard clean | standard FGSM | standard PGD | defense | rounds | defended clean | defended FGSM | defended PGD |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
    )
    said = []
    for s in std_rows:
        mine = [w for w in wr_rows if _where(w)[:3] == _where(s)[:3]]
        for eps in sorted({w["train_eps"] for w in mine}):
            at = [w for w in mine if w["train_eps"] == eps]
            b = _best(at, choices)
            e = f"{eps:g}"
            md.append(
                f"| {s['dataset']} | {s['arch']} | {e} | {_fmt(s, 'clean')} | {_fmt(s, 'fgsm@' + e)} | "
                f"{_fmt(s, 'pgd@' + e)} | {defense_name(b)} | {b['rounds']} | {_fmt(b, 'clean')} | "
                f"{_fmt(b, 'fgsm@' + e)} | {_fmt(b, 'pgd@' + e)} |"
            )
            choice = choices.get(_where(b))
            if choice is not None and choice.runner_up is not None:
                said.append(f"- {s['dataset']} {s['arch']}, eps {e}: {choice.sentence()}")
    md.extend(["", *said, ""] if said else [""])
