"""Export for slides (issue 24, 8): the sweep as an animation and a strip, verdicts on them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from fgsm_studio.core.data.images import load_image
from fgsm_studio.core.explorer import slides
from fgsm_studio.core.explorer.opening import DIGITS, PHOTOS
from fgsm_studio.core.explorer.session import AttackSession
from fgsm_studio.core.models.bundled import bundled_models
from fgsm_studio.core.models.checkpoint import load
from fgsm_studio.core.paths import resource_path


@pytest.fixture(scope="module")
def digit():
    entry = next(
        e for e in bundled_models() if e.path.name == "mnist_small_cnn_standard.safetensors"
    )
    net, card = load(entry.path)
    image = load_image(resource_path("samples", "mnist", "mnist_08_5.png"))
    return AttackSession(net, image, label=5), card.class_names


def share_of(image: Image.Image, colour: tuple[int, int, int], box) -> float:
    """The share of pixels in ``box`` within 40 of ``colour`` (text drawn in it)."""
    arr = np.asarray(image.crop(box).convert("RGB")).astype(int)
    near = np.abs(arr - np.array(colour)).sum(-1) < 40
    return float(near.mean())


def test_the_frames_are_the_sessions_fgsm_frames(digit):
    session, _ = digit
    for frame in slides.fgsm_frames(session, [0.0, 0.06, 0.2]):
        direct = session.frame(frame.epsilon)
        assert torch.equal(frame.adversarial, direct.adversarial)
        assert frame.pred_adv == direct.pred_adv
        assert torch.allclose(frame.probs_adv, direct.probs_adv, atol=1e-5)


def test_each_frame_has_its_verdict_written_on_it(digit):
    session, names = digit
    held, fooled = slides.fgsm_frames(session, [0.0, 0.2])
    assert slides.verdict(held, names) == ("5 (97.8%) -> 5 (97.8%): holds", False)
    text, won = slides.verdict(fooled, names)
    assert won and text.startswith("5 (97.8%) -> ") and text.endswith(": fooled")
    band = (0, 36, 3 * slides.PANEL + 4 * slides.GAP, slides.HEADER - 4)  # the verdict line
    for frame, colour, other in (
        (held, slides.HOLDS, slides.FOOLED),
        (fooled, slides.FOOLED, slides.HOLDS),
    ):
        picture = slides.draw_frame(frame, names)
        assert share_of(picture, colour, band) > 0.01  # the verdict's words, in its colour
        assert share_of(picture, other, band) == 0


def test_the_animation_has_a_frame_per_epsilon(digit, tmp_path):
    session, names = digit
    epsilons = slides.sweep_epsilons(DIGITS)
    assert len(epsilons) == 31 and epsilons[0] == 0 and epsilons[-1] == 0.3
    frames = slides.sweep_frames(session, names, epsilons[:6])
    for suffix in (".gif", ".webp"):
        path = slides.save_animation(frames, tmp_path / f"sweep{suffix}")
        with Image.open(path) as saved:
            assert saved.n_frames == 6 and saved.is_animated
            assert saved.size == (
                3 * slides.PANEL + 4 * slides.GAP,
                slides.HEADER + slides.PANEL + slides.FOOTER,
            )
            saved.seek(5)
            last = saved.convert("RGB")
        assert np.asarray(last).std() > 20  # a picture, not a blank
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.gif", "sweep.webp"]  # no temp


def test_the_strip_shows_a_few_epsilons_with_their_verdicts(digit):
    session, names = digit
    picture = slides.strip(session, names, slides.strip_epsilons(DIGITS))
    column = slides.PANEL + slides.GAP
    assert picture.size == (slides.GAP + 5 * column, 52 + slides.PANEL + 62)
    words = (picture.height - 30, picture.height)
    first = (slides.GAP, words[0], slides.GAP + slides.PANEL, words[1])
    last = (slides.GAP + 4 * column, words[0], slides.GAP + 4 * column + slides.PANEL, words[1])
    assert share_of(picture, slides.HOLDS, first) > 0.01  # epsilon 0: holds, in green
    assert share_of(picture, slides.FOOLED, last) > 0.01  # epsilon 0.3: fooled, in red


def test_photos_step_in_255ths():
    assert slides.sweep_epsilons(PHOTOS)[-1] == pytest.approx(16 / 255)
    assert slides.eps_words(2 / 255, True) == "epsilon 2/255"


def test_export_all_writes_what_this_machine_can_and_says_what_not(digit, tmp_path, monkeypatch):
    session, names = digit
    monkeypatch.setattr(slides, "video_encoder", lambda: None)  # a machine without ffmpeg
    done = slides.export_all(session, names, DIGITS, tmp_path / "talk.gif")
    assert [p.name for p in done.files] == ["talk.gif", "talk.webp", "talk-strip.png"]
    assert all(p.stat().st_size > 1000 for p in done.files)
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in done.files)  # not mkstemp's 0600
    assert done.skipped and "ffmpeg" in done.skipped[0]
    with pytest.raises(slides.ExportError, match="ffmpeg"):
        slides.save_animation([Image.new("RGB", (4, 4))], tmp_path / "talk.mp4")
    with pytest.raises(slides.ExportError, match="one of"):
        slides.save_animation([Image.new("RGB", (4, 4))], tmp_path / "talk.avi")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talk-strip.png", "talk.gif", "talk.webp"]


@pytest.mark.skipif(slides.video_encoder() is None, reason="no ffmpeg on this machine")
def test_mp4_where_ffmpeg_is_installed(digit, tmp_path):
    session, names = digit
    frames = slides.sweep_frames(session, names, [0.0, 0.1, 0.2])
    path = slides.save_animation(frames, tmp_path / "sweep.mp4")
    assert path.stat().st_size > 1000
