"""Report figures with matplotlib (Agg for PNG; no display needed), each as PNG and SVG.

``line_chart`` draws named series over a shared x axis with error bars on every
series (Figure 3: accuracy per a1); ``bar_chart`` draws grouped bars with error
bars and a gap between groups (Figure 2). An error may be one number (a
symmetric bar, e.g. the standard deviation over rounds) or a ``(down, up)``
pair (an interval such as a 95% Wilson interval). Both can draw a reference line
(chance accuracy) and a caption under the axes that says what was measured and
what the bars mean. Both write ``path`` (a ``.png``, 200 dpi) and the same
figure beside it as ``.svg``, and return both paths. The style is set here, once:
a colour-blind-safe palette (Okabe and Ito), readable type, no top and right
frame, the legend outside the data. Used by the CLI's report and the Train tab's
export.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

# The object-oriented API only (no pyplot): no global backend, no window, no Qt;
# ``Figure.savefig`` renders PNG with Agg and SVG with the SVG backend, from any thread.
from matplotlib.figure import Figure

# Okabe & Ito (2008): distinguishable with the common colour-vision deficiencies.
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
SIZE = (7.0, 4.4)  # inches; 200 dpi PNG = 1400 x 880 px
DPI = 200
Error = float | tuple[float, float]


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)
    ax.title.set_fontsize(11)
    ax.xaxis.label.set_fontsize(10)
    ax.yaxis.label.set_fontsize(10)


def _yerr(errs: Sequence[Error], n: int) -> list[list[float]]:
    """matplotlib's 2xN form (down, up) from numbers or pairs."""
    errs = list(errs) or [0.0] * n
    down = [e[0] if isinstance(e, tuple | list) else e for e in errs]
    up = [e[1] if isinstance(e, tuple | list) else e for e in errs]
    return [[max(0.0, float(d)) for d in down], [max(0.0, float(u)) for u in up]]


def _finish(fig: Figure, ax, path, *, hline, caption: str, legend_cols: int) -> tuple[Path, Path]:
    if hline is not None:
        y, label = hline
        ax.axhline(y, color="#555555", linestyle="--", linewidth=1, label=label, zorder=1)
    title = ax.get_title()
    if title:  # the title above the legend, the legend just above the data
        ax.set_title("")
        fig.suptitle(title, fontsize=11)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            handles,
            labels,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.0),
            ncol=min(legend_cols, len(labels)),
            frameon=False,
            fontsize=9,
        )
    lines = textwrap.wrap(caption, 110) if caption else []
    if lines:
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=8, color="#333333", va="bottom")
    fig.tight_layout(rect=(0, 0.035 * (len(lines) + 0.5) if lines else 0, 1, 1))
    png = Path(path).with_suffix(".png")
    svg = png.with_suffix(".svg")
    fig.savefig(png, dpi=DPI)
    fig.savefig(svg)
    return png, svg


def line_chart(
    path: str | Path,
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    *,
    errors: Mapping[str, Sequence[Error]] | None = None,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    ylim: tuple[float, float] = (0, 100),
    hline: tuple[float, str] | None = None,
    caption: str = "",
) -> tuple[Path, Path]:
    """One line per series, with its error bars (a missing entry in ``errors`` is 0)."""
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    for i, (name, ys) in enumerate(series.items()):
        yerr = _yerr((errors or {}).get(name, []), len(ys))
        ax.errorbar(
            list(x),
            list(ys),
            yerr=yerr,
            label=name,
            color=COLORS[i % len(COLORS)],
            marker=MARKERS[i % len(MARKERS)],
            markersize=5,
            linewidth=1.5,
            capsize=3,
            zorder=3,
        )
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, ylim=ylim)
    ax.set_xticks(list(x))
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    _style(ax)
    return _finish(fig, ax, path, hline=hline, caption=caption, legend_cols=4)


def figure3(
    path: str | Path,
    a1: Sequence[float],
    series: dict[str, Sequence[float]],
    errors: Mapping[str, Sequence[Error]],
    *,
    title: str,
    caption: str,
    hline: tuple[float, str] | None = None,
) -> tuple[Path, Path]:
    """The paper's Figure 3, the one function the report and the Train tab's export draw
    it with: held-out accuracy (%) per a1, one line per series (clean, FGSM, PGD), and
    ``caption`` saying what the error bars are, under the figure."""
    return line_chart(
        path,
        a1,
        series,
        errors=errors,
        title=title,
        xlabel="a1 (weight of the FGSM loss); a2 = 1 - a1",
        ylabel="held-out accuracy (%)",
        hline=hline,
        caption=caption,
    )


def bar_chart(
    path: str | Path,
    groups: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    errors: Mapping[str, Sequence[Error]] | None = None,
    title: str = "",
    ylabel: str = "",
    ylim: tuple[float, float] = (0, 100),
    hline: tuple[float, str] | None = None,
    caption: str = "",
) -> tuple[Path, Path]:
    """Grouped bars, one colour per series, each bar with its value and error bar."""
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    n = max(1, len(series))
    width = 0.7 / n  # 0.3 of each group's slot stays empty: a gap between groups
    for i, (name, vals) in enumerate(series.items()):
        xs = [g - 0.35 + width * (i + 0.5) for g in range(len(groups))]
        yerr = _yerr((errors or {}).get(name, []), len(vals))
        ax.bar(
            xs,
            list(vals),
            width * 0.92,
            yerr=yerr,
            label=name,
            color=COLORS[i % len(COLORS)],
            edgecolor="white",
            linewidth=0.5,
            error_kw=dict(capsize=3, elinewidth=1, ecolor="#222222"),
            zorder=3,
        )
        for x, v, up in zip(xs, vals, yerr[1], strict=True):  # the value above its error bar
            ax.text(x, v + up + 1, f"{v:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)), list(groups))
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set(title=title, ylabel=ylabel, ylim=(ylim[0], ylim[1] + 6))
    ax.set_yticks([t for t in range(int(ylim[0]), int(ylim[1]) + 1, 20)])
    ax.grid(True, axis="y", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    _style(ax)
    return _finish(fig, ax, path, hline=hline, caption=caption, legend_cols=4)
