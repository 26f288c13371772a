"""Where a run writes: a fresh folder per run, so one run never overwrites another.

``replays/<bot_id>/<UTC time>/`` by default (``-2``, ``-3`` ... when two runs start in the same
second); a folder the user names with ``--out`` is used only if it holds no earlier report.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from trading.core.errors import TradingBotError
from trading.core.timeutil import utcnow

REPLAY_ROOT = Path("replays")
MARKERS = ("metrics.json", "results.csv")  # a folder holding one of these holds a report


class OutputExists(TradingBotError):
    """The chosen output folder already holds a report."""


def fresh_dir(root: Path, name: str, now: datetime | None = None) -> Path:
    """Create and return ``root/name/<UTC time>/`` (with a suffix if that exists already)."""
    stamp = (now or utcnow()).strftime("%Y%m%dT%H%M%SZ")
    parent = root / name
    parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 10_000):
        candidate = parent / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            candidate.mkdir()  # atomic: two runs never get the same folder
        except FileExistsError:
            continue
        return candidate
    raise OutputExists(f"{parent}: too many runs started at {stamp}")


def claim_dir(path: Path) -> Path:
    """Create ``path`` for a new report; refuse one that already holds a report."""
    found = [name for name in MARKERS if (path / name).exists()]
    if found:
        raise OutputExists(f"{path} already holds a report ({found[0]}); a run never overwrites "
                           f"another: choose another --out, or leave --out off for a fresh folder")
    path.mkdir(parents=True, exist_ok=True)
    return path
