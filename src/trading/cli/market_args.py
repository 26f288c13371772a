"""What ``download`` and ``feed-test`` share: the ``SOURCE SYMBOL INTERVAL`` arguments, parsing
them into exit codes, and the data settings and key-less venue connection they describe."""
from __future__ import annotations

import argparse
import os
from typing import Any

from trading.cli.common import EXIT_USAGE, command_parser
from trading.config.env_file import load_env_file
from trading.core.settings import INTERVALS, DataConfig
from trading.venues.registry import Venue, VenueRequest, venues

SOURCES = ("binance", "yahoo")  # the venues whose market data these commands know


def market_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = command_parser(prog=prog, description=description)
    parser.add_argument("source", choices=SOURCES, help="where the data comes from")
    parser.add_argument("symbol", help="the symbol as the venue spells it (BTCUSDT, AAPL, BTC-USD)")
    parser.add_argument("interval", choices=INTERVALS, metavar="INTERVAL",
                        help=f"bar size: {' '.join(INTERVALS)}")
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace | int:
    """The parsed arguments (and ``.env`` loaded), or the exit code for --help / a usage error."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) and EXIT_USAGE
    load_env_file()
    return args


def market_data(args: argparse.Namespace, lookback_bars: int = 0
                ) -> tuple[DataConfig, Any, Venue]:
    """The data settings the arguments describe, a public-data connection to their venue (no
    account, no keys) and the venue's declaration."""
    data = DataConfig(data_source=args.source, symbol=args.symbol.upper(), interval=args.interval,
                      lookback_bars=max(0, lookback_bars), retry_interval=30.0, file_path=None,
                      speed=0.0)
    venue = venues().for_data_source(args.source)
    assert venue is not None, f"no venue serves {args.source}"  # argparse's choices say which
    connection = venue.connect(VenueRequest(broker=None, data=data, settings=None,
                                            symbol=data.symbol, env=os.environ))
    return data, connection, venue
