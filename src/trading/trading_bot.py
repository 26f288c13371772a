"""Run one numbered bot: ``python src/trading/trading_bot.py 0001.json``.

A documented entry point; the work is done by ``trading.cli.run`` (also ``tradingbot run``).
SIGINT/SIGTERM are taken before the heavy imports, so a Ctrl+C during start-up stops cleanly.
"""
from __future__ import annotations

import os
import sys

if __name__ == "__main__" and not __package__:  # run as a script: import the package from src/,
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # not src/trading

from trading.cli.install_hint import is_missing_dependency, report_missing_dependency  # noqa: E402
from trading.cli.stop_signals import install_stop_signals  # noqa: E402  (after the path fix)

if __name__ == "__main__":
    install_stop_signals()

try:
    from trading.cli.run import main  # noqa: E402  (after the handlers: its imports take a second)
except ModuleNotFoundError as exc:  # not installed (outside the virtualenv): say how to install
    if __name__ != "__main__" or not is_missing_dependency(exc):
        raise
    sys.exit(report_missing_dependency(exc, __file__))

if __name__ == "__main__":
    sys.exit(main())
