"""``python -m fgsm_studio.core.cli`` (and ``torchrun -m fgsm_studio.core.cli``): the CLI."""

import sys

from .main import main

if __name__ == "__main__":
    sys.exit(main())
