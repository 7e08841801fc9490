"""``python -m fgsm_studio``: the window, exactly as the ``fgsm-studio`` command."""

import sys

from fgsm_studio.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
