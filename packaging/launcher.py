"""Entry script of the PyInstaller bundle: the same ``fgsm_studio.gui.app:main`` as ``fgsm-studio``."""

import sys

from fgsm_studio.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
