"""What a documented script says when the project's dependencies are not installed.

``python src/trading/trading_bot.py 0001.json`` run by a Python without the project installed
(the system Python, a virtualenv not activated) would end in a raw ``ModuleNotFoundError``; the
scripts catch it around their one heavy import and say how to install instead. Imports nothing
beyond the standard library: it must work exactly when nothing else is installed.
"""
from __future__ import annotations

import os
import sys

from trading.cli.exit_codes import EXIT_INVALID

INSTALL_COMMAND = "python3 -m venv .venv && . .venv/bin/activate && pip install -e ."
OWN_PACKAGES = ("trading", "feeds", "strategies", "brokers", "notify")  # src/: a bug, not a setup


def is_missing_dependency(exc: ModuleNotFoundError) -> bool:
    """True when ``exc`` is about a third-party package (not one of this project's own)."""
    return (exc.name or "").split(".")[0] not in OWN_PACKAGES


def report_missing_dependency(exc: ModuleNotFoundError, script: str) -> int:
    """Print which package is missing and how to install the project; the exit code (1: the
    set-up is unusable, which a restart does not mend)."""
    print(f"{os.path.basename(script)}: the Python package '{exc.name}' is not installed for "
          f"{sys.executable}.\nInstall the project and its dependencies first, from the "
          f"repository's folder:\n\n    {INSTALL_COMMAND}\n\n(then run it again in that shell, "
          "or as .venv/bin/python)", file=sys.stderr)
    return EXIT_INVALID
