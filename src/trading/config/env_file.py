"""Read secrets from a ``.env`` file the user keeps out of git (the environment always wins)."""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def load_env_file(path: Path = Path(".env")) -> list[str]:
    """Set ``KEY=VALUE`` lines of ``path`` that the environment does not already define.

    Blank lines, ``#`` comments and an ``export`` prefix are allowed; values may be quoted.
    Returns the names it set (never the values).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.warning("could not read %s: %s", path, exc)
        return []
    loaded = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.isidentifier():
            log.warning("%s line %d is not KEY=VALUE; ignored", path, number)
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key not in os.environ:
            os.environ[key] = value
            loaded.append(key)
    return loaded
