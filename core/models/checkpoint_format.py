"""What kind of checkpoint a file is, decided by parsing it, never by one byte.

``detect_format(path)`` returns ``"safetensors"``, ``"zip"`` (PyTorch's zip
format) or ``"pickle"`` (PyTorch's legacy format), or raises
``CheckpointFormatError`` with a sentence for the user.

A safetensors file is an 8-byte little-endian header length ``n``, then ``n``
bytes of JSON (an object whose tensors each give a dtype, a shape and
``data_offsets`` inside the data that follows), then the data. Its first byte
is the low byte of ``n``, so it is ``0x80`` (pickle's first byte) for one file
in 256 by chance: guessing from it refused 1 in 32 of our own checkpoints
(issue 11, item 2). Here a file is safetensors exactly when that structure
parses; PyTorch's formats are recognised by their full signatures.

Only regular files are opened (a FIFO would block the reader; ``/dev/zero``
never ends), non-blocking, and the header is read with its size bounded: at
most ``MAX_HEADER_BYTES`` and ``MAX_TENSORS`` entries. A zip whose members
expand far beyond the file (a zip bomb) is refused from its directory.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from typing import Literal

from ..data.image_files import display_name

# A real header: ~150 bytes per tensor (DenseNet121 has ~1,000) and a card whose class
# names may run to a few MB. Safetensors' own limit is 100 MB; a 67 MB header of
# 1,000,000 empty tensors took 4 minutes to open (issue 20, 1).
MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_TENSORS = 10_000
MAX_ZIP_BYTES = 2 * 1024**3  # core.models.checkpoint's MAX_CHECKPOINT_BYTES
Format = Literal["safetensors", "zip", "pickle"]


class CheckpointFormatError(ValueError):
    """The file is not a checkpoint FGSM Studio can read; the message says why."""


def detect_format(path: str | os.PathLike) -> Format:
    """The checkpoint format of ``path`` (see the module doc)."""
    name = display_name(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise CheckpointFormatError(f"{name} does not exist or is not a file.") from None
    except OSError as exc:
        raise CheckpointFormatError(f"{name} could not be opened: {exc.strerror or exc}.") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointFormatError(f"{name} does not exist or is not a file.")
        size = info.st_size
        head = f.read(8)
        if len(head) == 8 and _is_safetensors(f, head, size, name):
            return "safetensors"
    if head[:4] == b"PK\x03\x04" and zipfile.is_zipfile(path):
        _check_zip(path, size, name)
        return "zip"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"  # PROTO opcode and a protocol number: torch.save's legacy format
    raise CheckpointFormatError(
        f"{name} is not a checkpoint FGSM Studio can read: it is neither a safetensors "
        f"file nor a PyTorch .pt/.pth file ({size} bytes)."
    )


def _is_safetensors(f, head: bytes, size: int, name: str) -> bool:
    """True when the header parses; ``CheckpointFormatError`` when it parses but lies."""
    n = int.from_bytes(head, "little")
    if 2 <= n <= MAX_HEADER_BYTES and n > size - 8 and f.read(1) == b"{":
        raise CheckpointFormatError(
            f"{name} is truncated: its header says more than the file holds ({size} bytes)."
        )
    if MAX_HEADER_BYTES < n <= size - 8 and f.read(1) == b"{":
        raise CheckpointFormatError(
            f"{name} is too large to open: its safetensors header is {n / 2**20:.0f} MB, and "
            f"FGSM Studio reads headers of up to {MAX_HEADER_BYTES // 2**20} MB (a model's "
            "is well under 1 MB)."
        )
    if not 2 <= n <= min(MAX_HEADER_BYTES, size - 8):
        return False
    f.seek(8)
    raw = f.read(n)
    if raw[:1] != b"{":
        return False
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    except RecursionError:
        raise CheckpointFormatError(f"{name} has a header nested too deeply to read.") from None
    if not isinstance(header, dict):
        return False
    if len(header) > MAX_TENSORS + 1:  # + __metadata__
        raise CheckpointFormatError(
            f"{name} lists {len(header) - 1:,} tensors; FGSM Studio opens checkpoints of up "
            f"to {MAX_TENSORS:,} (its largest network has about 1,000)."
        )
    data_bytes = size - 8 - n
    for key, entry in header.items():
        if key == "__metadata__":
            if entry is not None and not (
                isinstance(entry, dict) and all(isinstance(v, str) for v in entry.values())
            ):
                raise CheckpointFormatError(f"{name} has metadata that is not text.")
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in offsets)
            or not isinstance(entry.get("dtype"), str)
            or not isinstance(entry.get("shape"), list)
        ):
            raise CheckpointFormatError(
                f"{name} is a damaged safetensors file: the entry for {str(key)[:60]!r} "
                "lacks a dtype, shape or data offsets."
            )
        if not 0 <= offsets[0] <= offsets[1] <= data_bytes:
            raise CheckpointFormatError(
                f"{name} is truncated or damaged: the data of {str(key)[:60]!r} lies "
                "outside the file."
            )
    return True


def _check_zip(path: str | os.PathLike, size: int, name: str) -> None:
    """Refuse a zip whose members expand far beyond the file (a zip bomb), before reading.

    PyTorch stores a checkpoint's members uncompressed; a 300 KB file whose one
    member inflates to 300 MB took 10 s and 830 MB before torch called it damaged.
    """
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointFormatError(f"{name} is a damaged zip file ({exc}).") from None
    total = sum(m.file_size for m in members)
    if len(members) > 100_000 or total > min(MAX_ZIP_BYTES, 4 * size + 2**20):
        raise CheckpointFormatError(
            f"{name} is too large to open: its {len(members)} member(s) expand "
            f"to {total / 2**20:.0f} MB from a {size / 2**20:.1f} MB file (a PyTorch "
            "checkpoint stores its weights uncompressed)."
        )


def json_depth(obj: object, limit: int) -> int:
    """How deeply parsed JSON nests lists and objects, walked without recursion; the walk
    stops once past ``limit``."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > limit:
                break
            values = item.values() if isinstance(item, dict) else item
            stack.extend((v, level + 1) for v in values)
    return deepest
