"""Scripted writers for the draw set: stroke templates of the ten digits and how a writer varies them.

A template is one way of writing a digit (a closed or an open 4, a 7 with or
without a bar, a 1 with or without a flag): a list of strokes, each a list of
points in a design box (x right, y down, the digit about 0.65 wide and 1 tall),
made from straight lines, ellipse arcs and smooth curves (Catmull-Rom splines
through a few points). A *writer* (``Writer``, drawn from a seeded RNG) turns a
template into the mouse path a person would draw on the 280x280 canvas: slanted,
rotated a little, scaled, stretched, placed off centre, its shape bent by a smooth
random warp and its points shaken a little, sampled at the writer's speed (a fast
hand gives far-apart mouse events, so curves become polygons), and sometimes with
the pen lifted for a moment in the middle of a stroke. Only numpy: the Qt side is
``draw_set``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Stroke = np.ndarray  # (n, 2) points
CANVAS = 280


def arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float) -> np.ndarray:
    """Points of an ellipse arc from angle ``a0`` to ``a1`` (degrees, 0 = right, 90 = down)."""
    n = max(8, int(abs(a1 - a0) / 6))
    t = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def line(*points: tuple[float, float]) -> np.ndarray:
    """A polyline through ``points``, densely sampled (corners kept sharp)."""
    pts = np.asarray(points, float)
    out = [pts[:1]]
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        n = max(2, int(np.hypot(*(b - a)) / 0.02))
        out.append(a + (b - a) * np.linspace(0, 1, n)[1:, None])
    return np.concatenate(out)


def curve(*points: tuple[float, float]) -> np.ndarray:
    """A smooth curve through ``points`` (centripetal-free, uniform Catmull-Rom)."""
    p = np.asarray(points, float)
    p = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    out = []
    t = np.linspace(0, 1, 16, endpoint=False)[:, None]
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(
            0.5
            * (
                2 * p1
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    out.append(p[-2:-1])
    return np.concatenate(out)


def join(*parts: np.ndarray) -> np.ndarray:
    """One stroke made of several parts drawn without lifting the pen."""
    return np.concatenate(parts)


# Each digit's ways of writing it: name -> strokes (in the order a person draws them).
TEMPLATES: dict[int, dict[str, list[np.ndarray]]] = {
    0: {
        "oval": [arc(0.32, 0.5, 0.3, 0.5, -90, -455)],
        "narrow": [arc(0.25, 0.5, 0.2, 0.5, -80, -440)],
        "open top": [arc(0.3, 0.5, 0.3, 0.48, -70, -405)],
        "clockwise": [arc(0.3, 0.5, 0.29, 0.5, -100, 285)],
    },
    1: {
        "bare": [line((0.32, 0.0), (0.3, 1.0))],
        "bent": [curve((0.36, 0.0), (0.31, 0.5), (0.3, 1.0))],
        "flag": [line((0.18, 0.15), (0.36, 0.0), (0.34, 1.0))],
        "flag and foot": [
            line((0.2, 0.14), (0.36, 0.0), (0.36, 1.0)),
            line((0.16, 1.0), (0.56, 1.0)),
        ],
    },
    2: {
        "round": [
            join(
                arc(0.32, 0.28, 0.29, 0.27, 195, 395), line((0.54, 0.45), (0.02, 1.0), (0.66, 1.0))
            )
        ],
        "swan": [
            curve(
                (0.04, 0.22),
                (0.3, 0.0),
                (0.58, 0.18),
                (0.45, 0.52),
                (0.03, 0.98),
                (0.34, 0.92),
                (0.66, 1.0),
            )
        ],
        "angular": [
            join(
                curve((0.04, 0.18), (0.3, 0.0), (0.58, 0.16), (0.52, 0.38)),
                line((0.52, 0.38), (0.02, 1.0), (0.66, 0.97)),
            )
        ],
        "looped": [
            join(
                arc(0.32, 0.27, 0.28, 0.27, 190, 380),
                curve(
                    (0.6, 0.36),
                    (0.3, 0.7),
                    (0.08, 0.93),
                    (0.18, 0.84),
                    (0.2, 0.98),
                    (0.45, 0.97),
                    (0.66, 1.0),
                ),
            )
        ],
    },
    3: {
        "round": [join(arc(0.3, 0.25, 0.27, 0.25, 200, 450), arc(0.3, 0.74, 0.31, 0.26, 270, 520))],
        "flat top": [
            join(line((0.04, 0.0), (0.58, 0.0), (0.26, 0.42)), arc(0.3, 0.71, 0.31, 0.29, 265, 515))
        ],
        "pointed": [
            curve(
                (0.04, 0.1),
                (0.35, 0.0),
                (0.58, 0.2),
                (0.2, 0.48),
                (0.6, 0.7),
                (0.35, 1.0),
                (0.0, 0.88),
            )
        ],
        "small top": [
            join(arc(0.33, 0.22, 0.22, 0.22, 190, 450), arc(0.3, 0.7, 0.33, 0.3, 260, 515))
        ],
    },
    4: {
        "closed": [line((0.45, 0.0), (0.0, 0.66), (0.68, 0.66)), line((0.47, 0.05), (0.47, 1.0))],
        "open": [line((0.08, 0.0), (0.06, 0.58), (0.64, 0.58)), line((0.5, 0.08), (0.5, 1.0))],
        "crossed": [line((0.38, 0.0), (0.0, 0.62), (0.7, 0.6)), line((0.52, 0.18), (0.5, 1.0))],
    },
    5: {
        "hat last": [
            join(line((0.12, 0.03), (0.09, 0.43)), arc(0.3, 0.68, 0.31, 0.3, 228, 500)),
            line((0.12, 0.03), (0.62, 0.02)),
        ],
        "one stroke": [
            join(
                line((0.62, 0.02), (0.12, 0.02), (0.09, 0.43)), arc(0.3, 0.68, 0.31, 0.3, 228, 500)
            )
        ],
        "angular": [
            join(
                line((0.1, 0.0), (0.06, 0.42), (0.42, 0.4)),
                curve((0.42, 0.4), (0.62, 0.62), (0.45, 0.93), (0.04, 0.9)),
            ),
            line((0.1, 0.0), (0.6, 0.0)),
        ],
    },
    6: {
        "curled": [
            curve(
                (0.55, 0.02),
                (0.25, 0.18),
                (0.05, 0.6),
                (0.16, 0.94),
                (0.38, 0.99),
                (0.56, 0.8),
                (0.5, 0.58),
                (0.3, 0.52),
                (0.08, 0.66),
            )
        ],
        "straight": [join(line((0.45, 0.0), (0.07, 0.72)), arc(0.3, 0.76, 0.24, 0.23, 180, 535))],
        "big loop": [
            join(curve((0.5, 0.0), (0.2, 0.2), (0.04, 0.5)), arc(0.33, 0.68, 0.3, 0.31, 190, 545))
        ],
    },
    7: {
        "plain": [line((0.02, 0.04), (0.64, 0.04), (0.24, 1.0))],
        "bar": [line((0.02, 0.04), (0.64, 0.04), (0.26, 1.0)), line((0.16, 0.52), (0.6, 0.5))],
        "curved bar": [
            join(line((0.02, 0.06), (0.62, 0.02)), curve((0.62, 0.02), (0.4, 0.5), (0.3, 1.0))),
            line((0.2, 0.5), (0.62, 0.46)),
        ],
        "serif": [
            join(
                line((0.02, 0.16), (0.03, 0.03), (0.64, 0.05)),
                curve((0.64, 0.05), (0.42, 0.45), (0.32, 1.0)),
            )
        ],
    },
    8: {
        "one stroke": [
            curve(
                (0.56, 0.12),
                (0.3, 0.0),
                (0.08, 0.18),
                (0.3, 0.45),
                (0.58, 0.72),
                (0.32, 1.0),
                (0.04, 0.76),
                (0.3, 0.46),
                (0.52, 0.24),
                (0.56, 0.08),
            )
        ],
        "two loops": [
            arc(0.32, 0.24, 0.22, 0.24, -90, -450),
            arc(0.32, 0.73, 0.28, 0.27, -90, -450),
        ],
        "from the middle": [
            curve(
                (0.32, 0.48),
                (0.08, 0.26),
                (0.3, 0.01),
                (0.54, 0.22),
                (0.3, 0.5),
                (0.04, 0.76),
                (0.32, 1.0),
                (0.6, 0.76),
                (0.32, 0.48),
            )
        ],
    },
    9: {
        "stick": [join(arc(0.3, 0.27, 0.27, 0.26, 5, -360), line((0.57, 0.24), (0.53, 1.0)))],
        "hooked": [
            join(
                arc(0.3, 0.27, 0.27, 0.26, 5, -360),
                curve((0.57, 0.24), (0.56, 0.7), (0.45, 0.97), (0.18, 0.95)),
            )
        ],
        "two strokes": [arc(0.3, 0.27, 0.27, 0.27, 0, -375), line((0.58, 0.08), (0.56, 1.0))],
    },
}


@dataclass(frozen=True)
class Writer:
    """How one scripted person writes: every number drawn from a seeded RNG (``Writer.draw``)."""

    slant: float  # shear: x moves by slant * height above the centre (right-leaning > 0)
    rotation: float  # degrees
    height: float  # px on the canvas
    aspect: float  # width stretch
    offset: tuple[float, float]  # px from the canvas centre
    warp: float  # amplitude of a smooth random bend, in design units
    warp_phase: tuple[float, float, float, float]
    tremor: float  # px of point-to-point shake
    spacing: float  # px between mouse events (a fast hand: far apart)
    gap: float  # probability of lifting the pen once mid-stroke

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Writer:
        return cls(
            slant=float(rng.uniform(-0.12, 0.4)),
            rotation=float(rng.normal(0, 5)),
            height=float(rng.uniform(120, 225)),
            aspect=float(rng.uniform(0.75, 1.3)),
            offset=(float(rng.uniform(-35, 35)), float(rng.uniform(-25, 25))),
            warp=float(rng.uniform(0, 0.06)),
            warp_phase=tuple(float(v) for v in rng.uniform(0, 2 * np.pi, 4)),  # type: ignore[arg-type]
            tremor=float(rng.uniform(0, 1.5)),
            spacing=float(rng.uniform(3, 18)),
            gap=0.15,
        )


def _resample(stroke: np.ndarray, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """Mouse events along a stroke: about ``spacing`` px apart, first and last point kept."""
    seg = np.hypot(*np.diff(stroke, axis=0).T)
    dist = np.concatenate([[0], np.cumsum(seg)])
    if dist[-1] < 1:
        return stroke[:1]
    steps = spacing * rng.uniform(0.7, 1.3, int(dist[-1] / spacing * 1.5) + 2)
    at = np.concatenate([[0], np.cumsum(steps)])
    at = np.append(at[at < dist[-1]], dist[-1])
    return np.stack([np.interp(at, dist, stroke[:, 0]), np.interp(at, dist, stroke[:, 1])], 1)


def mouse_strokes(
    strokes: list[np.ndarray], writer: Writer, rng: np.random.Generator
) -> list[np.ndarray]:
    """The template as this writer draws it: mouse paths (integer px) on the 280x280 canvas."""
    pts = np.concatenate(strokes)
    lo, hi = pts.min(0), pts.max(0)
    centre = (lo + hi) / 2
    a, b, c, d = writer.warp_phase
    out = []
    for s in strokes:
        s = s - centre
        # a smooth bend of the whole digit (a writer's own shape), in design units
        s = s + writer.warp * np.stack(
            [
                np.sin(3 * s[:, 1] + a) + np.sin(2 * s[:, 0] + b),
                np.sin(3 * s[:, 0] + c) + np.sin(2 * s[:, 1] + d),
            ],
            1,
        )
        s = s * [writer.height * writer.aspect, writer.height]
        s[:, 0] -= writer.slant * s[:, 1]
        t = np.radians(writer.rotation)
        s = s @ np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
        out.append(s)
    pts = np.concatenate(out)
    # keep the whole digit on the canvas with a margin for the pen
    half = (pts.max(0) - pts.min(0)) / 2
    room = np.maximum(CANVAS / 2 - 16 - half, 0)
    shift = np.clip(writer.offset, -room, room) + CANVAS / 2 - (pts.max(0) + pts.min(0)) / 2
    paths = []
    for s in out:
        s = _resample(s + shift, writer.spacing, rng)
        s = s + rng.normal(0, writer.tremor, s.shape)
        s = np.clip(np.round(s), 12, CANVAS - 13).astype(int)
        paths += _lift(s, writer, rng)
    return [p for p in paths if len(p)]


def _lift(path: np.ndarray, writer: Writer, rng: np.random.Generator) -> list[np.ndarray]:
    """The path, or (with probability ``writer.gap``) two pieces with the pen lifted between.

    The gap is 24-40 px along the path, a little more than the 22 px pen, so it shows
    as a break in the line the way a hand that lifts too early leaves one.
    """
    if len(path) < 6 or rng.random() >= writer.gap:
        return [path]
    seg = np.hypot(*np.diff(path, axis=0).T)
    dist = np.concatenate([[0], np.cumsum(seg)])
    if dist[-1] < 250:  # a short stroke (a 1, a bar): a gap would make another sign
        return [path]
    gap = min(rng.uniform(24, 40), 0.15 * dist[-1])
    start = rng.uniform(0.25, 0.75) * (dist[-1] - gap)
    head, tail = path[dist <= start], path[dist >= start + gap]
    return [p for p in (head, tail) if len(p)]
