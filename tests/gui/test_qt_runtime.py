"""The Qt binding itself must not corrupt the interpreter.

PySide6 6.12.0 returns ``True`` from ``Signal.emit()`` without taking a
reference; on Python < 3.12 (where True is not immortal) each emit drops one
from True's reference count, and a few thousand redraws later the interpreter
aborts ("bool_dealloc"). pyproject.toml excludes that release; this test keeps
any other release with the same fault out.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    plain = Signal()
    number = Signal(int)


def test_signal_emit_keeps_reference_counts(qapp):
    emitter = _Emitter()
    emitter.plain.connect(lambda: None)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(500):
        emitter.plain.emit()
        emitter.number.emit(3)
    after = sys.getrefcount(True), sys.getrefcount(False)
    assert abs(after[0] - before[0]) < 20 and abs(after[1] - before[1]) < 20, (before, after)
