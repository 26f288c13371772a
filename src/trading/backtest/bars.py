"""The bars of a research run, each file read once however many configs replay it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feeds.csv_bars import BarArrays
from trading.backtest.provenance import BasketProvenance, Provenance, describe_data, file_sha256
from trading.backtest.replay import basket_paths, load_replay_bars, replay_data_path
from trading.config.models import BotConfig
from trading.core.settings import symbol_file


@dataclass(frozen=True)
class ReplayData:
    """Bars at a config's interval, and where they came from. A basket's: ``bars`` are its first
    symbol's, ``basket`` every symbol's, and ``provenance`` a BasketProvenance (every file)."""

    bars: BarArrays
    provenance: Provenance
    basket: dict[str, BarArrays] | None = None


class BarLoader:
    """Loads the bars each config replays: ``data`` (default: the config's own file), limited to
    ``start``..``end``; the same file at the same interval is read and hashed only once.
    ``{symbol}`` in the path stands for each symbol's name (a one-symbol config's too, as the
    ``file`` source reads it), so one ``--data`` serves a basket and one-symbol configs alike."""

    def __init__(self, data: Path | None = None, start: datetime | None = None,
                 end: datetime | None = None) -> None:
        self.data, self.start, self.end = data, start, end
        self._loaded: dict[tuple[Path, int], ReplayData] = {}
        self._hashes: dict[Path, str] = {}

    def load(self, config: BotConfig) -> ReplayData:
        """The bars ``config`` replays. Raises ConfigError (no file) or DataError (bad file)."""
        if config.trading.is_basket:
            basket = {symbol: self._load_file(config, path)
                      for symbol, path in basket_paths(config, self.data).items()}
            first = basket[config.trading.symbols[0]]
            return ReplayData(first.bars,
                              BasketProvenance({s: d.provenance for s, d in basket.items()}),
                              {symbol: data.bars for symbol, data in basket.items()})
        path = symbol_file(replay_data_path(config, self.data), config.trading.symbol)
        return self._load_file(config, path)

    def _load_file(self, config: BotConfig, path: Path) -> ReplayData:
        key = (path.resolve(), config.data.interval_seconds)
        if key not in self._loaded:
            bars = load_replay_bars(config, path, self.start, self.end)
            digest = self._hashes.get(key[0]) or file_sha256(path)
            self._hashes[key[0]] = digest
            self._loaded[key] = ReplayData(bars, describe_data(path, bars, self.start, self.end, digest))
        return self._loaded[key]
