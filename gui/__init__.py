"""FGSM Studio's window: PySide6 widgets and pyqtgraph plots over ``core``."""
