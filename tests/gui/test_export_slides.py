"""File > Export for slides (issue 24, 8): the sweep is rendered on the runner's thread,
never the GUI thread, and the banner names the files written and the formats skipped."""

from __future__ import annotations

import threading

from PIL import Image

from fgsm_studio.core.explorer import slides
from fgsm_studio.gui.explorer import share


def test_export_for_slides_writes_the_files_off_the_gui_thread(
    explorer, qtbot, tmp_path, monkeypatch
):
    threads = []
    real = slides.export_all

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(slides, "export_all", spy)
    monkeypatch.setattr(slides, "video_encoder", lambda: None)
    messages = []
    monkeypatch.setattr(explorer, "show_info", messages.append)
    share.export_for_slides(explorer, tmp_path / "talk.gif")
    qtbot.waitUntil(lambda: len(messages) == 2, timeout=60000)
    assert threads and threads[0] is not threading.main_thread()
    assert "talk.gif, talk.webp, talk-strip.png" in messages[1]
    assert "ffmpeg" in messages[1]  # MP4: said why not
    with Image.open(tmp_path / "talk.gif") as gif:
        assert gif.n_frames == len(slides.sweep_epsilons(explorer.state.scale))


def test_a_failed_export_is_one_sentence(explorer, qtbot, tmp_path):
    errors = []
    explorer.error_shown.connect(errors.append)
    share.export_for_slides(explorer, tmp_path / "no-such-folder" / "talk.gif")
    qtbot.waitUntil(lambda: bool(errors), timeout=60000)
    assert errors[0].startswith("Could not export the sweep to talk.gif:")
    assert "Traceback" not in errors[0]
