"""Run one numbered bot: ``python src/trading/trading_bot.py 0001.json``.

A documented entry point; the work is done by ``trading.cli.run`` (also ``tradingbot run``).
"""
from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a script: import the package from src/,
    sys.path[0] = str(Path(__file__).resolve().parents[1])  # not from src/trading

from trading.cli.run import main  # noqa: E402  (after the path fix above)

if __name__ == "__main__":
    sys.exit(main())
