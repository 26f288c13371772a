"""Replay history: ``python src/trading/replay.py 0001.json [--data FILE]``.

A documented entry point; the work is done by ``trading.cli.replay`` (also ``tradingbot replay``).
"""
from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a script: import the package from src/,
    sys.path[0] = str(Path(__file__).resolve().parents[1])  # not from src/trading

from trading.cli.install_hint import is_missing_dependency, report_missing_dependency  # noqa: E402

try:
    from trading.cli.replay import main  # noqa: E402  (after the path fix above)
except ModuleNotFoundError as exc:  # not installed (outside the virtualenv): say how to install
    if __name__ != "__main__" or not is_missing_dependency(exc):
        raise
    sys.exit(report_missing_dependency(exc, __file__))

if __name__ == "__main__":
    sys.exit(main())
