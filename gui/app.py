"""Entry point of the desktop app (``fgsm-studio``).

    fgsm-studio [--model PATH] [--image PATH] [--epsilon E] [--attack fgsm|bim|pgd]
                [--target CLASS] [--screenshot OUT.png] [--self-test[=full]] [--version]

The window appears and paints before torch is imported (torch is imported on a
thread while the window shows progress; the views are built when it is in); with
``--screenshot`` the app renders its first frame, saves the window to OUT.png and
exits 0. Before Qt starts, the app checks that Qt can open a window here
(``platform_check``: Qt would abort) and which user folders cannot be written (it
then starts anyway and says what will not be saved).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from fgsm_studio import __version__


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="fgsm-studio", description="See adversarial attacks fool a CNN, live."
    )
    ap.add_argument("--model", help="checkpoint to open (default: the bundled MNIST small CNN)")
    ap.add_argument("--image", help="image to attack (default: a sample of the model's dataset)")
    ap.add_argument(
        "--epsilon", type=float, default=None, help="attack strength in pixel units, e.g. 0.1"
    )
    ap.add_argument("--attack", choices=("fgsm", "bim", "pgd"), default=None)
    ap.add_argument("--target", default=None, help="targeted attack: class index or name")
    ap.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        help="render the first frame, save the window, exit",
    )
    ap.add_argument(
        "--self-test",
        nargs="?",
        const="quick",
        choices=("quick", "full"),
        default=None,
        help="check this installation in seconds and exit 0 or 1; --self-test=full checks "
        "every bundled model, the sweep and a training step too",
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return ap.parse_args(argv)


# Not needed for the first attacked frame: imported later (the Train tab, reports, Ray).
NOT_BEFORE_FIRST_FRAME = (
    "matplotlib",
    "scipy",
    "torchattacks",
    "ray",
    "fgsm_studio.gui.train.view",
    "fgsm_studio.core.training.loop",
)


def _timing(event: str) -> None:
    """With FGSM_STUDIO_TIMING=1, print wall-clock marks for the cold-start benchmark
    (at the first frame also which of ``NOT_BEFORE_FIRST_FRAME`` were imported)."""
    if os.environ.get("FGSM_STUDIO_TIMING"):
        print(f"TIMING {event} {time.time():.4f}", file=sys.stderr, flush=True)
        if event == "frame":
            early = [name for name in NOT_BEFORE_FIRST_FRAME if name in sys.modules]
            print(f"IMPORTED_EARLY {','.join(early) or '-'}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    _timing("main")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:
        from .selftest import run_self_test

        return run_self_test(args.self_test)
    from .platform_check import platform_problem

    problem = platform_problem()
    if problem:
        print(f"fgsm-studio: {problem}", file=sys.stderr)
        return 1
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from fgsm_studio.core.paths import unwritable_folders, user_data_dir

    from . import errors
    from .main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    QApplication.setApplicationName("FGSM Studio")
    from PySide6.QtGui import QIcon

    from fgsm_studio.core.paths import resource_path

    QApplication.setWindowIcon(QIcon(str(resource_path("icons", "fgsm-studio.png"))))
    QApplication.setOrganizationName("FGSM Studio")
    log_file = errors.install()
    settings = QSettings(str(user_data_dir() / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, args)
    app.aboutToQuit.connect(window.shutdown)
    if args.screenshot:
        window.screenshot_when_ready(args.screenshot)
    window.loading.on_first_paint = lambda: _timing("first_paint")
    window.show()
    _timing("window_shown")
    unsaved = unwritable_folders()
    if log_file is None and not any("log folder" in problem for problem in unsaved):
        unsaved.append(
            f"The log file {errors.log_path()} cannot be written: the log goes to stderr."
        )
    if unsaved:
        QTimer.singleShot(0, lambda: errors.show_unsaved_warning(unsaved, window))
    QTimer.singleShot(0, window.start_loading)
    if os.environ.get("FGSM_STUDIO_TIMING"):
        window.ready.connect(
            lambda: (
                window.explorer and window.explorer.frame_rendered.connect(lambda: _timing("frame"))
            )
        )
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
