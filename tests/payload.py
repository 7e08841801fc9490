"""A pickle that runs a shell command when unpickled: proof that loaders never execute files."""

from __future__ import annotations

import os


class Payload:
    """Unpickling this touches the file named by $PAYLOAD_MARKER."""

    def __reduce__(self):
        return (os.system, (f"touch {os.environ['PAYLOAD_MARKER']}",))
