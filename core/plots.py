"""Report figures with matplotlib (Agg for PNG; no display needed), each as PNG and SVG.

``line_chart`` draws named series over a shared x axis with error bars on every
series (Figure 3: accuracy per a1, mean +- std over rounds); ``bar_chart`` draws
grouped bars with error bars (Figure 2). Both write ``path`` (a ``.png``) and
the same figure beside it as ``.svg``, and return both paths. Used by the CLI's
report and the Train tab's export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

# The object-oriented API only (no pyplot): no global backend, no window, no Qt;
# ``Figure.savefig`` renders PNG with Agg and SVG with the SVG backend, from any thread.
from matplotlib.figure import Figure

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
SIZE = (9.0, 5.6)  # inches; 100 dpi PNG = 900 x 560 px


def _save(fig: Figure, path: str | Path) -> tuple[Path, Path]:
    png = Path(path).with_suffix(".png")
    svg = png.with_suffix(".svg")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    fig.savefig(svg)
    return png, svg


def line_chart(
    path: str | Path,
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    *,
    errors: dict[str, Sequence[float]] | None = None,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    ylim: tuple[float, float] = (0, 100),
) -> tuple[Path, Path]:
    """One line per series, with its error bars (a missing entry in ``errors`` is 0)."""
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    for i, (name, ys) in enumerate(series.items()):
        err = list((errors or {}).get(name, [0.0] * len(ys)))
        color = COLORS[i % len(COLORS)]
        ax.errorbar(list(x), list(ys), yerr=err, label=name, color=color, marker="o", capsize=4)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, ylim=ylim)
    ax.set_xticks(list(x))
    ax.grid(True, color="#e5e5e5")
    ax.legend(loc="best")
    return _save(fig, path)


def figure3(
    path: str | Path,
    a1: Sequence[float],
    series: dict[str, Sequence[float]],
    errors: dict[str, Sequence[float]],
    *,
    what: str,
    bars: str,
) -> tuple[Path, Path]:
    """The paper's Figure 3, the one way both the report and the Train tab draw it:
    accuracy (%) per a1 of ``what`` (e.g. "mnist-5k small_cnn, WR_FGSM (scaled)"), one
    line per series, and ``bars`` saying what the error bars are, in the caption."""
    return line_chart(
        path,
        a1,
        series,
        errors=errors,
        title=f"Figure 3: {what}, accuracy per a1 (a2 = 1 - a1)",
        xlabel="a1 (weight of the FGSM loss); a2 = 1 - a1",
        ylabel=f"held-out accuracy % (bars: {bars})",
    )


def bar_chart(
    path: str | Path,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    errors: Mapping[str, Sequence[float]] | None = None,
    title: str = "",
    ylabel: str = "",
    ylim: tuple[float, float] = (0, 100),
) -> tuple[Path, Path]:
    """Grouped bars, one colour per series, each bar with its value and error bar."""
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    n = max(1, len(series))
    width = 0.8 / n
    for i, (name, vals) in enumerate(series.items()):
        xs = [g - 0.4 + width * (i + 0.5) for g in range(len(groups))]
        err = list((errors or {}).get(name, [0.0] * len(vals)))
        bars = ax.bar(
            xs, list(vals), width, yerr=err, label=name, color=COLORS[i % len(COLORS)], capsize=3
        )
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(range(len(groups)), list(groups))
    ax.set(title=title, ylabel=ylabel, ylim=ylim)
    ax.grid(True, axis="y", color="#e5e5e5")
    ax.legend(loc="best")
    return _save(fig, path)
