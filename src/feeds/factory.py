"""Build the ``file`` bar source (a venue's source comes from its declaration in the registry)."""
from __future__ import annotations

from feeds.basket_file import BasketFileSource
from feeds.file import FileBarSource
from feeds.live import BarSource
from trading.core.errors import ConfigError
from trading.core.settings import FILE_SOURCE, DataConfig


def build_source(data: DataConfig, *, resume_after_ts: float | None) -> BarSource:
    """The ``file`` source for ``data``; ``resume_after_ts`` is the last bar traded before a
    restart. Raises ConfigError without a file path, DataError for an unusable file."""
    if data.data_source != FILE_SOURCE:
        raise ConfigError(f"data.data_source: '{data.data_source}' is not a file; a venue's bar "
                          "source is built by its venue (trading.venues.registry)")
    if data.file_path is None:
        raise ConfigError("data.file_path: missing; data_source 'file' reads bars from a CSV "
                          "file: set data.file_path to its path")
    if len(data.symbols) > 1:  # a basket: one file per symbol
        return BasketFileSource([(symbol, data.file_for(symbol)) for symbol in data.symbols],
                                data.interval_seconds, data.lookback_bars, speed=data.speed,
                                resume_after_ts=resume_after_ts)
    return FileBarSource(data.file_path, data.interval_seconds, data.lookback_bars,
                         speed=data.speed, resume_after_ts=resume_after_ts)
