"""Entry script of the bundle's console executable: the same ``fgsm_studio.core.cli.main:main`` as ``fgsm-studio-cli``."""

import sys

from fgsm_studio.core.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
