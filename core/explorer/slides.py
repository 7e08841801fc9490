"""The epsilon sweep for slides: an animation and a strip, with the verdicts written on them.

``sweep_frames`` draws one picture per epsilon of an ``AttackSession`` (original,
the change magnified, the attacked image; above them the epsilon and the verdict,
e.g. ``5 (97.8%) -> 6 (67.6%): fooled``); ``strip`` draws a few epsilons side by side
in one PNG. ``save_animation`` writes the frames as an animated GIF or WebP (Pillow)
or, where an ``ffmpeg`` program is on the PATH, as MP4 or WebM; ``export_all`` writes
every format this machine can, and says which it could not. Pillow only: no Qt, run
it on a worker thread.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..attacks.gradient import fgsm_step
from .opening import EpsilonScale
from .session import AttackFrame, AttackSession

PANEL = 220  # px: each picture's side
GAP = 16
HEADER = 78
FOOTER = 30
INK, PAPER = (34, 34, 34), (255, 255, 255)
FOOLED, HOLDS = (229, 57, 53), (46, 125, 50)
ANIMATIONS = {".gif": "GIF", ".webp": "WEBP"}  # Pillow writes these
VIDEOS = {".mp4": ("libx264", "yuv420p"), ".webm": ("libvpx-vp9", "yuv420p")}  # ffmpeg


PUBLIC = 0o644  # the exported files' mode, as a file saved by any program


class ExportError(Exception):
    """A format this machine cannot write, or a file that could not be written."""


def sweep_epsilons(scale: EpsilonScale) -> list[float]:
    """The animation's epsilons: digits 0 to 0.3 in 0.01 steps (0.3 already hides the digit
    in noise); photos 0 to 16/255 in half /255 steps."""
    if scale.per_255:
        return [i / 2 / 255 for i in range(33)]
    return [round(i * 0.01, 2) for i in range(31)]


def strip_epsilons(scale: EpsilonScale) -> list[float]:
    """A few epsilons for the strip: where nothing, little and much changes."""
    if scale.per_255:
        return [0.0, 1 / 255, 2 / 255, 4 / 255, 8 / 255]
    return [0.0, 0.05, 0.1, 0.2, 0.3]


def eps_words(eps: float, per_255: bool) -> str:
    return f"epsilon {eps * 255:g}/255" if per_255 else f"epsilon {eps:.2f}"


def verdict(frame: AttackFrame, names: Sequence[str]) -> tuple[str, bool]:
    """``5 (97.8%) -> 6 (67.6%): fooled`` and whether the attack won."""
    p0, p1 = float(frame.probs_clean[frame.pred_clean]), float(frame.probs_adv[frame.pred_adv])
    if frame.target is not None:
        word = "target reached" if frame.flipped else "target not reached"
    else:
        word = "fooled" if frame.flipped else "holds"
    text = f"{names[frame.pred_clean]} ({p0:.1%}) -> {names[frame.pred_adv]} ({p1:.1%}): {word}"
    return text, frame.flipped


def _picture(image: torch.Tensor, side: int = PANEL) -> Image.Image:
    arr = (image.detach().clamp(0, 1).cpu().numpy() * 255).round().astype(np.uint8)
    pic = Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0))
    return pic.convert("RGB").resize((side, side), Image.Resampling.NEAREST)


def _change(frame: AttackFrame, side: int = PANEL) -> tuple[Image.Image, float]:
    """The change as the window draws it: red brighter, blue darker, white unchanged,
    scaled to +-max(epsilon, the largest change); and the magnification."""
    p = frame.perturbation.detach().cpu().float().mean(0).numpy()
    scale = max(float(np.abs(p).max()), frame.epsilon, 1e-6)
    t = np.clip(p / scale, -1, 1)[..., None]
    white, red, blue = np.ones(3), np.array([0.84, 0.15, 0.16]), np.array([0.12, 0.47, 0.71])
    rgb = np.where(t >= 0, white + t * (red - white), white - t * (blue - white))
    pic = Image.fromarray((rgb * 255).round().astype(np.uint8))
    return pic.resize((side, side), Image.Resampling.NEAREST), 1 / scale


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _centred(draw: ImageDraw.ImageDraw, x: float, y: float, text: str, size: int, fill) -> None:
    font = _font(size)
    width = draw.textlength(text, font=font)
    draw.text((x - width / 2, y), text, font=font, fill=fill)


def draw_frame(frame: AttackFrame, names: Sequence[str], *, per_255: bool = False) -> Image.Image:
    """One picture of the sweep: epsilon and verdict above original | change | attacked."""
    width = 3 * PANEL + 4 * GAP
    out = Image.new("RGB", (width, HEADER + PANEL + FOOTER), PAPER)
    draw = ImageDraw.Draw(out)
    words, won = verdict(frame, names)
    _centred(draw, width / 2, 8, f"FGSM at {eps_words(frame.epsilon, per_255)}", 22, INK)
    _centred(draw, width / 2, 40, words, 26, FOOLED if won else HOLDS)
    change, magnified = _change(frame)
    pictures = (_picture(frame.original), change, _picture(frame.adversarial))
    shown = f"change, magnified x{magnified:.0f}" if frame.epsilon > 0 else "no change"
    titles = ("original", shown, "attacked")
    for i, (pic, title) in enumerate(zip(pictures, titles, strict=True)):
        x = GAP + i * (PANEL + GAP)
        out.paste(pic, (x, HEADER))
        draw.rectangle((x - 1, HEADER - 1, x + PANEL, HEADER + PANEL), outline=(170, 170, 170))
        _centred(draw, x + PANEL / 2, HEADER + PANEL + 5, title, 17, INK)
    return out


def sweep_frames(
    session: AttackSession,
    names: Sequence[str],
    epsilons: Sequence[float],
    *,
    per_255: bool = False,
) -> list[Image.Image]:
    """One picture per epsilon (FGSM), each with its verdict written on it."""
    return [draw_frame(f, names, per_255=per_255) for f in fgsm_frames(session, epsilons)]


def fgsm_frames(session: AttackSession, epsilons: Sequence[float]) -> list[AttackFrame]:
    """``session.frame(e)`` for each epsilon, the model's answers in one batched forward."""
    probs = session.probs_of(torch.tensor(list(epsilons), dtype=torch.float32))
    frames = []
    for eps, p in zip(epsilons, probs, strict=True):
        adv = fgsm_step(session.x, session.direction, float(eps))[0].cpu()
        frames.append(
            AttackFrame(
                epsilon=float(eps),
                attack="fgsm",
                original=session.x[0].cpu(),
                adversarial=adv,
                probs_clean=session.probs_clean,
                probs_adv=p,
                pred_clean=session.pred_clean,
                pred_adv=int(p.argmax()),
                label=session.label,
                target=session.target,
            )
        )
    return frames


def strip(
    session: AttackSession,
    names: Sequence[str],
    epsilons: Sequence[float],
    *,
    per_255: bool = False,
) -> Image.Image:
    """The attacked image at a few epsilons side by side, each with its epsilon and verdict."""
    frames = fgsm_frames(session, epsilons)
    column = PANEL + GAP
    width = GAP + column * len(frames)
    out = Image.new("RGB", (width, 52 + PANEL + 62), PAPER)
    draw = ImageDraw.Draw(out)
    first = frames[0]
    p0 = float(first.probs_clean[first.pred_clean])
    _centred(
        draw, width / 2, 10, f"FGSM on a {names[first.pred_clean]} ({p0:.1%}), growing", 24, INK
    )
    for i, frame in enumerate(frames):
        x = GAP + i * column
        out.paste(_picture(frame.adversarial), (x, 52))
        p1 = float(frame.probs_adv[frame.pred_adv])
        _centred(draw, x + PANEL / 2, 52 + PANEL + 6, eps_words(frame.epsilon, per_255), 18, INK)
        words, won = verdict(frame, names)
        answer = f"{names[frame.pred_adv]} ({p1:.0%}): {words.rsplit(': ', 1)[1]}"
        _centred(draw, x + PANEL / 2, 52 + PANEL + 32, answer, 20, FOOLED if won else HOLDS)
    return out


def video_encoder() -> str | None:
    """The ``ffmpeg`` program for MP4 and WebM, or None where there is none."""
    return shutil.which("ffmpeg")


def save_animation(frames: Sequence[Image.Image], path: Path, *, frame_ms: int = 250) -> Path:
    """``frames`` as an animation whose format is ``path``'s suffix: .gif or .webp
    (Pillow), .mp4 or .webm (ffmpeg, where installed). Written whole to a temporary file
    beside ``path``, then renamed into place."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not frames:
        raise ExportError("there are no frames to save")
    if suffix not in ANIMATIONS and suffix not in VIDEOS:
        known = ", ".join([*ANIMATIONS, *VIDEOS])
        raise ExportError(f"{path.name}: an animation is saved as one of {known}")
    if suffix in VIDEOS and video_encoder() is None:
        raise ExportError(
            f"{suffix[1:].upper()} needs the ffmpeg program, which is not installed here "
            "(apt install ffmpeg): use the animated GIF or WebP instead"
        )
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if suffix in ANIMATIONS:
            frames[0].save(
                tmp,
                ANIMATIONS[suffix],
                save_all=True,
                append_images=list(frames[1:]),
                duration=frame_ms,
                loop=0,
                **({"lossless": True} if suffix == ".webp" else {}),
            )
        else:
            _encode_video(frames, tmp, suffix, frame_ms)
        os.chmod(tmp, PUBLIC)  # mkstemp made it private; a slide's file is for sharing
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _encode_video(frames: Sequence[Image.Image], path: Path, suffix: str, frame_ms: int) -> None:
    codec, pixels = VIDEOS[suffix]
    width, height = frames[0].size
    command = [
        str(video_encoder()),
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-r",
        f"{1000 / frame_ms:g}",
        "-i",
        "-",
        "-vf",
        "pad=ceil(iw/2)*2:ceil(ih/2)*2:color=white",  # yuv420p needs even sides
        "-c:v",
        codec,
        "-pix_fmt",
        pixels,
        str(path),
    ]
    raw = b"".join(frame.convert("RGB").tobytes() for frame in frames)
    done = subprocess.run(command, input=raw, capture_output=True, timeout=300)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise ExportError(f"ffmpeg could not write {path.suffix}: {' '.join(message[-2:])}")


@dataclass(frozen=True)
class Exported:
    """What ``export_all`` wrote, and the formats it could not write (with why)."""

    files: tuple[Path, ...]
    skipped: tuple[str, ...]


def export_all(
    session: AttackSession,
    names: Sequence[str],
    scale: EpsilonScale,
    stem: Path,
    *,
    frame_ms: int = 250,
) -> Exported:
    """``<stem>.gif``, ``<stem>.webp``, ``<stem>.mp4`` (with ffmpeg) and ``<stem>-strip.png``."""
    stem = Path(stem)
    if stem.suffix.lower() in (*ANIMATIONS, *VIDEOS, ".png"):
        stem = stem.with_suffix("")
    frames = sweep_frames(session, names, sweep_epsilons(scale), per_255=scale.per_255)
    files, skipped = [], []
    for suffix in (".gif", ".webp", ".mp4"):
        try:
            files.append(
                save_animation(frames, stem.with_name(stem.name + suffix), frame_ms=frame_ms)
            )
        except ExportError:
            if suffix in VIDEOS and video_encoder() is None:
                skipped.append("MP4 (no ffmpeg here: the WebP and GIF are the animations)")
            else:
                raise
    picture = strip(session, names, strip_epsilons(scale), per_255=scale.per_255)
    target = stem.with_name(stem.name + "-strip.png")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".png", dir=target.parent)
    os.close(fd)
    try:
        picture.save(tmp_name, "PNG")
        os.chmod(tmp_name, PUBLIC)
        os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    files.append(target)
    return Exported(tuple(files), tuple(skipped))
