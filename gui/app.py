"""Entry point of the desktop app (``fgsm-studio``)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    window = QMainWindow()
    window.setWindowTitle("FGSM Studio")
    window.setCentralWidget(QLabel("FGSM Studio"))
    window.resize(800, 500)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
