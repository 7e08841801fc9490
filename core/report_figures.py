"""The reproduction report's figures: Figure 2 (standard models) and Figure 3 (the a1 sweep).

Each figure says what it shows without the report around it: the number of
held-out images, rounds and epochs in its caption, a dashed line at chance, what
an error bar means (the sample standard deviation over two or more rounds; the
95% Wilson interval over the images with one round), and PGD (measured, the
stronger attack) beside FGSM. The rows come from ``report.summarize``; the
drawing from ``core.plots``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .plots import Error, bar_chart, figure3
from .report_stats import wilson


def _error(row: dict, col: str) -> Error:
    v = row.get(col)
    if v is None:
        return 0.0
    if row["rounds"] >= 2:
        return row.get(col + "_std") or 0.0
    lo, hi = wilson(v / 100, int(row["n_images"]))
    return v - 100 * lo, 100 * hi - v


def _caption(rows: list[dict]) -> str:
    n = "/".join(map(str, sorted({r["n_images"] for r in rows})))
    rounds = sorted({r["rounds"] for r in rows})
    protocols = "; ".join(sorted({r["protocol"] for r in rows}))
    ran = "/".join(map(str, sorted({r["epochs_run"] for r in rows})))
    most = max(r["epochs"] for r in rows)
    what = (
        "error bars: sample standard deviation over the rounds"
        if min(rounds) >= 2
        else "error bars: 95% Wilson interval over the held-out images (one round: no std)"
        if max(rounds) == 1
        else "error bars: std over rounds (2+ rounds) or 95% Wilson interval (1 round)"
    )
    return (
        f"n = {n} held-out images per round, {protocols}, {ran} epochs trained (at most "
        f"{most}); bars and points: mean over rounds; {what}."
    )


def _chance(rows: list[dict]):
    values = {r.get("chance") for r in rows} - {None}
    if len(values) != 1:
        return None
    v = values.pop()
    return v, f"chance ({v:.0f}%)"


def plots(out_dir: Path, md: list[str], std_rows: list[dict], wr_rows: list[dict]) -> None:
    """Draw the figures into ``out_dir`` and add their links (and captions) to ``md``."""
    if std_rows:
        eps = sorted(
            {
                float(c.split("@")[1])
                for r in std_rows
                for c in r
                if c.startswith("fgsm@") and not c.endswith("_std")
            }
        )
        groups = [f"{r['dataset']}\n{r['arch']}" for r in std_rows]
        series = {"clean": [r["clean"] for r in std_rows]}
        errors: dict[str, list[Error]] = {"clean": [_error(r, "clean") for r in std_rows]}
        for e in eps:
            for attack, label in (("fgsm", "FGSM"), ("pgd", "PGD")):
                col = f"{attack}@{e:g}"
                if any(r.get(col) is not None for r in std_rows):
                    series[f"{label} eps={e:g}"] = [r.get(col) or 0 for r in std_rows]
                    errors[f"{label} eps={e:g}"] = [_error(r, col) for r in std_rows]
        caption = _caption(std_rows)
        bar_chart(
            out_dir / "figure2.png",
            groups,
            series,
            errors=errors,
            title="Figure 2: standard models, clean and under attack",
            ylabel="held-out accuracy (%)",
            hline=_chance(std_rows),
            caption=caption,
        )
        md.extend(["![Figure 2](figure2.png) ([SVG](figure2.svg))", "", f"*{caption}*", ""])
    sweeps: dict[tuple, list[dict]] = defaultdict(list)
    for r in wr_rows:
        sweeps[(r["dataset"], r["arch"], r["reg"], r["train_eps"])].append(r)
    for (dataset, arch, reg, train_eps), rs in sorted(sweeps.items()):
        if len(rs) < 3:
            continue
        rs.sort(key=lambda r: r["a1"])
        tag = f"{train_eps:g}"
        name = f"figure3_{dataset}_{arch}_{reg}_eps{tag}.png".replace("/", "-")
        cols = {"clean": "clean", f"FGSM eps={tag}": f"fgsm@{tag}", f"PGD eps={tag}": f"pgd@{tag}"}
        caption = _caption(rs)
        _png, svg = figure3(
            out_dir / name,
            [r["a1"] for r in rs],
            {label: [r.get(col) or 0 for r in rs] for label, col in cols.items()},
            {label: [_error(r, col) for r in rs] for label, col in cols.items()},
            title=f"Figure 3: {dataset} {arch}, WR_FGSM ({reg} penalty), trained at eps={tag}",
            caption=caption,
            hline=_chance(rs),
        )
        md.extend(
            [
                f"![Figure 3 {dataset} {arch} {reg}]({name}) ([SVG]({svg.name}))",
                "",
                f"*{caption}*",
                "",
            ]
        )
