"""Reading the files an admin names (configuration, mapping, register lists) without trusting what they are.

A path may name a device (``/dev/zero``), a pipe or a directory, or a file far larger than such a file can be:
each is refused with a message that names the path and the problem, before anything is read into memory.
"""

from __future__ import annotations

import stat
from pathlib import Path

__all__ = ["CONFIG_FILE_LIMIT", "FileRefusedError", "check_regular_file", "read_text_capped"]

CONFIG_FILE_LIMIT = 1024 * 1024
"""Configuration and mapping files: a real one is a few kilobytes."""


class FileRefusedError(ValueError):
    """The path is not a regular file, or it is larger than a file of its kind can be."""


def check_regular_file(path: Path, *, limit_bytes: int, what: str) -> None:
    """Refuse anything but a regular file of at most ``limit_bytes``; OSError when it cannot be examined."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise FileRefusedError(f"the {what} {path} is not a regular file")
    if info.st_size > limit_bytes:
        raise FileRefusedError(f"the {what} {path} is larger than {limit_bytes:,} bytes")


def read_text_capped(path: Path, *, limit_bytes: int = CONFIG_FILE_LIMIT, what: str = "file") -> str:
    """The UTF-8 text of a small regular file (checked before reading, and the read itself is capped)."""
    check_regular_file(path, limit_bytes=limit_bytes, what=what)
    with path.open("rb") as handle:
        data = handle.read(limit_bytes + 1)
    if len(data) > limit_bytes:
        raise FileRefusedError(f"the {what} {path} is larger than {limit_bytes:,} bytes")
    return data.decode("utf-8")
