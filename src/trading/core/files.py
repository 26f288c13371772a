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
