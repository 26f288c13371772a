"""Several configs replayed side by side: one traded span for all, and the data's symbol checked.

A comparison is only fair when every config trades the same stretch of market: otherwise a config
with a longer warm-up starts later, and "Market (buy & hold)" and the returns are taken over
different periods. ``common_spans`` warms each config up on at least its own warm-up bars and
starts them all at the latest of their first tradable bars (and ends them at the earliest last
bar, for configs of different intervals), so each one's market figure is the same number.

A basket takes part like any config: each of its symbols warms up on at least the config's
warm-up and the span is the one every symbol of every config can trade; a basket's symbols are
cut at those times (the same warm-up for each, so each trades from its first bar in the span).
A basket compared with one symbol thus trades the same stretch of time, but its market figure is
its own (equal parts of its symbols), not the one symbol's.

``file_symbol`` reads a symbol from a data file's name as ``tradingbot download`` and Binance's
dumps write it (``ETHBTC-5m.csv``, ``BTCUSDT-1h-2024-01.csv``, ``BTC-USD-1d.csv``); the CSV
formats the replay reads carry no symbol in their content.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from feeds.csv_bars import BarArrays
from trading.backtest.replay import check_warmup, config_label
from trading.backtest.spans import Span
from trading.config.models import BotConfig
from trading.core.errors import DataError
from trading.core.settings import INTERVALS
from trading.core.timeutil import iso_z

log = logging.getLogger(__name__)

# bar sizes that appear in data file names: ours, and Binance's and Yahoo's others
_NAME_INTERVALS = sorted(set(INTERVALS) | {"1s", "8h", "3d", "1M", "1mo", "1wk", "5d", "90m"},
                         key=len, reverse=True)
# a symbol is written in capitals (download upper-cases it): "prices-5m.csv" names none
_NAME = re.compile(r"^(?P<symbol>[A-Z0-9][A-Z0-9.^=/_-]*?)[-_](?:" + "|".join(map(re.escape, _NAME_INTERVALS))
                   + r")(?:[-_.].*)?$")


def file_symbol(path: str | Path) -> str | None:
    """The symbol a data file's name gives (``ETHBTC`` for ``ETHBTC-5m.csv``), or None."""
    match = _NAME.match(Path(path).name)
    return match.group("symbol") if match else None


def _plain(symbol: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", symbol.upper())


def symbol_mismatch(config: BotConfig, path: str | Path, symbol: str | None = None) -> str | None:
    """A warning when ``config`` trades another symbol than the data file's name says (for a
    basket, ``symbol``'s file), else None."""
    named = file_symbol(path)
    symbol = symbol or config.trading.symbol
    if named is None or _plain(named) == _plain(symbol):
        return None
    return (f"{config_label(config)} trades {symbol}, but the data file {Path(path).name} holds "
            f"{named} by its name: its figures are {symbol}'s rules on {named}'s prices")


def warn_symbol_mismatch(config: BotConfig, path: str | Path, symbol: str | None = None) -> str | None:
    """Log ``symbol_mismatch`` as a warning; return it."""
    message = symbol_mismatch(config, path, symbol)
    if message:
        log.warning("%s", message)
    return message


def _ends(bars: BarArrays) -> np.ndarray:
    return np.asarray(bars.ts, dtype=np.float64) + bars.interval_seconds


def common_spans(configs: Sequence[BotConfig], bars: Sequence[BarArrays],
                 warmup: int | None = None,
                 baskets: Sequence[Mapping[str, BarArrays] | None] | None = None) -> list[Span]:
    """For each config, its bars cut to the span every config can trade, and its warm-up.

    Each config warms up on at least ``warmup`` (else its ``data.lookback_bars``) bars; all trade
    from the latest first tradable bar to the earliest last bar. ``baskets[i]`` is config i's
    bars of every symbol when it trades a basket (None for one symbol): every symbol counts,
    and all of them are cut. Raises DataError naming the config (and symbol) whose warm-up
    leaves nothing, or when the configs share no bar to trade.
    """
    baskets = list(baskets) if baskets is not None else [None] * len(configs)
    # every series that must trade in the span: a one-symbol config's bars, each basket symbol's
    series: list[tuple[int, str | None, BarArrays]] = []
    own: list[int] = []
    for i, (config, one, basket) in enumerate(zip(configs, bars, baskets)):
        for symbol, b in (basket.items() if basket is not None else [(None, one)]):
            series.append((i, symbol, b))
            own.append(check_warmup(config, b, warmup, symbol=symbol))
    every = [b for _, _, b in series]
    start = max(float(b.ts[w]) for b, w in zip(every, own))
    end = min(float(_ends(b)[-1]) for b in every)
    for _ in range(4):  # bars of different sizes may not start at the same times: settle on shared edges
        firsts = [int(np.searchsorted(b.ts, start, side="left")) for b in every]
        lasts = [int(np.searchsorted(_ends(b), end, side="right")) for b in every]
        if any(f >= n for f, n in zip(firsts, lasts)):
            break
        new_start = max(float(b.ts[f]) for b, f in zip(every, firsts))
        new_end = min(float(_ends(b)[n - 1]) for b, n in zip(every, lasts))
        if (new_start, new_end) == (start, end):
            return _cut(configs, series, firsts, lasts)
        start, end = new_start, new_end
    names = ", ".join(c.bot_id for c in configs)
    raise DataError(f"{names} share no bar to trade on after their warm-ups (from {iso_z(start)} "
                    f"to {iso_z(end)}): compare them on a longer file or with fewer warm-up bars "
                    f"(--warmup N)")


def _cut(configs: Sequence[BotConfig], series: list[tuple[int, str | None, BarArrays]],
         firsts: list[int], lasts: list[int]) -> list[Span]:
    """Each config's Span: a one-symbol config's bars up to its last, warmed up on every bar
    before the span; a basket's symbols each led by the same number of bars (the fewest any of
    them has before the span), so all of them start trading at the span's start."""
    spans = []
    for i in range(len(configs)):
        mine = [(symbol, b, f, n) for (j, symbol, b), f, n in zip(series, firsts, lasts) if j == i]
        if mine[0][0] is None:
            _, b, f, n = mine[0]
            spans.append(Span(b.slice(0, n), f))
            continue
        lead = min(f for _, _, f, _ in mine)
        cut = {symbol: b.slice(f - lead, n) for symbol, b, f, n in mine}
        spans.append(Span(next(iter(cut.values())), lead, cut))
    return spans
