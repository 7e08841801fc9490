"""FGSM Studio's science: images, models, attacks, training, checkpoints.

Everything under ``core`` uses torch, numpy, pillow (and matplotlib for report figures) only. It never imports Qt
or ``gui`` (an import-linter contract in pyproject.toml enforces this), so the
CLI, the tests and the window all share exactly the same code.
"""
