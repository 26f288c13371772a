"""Names a config gives that the system has to take: the bot id a file name becomes, and the
log file's path.

Plain checks that return what is wrong, or None: the validator puts them on their JSON path,
the loader and the log set-up raise them.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from trading.config.schema import BOT_ID_PATTERN, BOT_ID_WORDS, MAX_BOT_ID
from trading.core.files import system_folder
from trading.core.text import excerpt

SHOWN = 60  # characters of a name quoted in a message


def file_bot_id_problem(path: Path) -> str | None:
    """Why ``path``'s stem cannot be the bot id (the rule ``bot_id`` follows), or None."""
    stem = path.stem
    if re.fullmatch(BOT_ID_PATTERN.strip("^$"), stem) and len(stem) <= MAX_BOT_ID:
        return None
    return (f"not set, so the bot id would be the file's name {excerpt(stem, SHOWN)}, which is "
            f"not a valid id ({BOT_ID_WORDS}, at most {MAX_BOT_ID} characters; it goes into "
            "database rows and client order ids): set \"bot_id\" or rename the file, "
            f"e.g. {_suggest_id(stem)}.json")


def _suggest_id(stem: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", stem.encode("ascii", "ignore").decode()).strip("_")
    return (safe or "bot")[:MAX_BOT_ID]


def log_file_problem(log_file: str) -> str | None:
    """Why ``log_file`` cannot be a log file (under /proc, /sys or /dev, or a folder), or None."""
    path = Path(log_file)
    folder = system_folder(path)
    if folder is not None:
        return (f"{excerpt(log_file, SHOWN)} is under {folder}, which belongs to the system; "
                "give a file in a folder of yours, e.g. logs/live/bot.log")
    if log_file.endswith(("/", os.sep)) or _is_dir(path):
        return f"{excerpt(log_file, SHOWN)} is a folder; give the log file's path in it, e.g. logs/live/bot.log"
    return None


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):  # a NUL, a lone surrogate, a name too long: opening will say
        return False
