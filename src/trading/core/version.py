"""The installed project's version (``tradingbot --version``, status files, report provenance)."""
from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

DISTRIBUTION = "tradingbot"


@cache
def version() -> str:
    """The version of the installed ``tradingbot`` distribution (``0+unknown`` when run from a
    source tree that was never installed)."""
    try:
        return _distribution_version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"
