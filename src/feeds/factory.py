"""Build the bar source a bot's ``data`` config names."""
from __future__ import annotations

from feeds import AVAILABLE_SOURCES
from feeds.binance import BinanceKlineSource
from feeds.file import FileBarSource
from feeds.ibkr import IbkrBarSource
from feeds.live import BarSource
from feeds.yahoo import YahooBarSource
from trading.core.errors import ConfigError
from trading.core.settings import DataConfig
from trading.venues.binance.connection import BinanceVenue
from trading.venues.ibkr.connection import IbkrVenue
from trading.venues.yahoo.connection import YahooVenue


def build_source(data: DataConfig, *, resume_after_ts: float | None,
                 venue: BinanceVenue | YahooVenue | IbkrVenue | None = None) -> BarSource:
    """The ``BarSource`` for ``data``; ``resume_after_ts`` is the last bar traded before a restart.

    ``venue`` is the bot's connection for a venue source (``trading.venues.factory``). Raises
    ConfigError for a source this version cannot run, DataError for an unusable file.
    """
    if data.data_source == "ibkr":
        if not isinstance(venue, IbkrVenue):
            raise ConfigError("data.data_source 'ibkr' needs the bot's TWS / IB Gateway "
                              "connection (trading.venues.factory.build_venue)")
        return IbkrBarSource(venue, data.interval_seconds, data.lookback_bars,
                             data.retry_interval, resume_after_ts=resume_after_ts)
    if data.data_source == "binance":
        if venue is None:
            raise ConfigError("data.data_source 'binance' needs a Binance connection "
                              "(trading.venues.factory.build_venue)")
        return BinanceKlineSource(venue, data.symbol, data.interval, data.lookback_bars,
                                  data.retry_interval, resume_after_ts=resume_after_ts)
    if data.data_source == "yahoo":
        if not isinstance(venue, YahooVenue):
            raise ConfigError("data.data_source 'yahoo' runs with the paper or mock broker (a "
                              "venue broker trades on its own venue's prices): set broker.type "
                              "to paper or mock")
        return YahooBarSource(venue, data.symbol, data.interval, data.lookback_bars,
                              data.retry_interval, poll_delay=data.poll_delay_seconds,
                              resume_after_ts=resume_after_ts)
    if data.data_source == "file":
        if data.file_path is None:
            raise ConfigError("data.file_path: missing; data_source 'file' reads bars from a CSV "
                              "file: set data.file_path to its path")
        return FileBarSource(data.file_path, data.interval_seconds, data.lookback_bars,
                             speed=data.speed, resume_after_ts=resume_after_ts)
    raise ConfigError(f"data.data_source: '{data.data_source}' is not available in this version "
                      f"(available: {', '.join(AVAILABLE_SOURCES)}); use data_source 'file' with "
                      f"data.file_path, or a version that supports '{data.data_source}'")
