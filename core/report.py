"""Turn run records (``experiments.RunRecord``) into CSV, PNG/SVG figures and markdown.

Groups runs that differ only by fold, and reports mean +- std over the rounds.
Every table names the epsilon its attack numbers were measured at, and which
form of the WR_FGSM penalty a defended row used.
"""

from __future__ import annotations

import csv
import logging
from collections import defaultdict
from pathlib import Path

from fgsm_studio.core.evaluation import mean_std
from fgsm_studio.core.experiments import RunRecord
from fgsm_studio.core.plots import bar_chart, line_chart
from fgsm_studio.core.records import load_folder
from fgsm_studio.core.report_defenses import defense_name, defense_rows, defense_table
from fgsm_studio.core.robustness import WORST_CASE, describe_setting

log = logging.getLogger(__name__)


def load_records(out_dir: Path) -> list[RunRecord]:
    """Every record under ``out_dir/runs`` that passes ``core.records``' checks."""
    return load_folder(out_dir)[0]


def _group_key(r: RunRecord) -> tuple:
    t, wr = r.spec.train, r.spec.train.defense == "wr_fgsm"
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
        return 100 * r.test.clean
    v = r.test.get(attack, eps)
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
        row["clean"], row["clean_std"] = mean_std([100 * r.test.clean for r in rs])
        for attack, per_eps in rs[0].test.attacks.items():
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
                # PGD on the same images, to compare the worst case with (core.robustness's PGD)
                pgd = [100 * v for m in robust if (v := m.get("pgd", e)) is not None]
                if len(pgd) == len(rs):
                    row[f"worst_pgd@{e:g}"] = mean_std(pgd)[0]
            row["worst_clean"] = mean_std([100 * m.clean for m in robust])[0]
            row["worst_n"] = robust[0].n
        rows.append(row)
    return rows


def _fmt(row: dict, col: str) -> str:
    v = row.get(col)
    if v is None:
        return "-"
    return f"{v:.2f} +- {row.get(col + '_std', 0):.2f}"


def write_report(
    out_dir: Path, *, title: str = "FGSM Studio: reproduction of Doan & Pham (2025)"
) -> Path:
    out_dir = Path(out_dir)
    records, rejected = load_folder(out_dir)
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
    with open(out_dir / "runs.csv", "w", newline="") as f:
        rw = csv.writer(f)
        rw.writerow(
            [
                "key",
                "dataset",
                "arch",
                "defense",
                "a1",
                "a2",
                "reg",
                "train_eps",
                "fold",
                "clean",
                "attack",
                "eps",
                "acc",
            ]
        )
        for r in records:
            t = r.spec.train
            base = [
                r.key,
                r.spec.dataset,
                t.arch,
                t.defense,
                t.a1,
                t.a2,
                t.reg,
                t.epsilon,
                r.spec.fold,
                r.test.clean,
            ]
            for attack, per in r.test.attacks.items():
                for e, v in per.items():
                    rw.writerow([*base, attack, f"{e:g}", v])

    md = [
        f"# {title}",
        "",
        f"{len(records)} runs. Accuracies in % on held-out data, mean +- std over rounds.",
        "Attack numbers name their epsilon (pixel units, images in [0, 1]). PGD: 10 steps, step 2.5*eps/10,",
        "random start. `scaled` = a2 * 5e-4 * ||W||^2, `literal` = a2 * ||W||^2 (Eq. 8 as written).",
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
                "| dataset | model | defense | train eps | protocol | epochs | clean | "
                + " | ".join(attack_cols)
                + " |",
                "|" + "---|" * (7 + len(attack_cols)),
            ]
        )
        for r in sel:
            md.append(
                f"| {r['dataset']} | {r['arch']} | {defense_name(r)} | {r['train_eps']:g} | {r['protocol']} | "
                f"{r['epochs']} | {_fmt(r, 'clean')} | "
                + " | ".join(_fmt(r, c) for c in attack_cols)
                + " |"
            )
        md.append("")

    std_rows = [r for r in rows if r["defense"] == "none"]
    wr_rows = [r for r in rows if r["defense"] == "wr_fgsm"]
    table(std_rows, "Figure 2: standard models, clean vs under attack")
    table(wr_rows, "Figure 3 and Table 1: WR_FGSM-defended models")
    _table1(md, std_rows, wr_rows)
    eps_cols = sorted({float(c.split("@")[1]) for c in attack_cols})
    md.extend(defense_table(defense_rows(rows, _best), eps_cols, setting))
    _plots(out_dir, md, std_rows, wr_rows)
    path = out_dir / "report.md"
    path.write_text("\n".join(md) + "\n")
    return path


def _best(wr: list[dict]) -> dict:
    first = sorted({c for r in wr for c in r if c.startswith("fgsm@") and not c.endswith("_std")})[
        0
    ]
    # Table 1's runs cover every round; the sweep's cover fewer. Prefer the former.
    return max(wr, key=lambda r: (r["rounds"], r["clean"] + (r.get(first) or 0)))


def _table1(md: list[str], std_rows: list[dict], wr_rows: list[dict]) -> None:
    md.extend(
        [
            "## Table 1: standard vs best WR_FGSM pair",
            "",
            "Best pair: highest clean + FGSM accuracy at its training epsilon (chosen on the same",
            "held-out rounds, as in the paper).",
            "",
            "| dataset | model | eps | standard clean | standard FGSM | standard PGD | defense | rounds | defended clean | defended FGSM | defended PGD |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
    )
    for s in std_rows:
        mine = [
            w
            for w in wr_rows
            if (w["dataset"], w["arch"], w["limit"]) == (s["dataset"], s["arch"], s["limit"])
        ]
        for eps in sorted({w["train_eps"] for w in mine}):
            at = [w for w in mine if w["train_eps"] == eps]
            b = _best(at)
            e = f"{eps:g}"
            md.append(
                f"| {s['dataset']} | {s['arch']} | {e} | {_fmt(s, 'clean')} | {_fmt(s, 'fgsm@' + e)} | "
                f"{_fmt(s, 'pgd@' + e)} | {defense_name(b)} | {b['rounds']} | {_fmt(b, 'clean')} | "
                f"{_fmt(b, 'fgsm@' + e)} | {_fmt(b, 'pgd@' + e)} |"
            )
    md.append("")


def _plots(out_dir: Path, md: list[str], std_rows: list[dict], wr_rows: list[dict]) -> None:
    if std_rows:
        eps = sorted(
            {
                float(c.split("@")[1])
                for r in std_rows
                for c in r
                if c.startswith("fgsm@") and not c.endswith("_std")
            }
        )
        groups = [f"{r['dataset']} {r['arch']}" for r in std_rows]
        series = {"clean": [r["clean"] for r in std_rows]}
        errors = {"clean": [r["clean_std"] for r in std_rows]}
        for e in eps:
            series[f"FGSM eps={e:g}"] = [r.get(f"fgsm@{e:g}") or 0 for r in std_rows]
            errors[f"FGSM eps={e:g}"] = [r.get(f"fgsm@{e:g}_std") or 0 for r in std_rows]
        bar_chart(
            out_dir / "figure2.png",
            groups,
            series,
            errors=errors,
            title="Figure 2: standard models, clean vs FGSM",
            ylabel="accuracy %",
        )
        md.extend(["![Figure 2](figure2.png) ([SVG](figure2.svg))", ""])
    sweeps: dict[tuple, list[dict]] = defaultdict(list)
    for r in wr_rows:
        sweeps[(r["dataset"], r["arch"], r["reg"], r["train_eps"])].append(r)
    for _i, ((dataset, arch, reg, train_eps), rs) in enumerate(sorted(sweeps.items())):
        if len(rs) < 3:
            continue
        rs.sort(key=lambda r: r["a1"])
        tag = f"{train_eps:g}"
        name = f"figure3_{dataset}_{arch}_{reg}_eps{tag}.png".replace("/", "-")
        _png, svg = line_chart(
            out_dir / name,
            [r["a1"] for r in rs],
            {
                "clean": [r["clean"] for r in rs],
                f"FGSM eps={tag}": [r.get(f"fgsm@{tag}") or 0 for r in rs],
                f"PGD eps={tag}": [r.get(f"pgd@{tag}") or 0 for r in rs],
            },
            errors={
                "clean": [r["clean_std"] for r in rs],
                f"FGSM eps={tag}": [r.get(f"fgsm@{tag}_std") or 0 for r in rs],
                f"PGD eps={tag}": [r.get(f"pgd@{tag}_std") or 0 for r in rs],
            },
            title=f"Figure 3: {dataset} {arch}, WR_FGSM ({reg}), accuracy per a1 (a2 = 1 - a1)",
            xlabel="a1 (weight of the FGSM loss); a2 = 1 - a1",
            ylabel="accuracy %",
        )
        md.extend([f"![Figure 3 {dataset} {arch} {reg}]({name}) ([SVG]({svg.name}))", ""])
