"""Names from files and folders, made safe to display: no bidirectional controls.

A class folder or model card named ``photo\u202egnp.exe`` reads "photoexe.png" once
a renderer honours U+202E RIGHT-TO-LEFT OVERRIDE. ``strip_bidi`` removes every
bidirectional embedding, override, isolate and mark (U+202A-202E, U+2066-2069,
U+200E/200F, U+061C), so a name always reads in the order it is stored. Card
names, class names and file names in messages all pass through it.
"""

from __future__ import annotations

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_TABLE = dict.fromkeys(map(ord, BIDI_CONTROLS))


def strip_bidi(text: str) -> str:
    """``text`` without bidirectional control characters."""
    return text.translate(_TABLE)
