"""The reproduction report's figures: Figure 2 (standard models) and Figure 3 (the a1 sweep).

Each figure says what it shows without the report around it: the number of
held-out images, rounds and epochs in its caption, a dashed line at chance, what
an error bar means, and PGD (measured, the stronger attack) beside FGSM. Every
error bar, here and in the Train tab's Figure 3 (window and export), is one thing:
the 95% confidence interval of the accuracy drawn (``report_stats.interval95``:
Student t over the rounds with two or more rounds, the Wilson interval over the
held-out images with one). ``figure3_data`` makes Figure 3's points, bars and
caption from ``report.summarize`` rows, for the report and for the Train tab; the
drawing is ``core.reports.plots``'.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .plots import Error, bar_chart, figure3
from .stats import interval95

BARS = "95% confidence interval"  # what every error bar is, first words of each caption


def _error(row: dict, col: str) -> Error:
    """The cell's 95% confidence interval as (down, up) in points from its value."""
    v = row.get(col)
    if v is None:
        return 0.0
    n = row.get("worst_n") if col.startswith("worst") else row["n_images"]
    std = (row.get(col + "_std") or 0.0) / 100
    lo, hi = interval95(v / 100, std, int(row["rounds"]), int(n or 0))
    return v - 100 * lo, 100 * hi - v


def _caption(rows: list[dict]) -> str:
    n = "/".join(map(str, sorted({r["n_images"] for r in rows})))
    rounds = sorted({r["rounds"] for r in rows})
    protocols = "; ".join(sorted({r["protocol"] for r in rows}))
    ran = "/".join(map(str, sorted({r["epochs_run"] for r in rows})))
    most = max(r["epochs"] for r in rows)
    what = (
        f"error bars: {BARS} of the mean over the rounds (Student t from their sample "
        "standard deviation)"
        if min(rounds) >= 2
        else f"error bars: {BARS} (one run per point: the 95% Wilson interval over its "
        "held-out images)"
        if max(rounds) == 1
        else f"error bars: {BARS} (Student t over the rounds with 2+ rounds, the 95% "
        "Wilson interval over the held-out images with one)"
    )
    return (
        f"n = {n} held-out images per round, {protocols}, {ran} epochs trained (at most "
        f"{most}); bars and points: mean over rounds; {what}."
    )


@dataclass(frozen=True)
class Figure3Data:
    """Figure 3's points: accuracy (%) per a1, one series per line, each point's 95%
    confidence interval as (down, up) points from it, and the caption that says so."""

    a1: list[float]
    series: dict[str, Sequence[float]]
    errors: dict[str, Sequence[Error]]
    caption: str
    epsilon: float
    hline: tuple[float, str] | None = None


def figure3_data(rows: list[dict], *, complete: bool = False) -> Figure3Data:
    """Figure 3 from ``report.summarize`` rows of one sweep (one per a1). A series with a
    point not measured is drawn at 0 in the report, and left out with ``complete``."""
    rows = sorted(rows, key=lambda r: r["a1"])
    tag = f"{rows[0]['train_eps']:g}"  # the attacks at the training epsilon, else the first
    if f"fgsm@{tag}" not in rows[0]:
        measured = sorted(float(c[5:]) for c in rows[0] if c.startswith("fgsm@") and "_" not in c)
        tag = f"{measured[0]:g}" if measured else tag
    cols = {"clean": "clean", f"FGSM eps={tag}": f"fgsm@{tag}", f"PGD eps={tag}": f"pgd@{tag}"}
    if complete:
        cols = {k: c for k, c in cols.items() if all(r.get(c) is not None for r in rows)}
    return Figure3Data(
        a1=[r["a1"] for r in rows],
        series={label: [r.get(col) or 0 for r in rows] for label, col in cols.items()},
        errors={label: [_error(r, col) for r in rows] for label, col in cols.items()},
        caption=_caption(rows),
        epsilon=float(tag),
        hline=_chance(rows),
    )


def draw_figure3(path: Path, fig: Figure3Data, title: str) -> tuple[Path, Path]:
    """Figure 3 as PNG and SVG at ``path``, its caption under it."""
    return figure3(
        path, fig.a1, fig.series, fig.errors, title=title, caption=fig.caption, hline=fig.hline
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
        tag = f"{train_eps:g}"
        name = f"figure3_{dataset}_{arch}_{reg}_eps{tag}.png".replace("/", "-")
        fig = figure3_data(rs)
        caption = fig.caption
        _png, svg = draw_figure3(
            out_dir / name,
            fig,
            f"Figure 3: {dataset} {arch}, WR_FGSM ({reg} penalty), trained at eps={tag}",
        )
        md.extend(
            [
                f"![Figure 3 {dataset} {arch} {reg}]({name}) ([SVG]({svg.name}))",
                "",
                f"*{caption}*",
                "",
            ]
        )
