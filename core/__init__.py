"""FGSM Studio's science: images, models, attacks, training, checkpoints.

Everything under ``core`` uses torch, numpy and pillow only. It never imports Qt
or ``gui`` (an import-linter contract in pyproject.toml enforces this), so the
CLI, the tests and the window all share exactly the same code.
"""
