"""Check configs: ``python src/trading/config_validator.py config/trading/0001.json``.

A documented entry point; the work is done by ``trading.cli.validate`` (also ``tradingbot validate``).
"""
from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a script: import the package from src/,
    sys.path[0] = str(Path(__file__).resolve().parents[1])  # not from src/trading

from trading.cli.validate import main  # noqa: E402  (after the path fix above)

if __name__ == "__main__":
    sys.exit(main())
