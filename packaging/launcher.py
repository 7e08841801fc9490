"""Entry script of the PyInstaller bundle: the same ``gui.app:main`` as ``fgsm-studio``."""

import sys

from gui.app import main

if __name__ == "__main__":
    sys.exit(main())
