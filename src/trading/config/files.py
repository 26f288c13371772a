"""Find and read numbered config files: ``0001``, ``0001.json`` or any path."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from trading.core.errors import UnreadableConfig

CONFIG_DIR = Path("config") / "trading"


def resolve_config_path(name_or_path: str | Path, config_dir: Path | None = None) -> Path:
    """Turn what the user typed into a config file path.

    ``0001`` and ``0001.json`` mean ``config/trading/0001.json`` (relative to the current
    directory), and so does ``1``; anything that exists as given is used as is.
    """
    text = str(name_or_path)
    given = Path(text)
    if given.exists():
        return given
    folder = config_dir or CONFIG_DIR
    number = re.fullmatch(r"(\d+)(\.json)?", text)
    if number:
        exact = folder / f"{number.group(1)}.json"
        padded = folder / f"{int(number.group(1)):04d}.json"  # '1' finds 0001.json
        return exact if exact.exists() or not padded.exists() else padded
    if given.parent == Path(".") and given.suffix == ".json":
        return folder / given.name
    return given


def read_config_file(path: Path) -> Any:
    """Parse a config file, turning I/O and JSON errors into a ConfigError that names the spot."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UnreadableConfig(f"{path}: no such config file (looked for {path.resolve()})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableConfig(f"{path}: cannot read the file: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableConfig(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
