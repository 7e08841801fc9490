"""Small PNG charts drawn with Pillow (no plotting library needed headless).

``line_chart`` draws named series over a shared x axis (with optional error
bars), ``bar_chart`` draws grouped bars with error bars. Both write a PNG and
are used by the CLI's reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
W, H = 900, 560
LEFT, RIGHT, TOP, BOTTOM = 80, 230, 60, 70


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _frame(
    title: str, xlabel: str, ylabel: str, ylim: tuple[float, float]
) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    d.text((W // 2 - RIGHT // 2, 20), title, fill="black", font=_font(18), anchor="mm")
    d.rectangle([LEFT, TOP, W - RIGHT, H - BOTTOM], outline="black")
    lo, hi = ylim
    for i in range(6):
        v = lo + (hi - lo) * i / 5
        y = _y(v, ylim)
        d.line([LEFT, y, W - RIGHT, y], fill="#e5e5e5")
        d.text((LEFT - 8, y), f"{v:g}", fill="black", font=_font(13), anchor="rm")
    d.text((W // 2 - RIGHT // 2, H - 25), xlabel, fill="black", font=_font(14), anchor="mm")
    d.text((14, TOP - 30), ylabel, fill="black", font=_font(14), anchor="la")
    return img, d


def _y(v: float, ylim: tuple[float, float]) -> float:
    lo, hi = ylim
    return H - BOTTOM - (v - lo) / (hi - lo) * (H - BOTTOM - TOP)


def _legend(d: ImageDraw.ImageDraw, names: Sequence[str]) -> None:
    for i, name in enumerate(names):
        y = TOP + 10 + i * 24
        d.rectangle([W - RIGHT + 15, y - 6, W - RIGHT + 31, y + 6], fill=COLORS[i % len(COLORS)])
        d.text((W - RIGHT + 38, y), name[:28], fill="black", font=_font(13), anchor="lm")


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
) -> Path:
    img, d = _frame(title, xlabel, ylabel, ylim)
    x0, x1 = min(x), max(x)
    span = (x1 - x0) or 1.0

    def px(v: float) -> float:
        return LEFT + 20 + (v - x0) / span * (W - RIGHT - LEFT - 40)

    for v in x:
        d.text((px(v), H - BOTTOM + 14), f"{v:g}", fill="black", font=_font(13), anchor="mm")
    for i, (name, ys) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        pts = [(px(a), _y(b, ylim)) for a, b in zip(x, ys, strict=True)]
        d.line(pts, fill=color, width=3)
        for j, (a, b) in enumerate(pts):
            d.ellipse([a - 5, b - 5, a + 5, b + 5], fill=color)
            if errors and name in errors:
                e = errors[name][j] / (ylim[1] - ylim[0]) * (H - BOTTOM - TOP)
                d.line([a, b - e, a, b + e], fill=color, width=2)
    _legend(d, list(series))
    img.save(path)
    return Path(path)


def bar_chart(
    path: str | Path,
    groups: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    errors: dict[str, Sequence[float]] | None = None,
    title: str = "",
    ylabel: str = "",
    ylim: tuple[float, float] = (0, 100),
) -> Path:
    img, d = _frame(title, "", ylabel, ylim)
    n_series = max(1, len(series))
    slot = (W - RIGHT - LEFT) / max(1, len(groups))
    bar = slot * 0.8 / n_series
    for g, group in enumerate(groups):
        cx = LEFT + slot * (g + 0.5)
        d.text((cx, H - BOTTOM + 14), group[:34], fill="black", font=_font(12), anchor="mm")
        for i, (name, vals) in enumerate(series.items()):
            color = COLORS[i % len(COLORS)]
            xa = LEFT + slot * g + slot * 0.1 + i * bar
            top = _y(vals[g], ylim)
            d.rectangle([xa, top, xa + bar - 2, _y(ylim[0], ylim)], fill=color)
            d.text(
                (xa + bar / 2, top - 10),
                f"{vals[g]:.1f}",
                fill="black",
                font=_font(11),
                anchor="mm",
            )
            if errors and name in errors:
                e = errors[name][g] / (ylim[1] - ylim[0]) * (H - BOTTOM - TOP)
                mid = xa + bar / 2 - 1
                d.line([mid, top - e, mid, top + e], fill="black", width=1)
    _legend(d, list(series))
    img.save(path)
    return Path(path)
