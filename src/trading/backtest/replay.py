"""Replay history through a config's strategy, in the same Cerebro engine as the live bot.

``load_replay_bars`` reads the CSV (the config's ``data.file_path`` unless another file is given)
and resamples it to the config's interval exactly as the ``file`` source does; ``run_replay``
warms the indicators up on ``data.lookback_bars`` bars (as ``tradingbot run`` does) and trades
the rest. Fills follow the paper broker's model: market orders at the next bar's open,
commission per side (``broker.commission``) and ``broker.slippage_pct`` against the trader. So a
replay and a paper bot on the same file give the same trades.
"""
from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from brokers.paper import PaperBroker
from feeds.array_feed import ArrayFeed
from feeds.csv_bars import BarArrays, load_bars
from feeds.resample import resample_bars
from trading.backtest.currency import quote_currency
from trading.backtest.metrics import EquitySeries, PriceSpan, compute_metrics
from trading.config.models import BotConfig
from trading.core.settings import SYMBOL_PLACEHOLDER, symbol_file
from trading.core.errors import ConfigError, DataError
from trading.core.events import TradeClosed, TradeOpened
from trading.core.protocols import NullListener
from trading.core.timeutil import iso_z, utc_datetime
from trading.core.types import Bar, OpenTrade
from trading.risk import RiskManager
from trading.runtime.assembly import strategy_setup
from trading.runtime.cerebro import build_cerebro


OPEN = "open"  # the exit reason of a position still open when the bars end


@dataclass(frozen=True)
class KillSwitchTrip:
    """When the drawdown kill switch tripped during a replay, and why."""

    time: str  # the bar's open time, ISO 8601 UTC
    reason: str
    drawdown_pct: float


class ReplayRecorder(NullListener):
    """The replay's StrategyListener: per-bar equity, the closed trades and what risk refused.

    ``on_bar`` runs every bar, so it writes two preallocated array cells and compares one counter;
    warm-up bars are not recorded. ``on_progress(bars_seen)`` runs every ``progress_every`` bars.
    ``refusals`` counts refused entries by rule; ``kill_switch`` is set when the switch trips
    (``on_kill_switch`` is the risk manager's callback).
    """

    def __init__(self, capacity: int, on_progress: Callable[[int], None] | None = None,
                 progress_every: int = 1) -> None:
        self._ts = np.empty(capacity, dtype=np.float64)
        self._values = np.empty(capacity, dtype=np.float64)
        self._n = 0
        self._seen = 0
        self._on_progress = on_progress
        self._every = max(1, progress_every)
        self._next_progress = self._every if on_progress else -1
        self.trades: list[TradeClosed] = []
        self.refusals: dict[str, int] = {}
        self.kill_switch: KillSwitchTrip | None = None
        self.open_trades: dict[str, OpenTrade] = {}  # the positions held now, by symbol

    def on_bar(self, bar: Bar, value: float, cash: float, warmup: bool) -> None:
        self._seen += 1
        if self._seen == self._next_progress:
            self._next_progress += self._every
            self._on_progress(self._seen)  # type: ignore[misc]
        if warmup:
            return
        n = self._n
        self._ts[n] = bar.ts
        self._values[n] = value
        self._n = n + 1

    def on_trade_opened(self, event: TradeOpened, trade: OpenTrade) -> None:
        self.open_trades[trade.symbol] = trade

    def on_trade_closed(self, event: TradeClosed) -> None:
        self.trades.append(event)
        self.open_trades.pop(event.symbol, None)

    @property
    def open_trade(self) -> OpenTrade | None:
        """The position held now (a basket's first)."""
        return next(iter(self.open_trades.values()), None)

    def on_entry_refused(self, bar: Bar, rule: str, message: str) -> None:
        self.refusals[rule] = self.refusals.get(rule, 0) + 1

    def on_kill_switch(self, reason: str, drawdown: float) -> None:
        # the risk manager trips on a traded bar, after on_bar recorded it
        when = iso_z(float(self._ts[self._n - 1])) if self._n else ""
        self.kill_switch = KillSwitchTrip(when, reason, round(drawdown, 4))

    @property
    def equity(self) -> EquitySeries:
        return EquitySeries(self._ts[:self._n], self._values[:self._n])


@dataclass(frozen=True)
class ReplayResult:
    """What one replay produced. ``data`` is every bar it was given (warm-up included)."""

    trades: list[TradeClosed]
    equity: EquitySeries
    metrics: dict[str, Any]
    bars: int
    warmup_bars: int
    seconds: float  # wall time of the Cerebro run
    data: BarArrays
    refusals: dict[str, int]
    kill_switch: KillSwitchTrip | None
    open_trade: TradeClosed | None = None  # still open at the end, marked to market (exit_reason "open")
    # a basket's: every symbol's bars (the first symbol's are ``data``) and every position
    # still open at the end (``open_trade`` is the first of them)
    basket: Mapping[str, BarArrays] | None = None
    open_trades: tuple[TradeClosed, ...] = ()
    # a basket's warm-up bars of each symbol (``warmup_bars`` counts time steps there)
    warmups: Mapping[str, int] | None = None

    @property
    def trade_rows(self) -> list[TradeClosed]:
        """The trade table: every closed trade, then the positions still open (marked to
        market)."""
        if self.open_trades:
            return self.trades + list(self.open_trades)
        return self.trades + ([self.open_trade] if self.open_trade else [])

    @property
    def traded(self) -> BarArrays:
        """The bars after the warm-up: the ones the strategy could trade on (a basket's first
        symbol's)."""
        warmup = next(iter(self.warmups.values())) if self.warmups else self.warmup_bars
        return self.data.slice(warmup, len(self.data))


def replay_data_path(config: BotConfig, data: Path | None = None) -> Path:
    """The CSV a replay of ``config`` reads: ``data``, else the config's ``data.file_path``.

    Raises ConfigError when there is neither.
    """
    path = data or config.data.file_path
    if path is None:
        where = config.source or "the config"
        raise ConfigError(f"no data file: pass --data PATH or set data.file_path in {where}")
    return Path(path)


def load_replay_bars(config: BotConfig, data: Path | None = None, start: datetime | None = None,
                     end: datetime | None = None) -> BarArrays:
    """The bars a replay of ``config`` runs on, at the config's interval.

    ``data`` defaults to the config's ``data.file_path``. Raises ConfigError when there is no file
    to read, DataError for an unusable one (naming the file and line).
    """
    path = replay_data_path(config, data)
    return resample_bars(load_bars(path, start, end), config.data.interval_seconds, source=str(path))


def basket_paths(config: BotConfig, data: Path | None = None) -> dict[str, Path]:
    """Each symbol's CSV for a basket's replay: ``data`` (default ``data.file_path``) with
    ``{symbol}`` filled in. Raises ConfigError when ``data`` has no ``{symbol}``."""
    template = replay_data_path(config, data)
    if SYMBOL_PLACEHOLDER not in str(template):
        raise ConfigError(f"{config_label(config)} trades a basket of "
                          f"{len(config.trading.symbols)} symbols: --data needs {SYMBOL_PLACEHOLDER} "
                          f"where each symbol's name goes (e.g. data/{SYMBOL_PLACEHOLDER}-5m.csv), "
                          f"got {template}")
    return {symbol: symbol_file(template, symbol) for symbol in config.trading.symbols}


def load_basket_bars(config: BotConfig, data: Path | None = None, start: datetime | None = None,
                     end: datetime | None = None) -> dict[str, BarArrays]:
    """Every symbol's bars for a basket's replay, at the config's interval (see ``basket_paths``);
    a missing or unusable file is a DataError that names the symbol."""
    bars = {}
    for symbol, path in basket_paths(config, data).items():
        try:
            bars[symbol] = resample_bars(load_bars(path, start, end),
                                         config.data.interval_seconds, source=str(path))
        except DataError as exc:
            raise DataError(f"{symbol}: {exc}") from exc
    return bars


def config_label(config: BotConfig) -> str:
    """How messages name a config: its bot id, and its file when it has one."""
    return f"{config.bot_id} ({config.source})" if config.source else config.bot_id


def check_warmup(config: BotConfig, bars: BarArrays, warmup_bars: int | None = None,
                 symbol: str | None = None) -> int:
    """The warm-up bars a replay of ``config`` on ``bars`` uses (``warmup_bars``, else
    ``data.lookback_bars``); raises DataError naming the config (and a basket's ``symbol``)
    when it leaves no bar to trade."""
    warmup = config.data.lookback_bars if warmup_bars is None else warmup_bars
    if warmup >= len(bars):
        origin = "data.lookback_bars" if warmup_bars is None else "--warmup"
        most = f", at most {len(bars) - 1} here" if len(bars) > 1 else ""
        whose = f" of {symbol}" if symbol else ""
        raise DataError(f"{config_label(config)}: {origin} {warmup} leaves none of the {len(bars)} "
                        f"bars{whose} at {config.data.interval} to trade on; use fewer warm-up bars "
                        f"(--warmup N{most}) or more data")
    return warmup


def mark_to_market(trade: OpenTrade, bars: BarArrays) -> TradeClosed:
    """The position still open after the last bar, valued at that bar's close as if sold there
    without fees: its pnl is what the final equity counts for it. ``exit_reason`` is "open"."""
    close = float(bars.close[-1])
    pnl = (close - trade.entry_price) * trade.size - trade.entry_fee
    cost = trade.entry_price * trade.size
    return TradeClosed(entry_time=trade.entry_time, exit_time=utc_datetime(float(bars.ts[-1])),
                       symbol=trade.symbol, side="long", size=trade.size,
                       entry_price=trade.entry_price, exit_price=close, pnl=pnl,
                       pnl_pct=pnl / cost * 100 if cost else 0.0, fees=trade.entry_fee,
                       exit_reason=OPEN, bars_held=trade.bars_held, entry_mixin=trade.entry_reason)


def paper_fills(config: BotConfig) -> PaperBroker:
    """A fresh broker with the paper broker's fill model and the config's balance and costs."""
    return PaperBroker(cash=config.broker.initial_balance, commission=config.broker.commission,
                       slippage_pct=config.broker.slippage_pct)


def run_replay(config: BotConfig, bars: BarArrays, warmup_bars: int | None = None,
               on_progress: Callable[[int], None] | None = None,
               basket: Mapping[str, BarArrays] | None = None) -> ReplayResult:
    """Run the config's strategy over ``bars`` and compute the metrics (no files written).

    ``warmup_bars`` (default ``data.lookback_bars``, as the live bot warms up) feed only the
    indicators. ``on_progress(bars_seen)`` is called about a hundred times during the run. A
    basket's replay takes every symbol's bars in ``basket`` (``bars``: its first symbol's); each
    symbol warms up on its own first bars, and the steps are the times any symbol has a bar.
    """
    if config.trading.is_basket:
        if basket is None:
            raise ConfigError(f"{config_label(config)} trades a basket: its replay needs the bars "
                              "of every symbol")
        return _run_basket(config, basket, warmup_bars, on_progress)
    warmup = check_warmup(config, bars, warmup_bars)
    recorder = ReplayRecorder(len(bars), on_progress, progress_every=max(1, len(bars) // 100))
    risk = RiskManager(config.risk, config.trading, on_kill_switch=recorder.on_kill_switch)
    cerebro = build_cerebro(feed=ArrayFeed(bars=bars, warmup_bars=warmup),
                            broker=paper_fills(config), setup=strategy_setup(config, risk=risk),
                            listener=recorder, symbol=config.trading.symbol)
    seconds = timed_run(cerebro)
    equity = recorder.equity
    prices = PriceSpan(float(bars.open[warmup]), float(bars.close[-1]))
    still_open = mark_to_market(recorder.open_trade, bars) if recorder.open_trade else None
    metrics = compute_metrics(recorder.trades, equity, config.broker.initial_balance,
                              interval_seconds=bars.interval_seconds, prices=prices,
                              open_trade=still_open, quote_currency=quote_currency(config))
    return ReplayResult(recorder.trades, equity, metrics, len(bars), warmup, seconds, bars,
                        dict(recorder.refusals), recorder.kill_switch, still_open)


def timed_run(cerebro: Any) -> float:
    """Run ``cerebro``; the wall time of the run, in seconds."""
    started = time.perf_counter()
    collecting = gc.isenabled()
    gc.disable()  # per bar the run makes short-lived, cycle-free objects (a 200k-bar run leaves a
    try:          # few hundred cycles); the collector's passes over its buffers cost ~5% for nothing
        cerebro.run()
    finally:
        if collecting:
            gc.enable()
    return time.perf_counter() - started


def _run_basket(config: BotConfig, basket: Mapping[str, BarArrays], warmup_bars: int | None,
                on_progress: Callable[[int], None] | None) -> ReplayResult:
    symbols = config.trading.symbols
    missing = [s for s in symbols if s not in basket]
    if missing:
        raise ConfigError(f"{config_label(config)}: no bars for {', '.join(missing)}")
    warmups = {s: check_warmup(config, basket[s], warmup_bars, symbol=s) for s in symbols}
    steps = np.unique(np.concatenate([basket[s].ts for s in symbols]))
    recorder = ReplayRecorder(len(steps), on_progress, progress_every=max(1, len(steps) // 100))
    risk = RiskManager(config.risk, config.trading, on_kill_switch=recorder.on_kill_switch)
    feeds = [ArrayFeed(bars=basket[s], warmup_bars=warmups[s]) for s in symbols]
    cerebro = build_cerebro(feed=feeds[0], broker=paper_fills(config),
                            setup=strategy_setup(config, risk=risk), listener=recorder,
                            symbol=symbols[0], further_feeds=list(zip(symbols[1:], feeds[1:])))
    seconds = timed_run(cerebro)
    equity = recorder.equity
    still_open = tuple(mark_to_market(trade, basket[symbol])
                       for symbol, trade in recorder.open_trades.items())
    first = basket[symbols[0]]
    metrics = compute_metrics(recorder.trades, equity, config.broker.initial_balance,
                              interval_seconds=first.interval_seconds or None,
                              prices=basket_prices(basket, warmups), open_trades=still_open,
                              quote_currency=quote_currency(config))
    warm_steps = int(np.searchsorted(steps, max(float(basket[s].ts[warmups[s] - 1])
                                                for s in symbols if warmups[s]), side="right")
                     ) if any(warmups.values()) else 0
    return ReplayResult(recorder.trades, equity, metrics, len(steps), warm_steps, seconds, first,
                        dict(recorder.refusals), recorder.kill_switch,
                        still_open[0] if still_open else None, basket=dict(basket),
                        open_trades=still_open, warmups=warmups)


def basket_prices(basket: Mapping[str, BarArrays], warmups: Mapping[str, int]) -> PriceSpan:
    """The market's change for a basket: holding every symbol in equal parts from its first
    traded bar to its last close (as a PriceSpan from 1 to the mean of their ratios)."""
    ratios = [float(b.close[-1]) / float(b.open[warmups[s]]) for s, b in basket.items()
              if warmups[s] < len(b) and float(b.open[warmups[s]])]
    return PriceSpan(1.0, sum(ratios) / len(ratios) if ratios else 1.0)
