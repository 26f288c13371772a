"""What a path is, for messages that refuse anything but a regular file in a normal folder.

Opening a FIFO for reading waits for a writer (forever), a folder or a device is no config, data
or log file, and files under ``/proc``, ``/sys`` or ``/dev`` belong to the system.
"""
from __future__ import annotations

import stat
from pathlib import Path

SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def non_regular_kind(mode: int) -> str | None:
    """``'a folder'``, ``'a FIFO (named pipe)'``, ... for a ``st_mode`` that is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def system_folder(path: Path) -> Path | None:
    """The system folder (``/proc``, ``/sys``, ``/dev``) ``path`` lies in, after resolving links."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError):  # a loop, a NUL, a name the OS cannot take:
        return None  # not ours to judge here, opening the file will say
    return next((f for f in SYSTEM_FOLDERS if resolved == f or f in resolved.parents), None)


def last_line(path: Path, tail_bytes: int = 4096) -> bytes | None:
    """The last non-blank line of ``path`` (within its last ``tail_bytes``), None for a missing or
    empty file: where an appending download resumes."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with path.open("rb") as fh:
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - tail_bytes))
        lines = [line for line in fh.read().splitlines() if line.strip()]
    return lines[-1] if lines else None
