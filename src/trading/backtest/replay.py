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
from typing import Any, Callable

import numpy as np

from brokers.paper import PaperBroker
from feeds.array_feed import ArrayFeed
from feeds.csv_bars import BarArrays, load_bars
from feeds.resample import resample_bars
from trading.backtest.currency import quote_currency
from trading.backtest.metrics import EquitySeries, PriceSpan, compute_metrics
from trading.config.models import BotConfig
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
        self.open_trade: OpenTrade | None = None  # the position held now, if any

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
        self.open_trade = trade

    def on_trade_closed(self, event: TradeClosed) -> None:
        self.trades.append(event)
        self.open_trade = None

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

    @property
    def trade_rows(self) -> list[TradeClosed]:
        """The trade table: every closed trade, then the position still open (marked to market)."""
        return self.trades + ([self.open_trade] if self.open_trade else [])

    @property
    def traded(self) -> BarArrays:
        """The bars after the warm-up: the ones the strategy could trade on."""
        return self.data.slice(self.warmup_bars, self.bars)


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


def config_label(config: BotConfig) -> str:
    """How messages name a config: its bot id, and its file when it has one."""
    return f"{config.bot_id} ({config.source})" if config.source else config.bot_id


def check_warmup(config: BotConfig, bars: BarArrays, warmup_bars: int | None = None) -> int:
    """The warm-up bars a replay of ``config`` on ``bars`` uses (``warmup_bars``, else
    ``data.lookback_bars``); raises DataError naming the config when it leaves no bar to trade."""
    warmup = config.data.lookback_bars if warmup_bars is None else warmup_bars
    if warmup >= len(bars):
        origin = "data.lookback_bars" if warmup_bars is None else "--warmup"
        most = f", at most {len(bars) - 1} here" if len(bars) > 1 else ""
        raise DataError(f"{config_label(config)}: {origin} {warmup} leaves none of the {len(bars)} "
                        f"bars at {config.data.interval} to trade on; use fewer warm-up bars "
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
               on_progress: Callable[[int], None] | None = None) -> ReplayResult:
    """Run the config's strategy over ``bars`` and compute the metrics (no files written).

    ``warmup_bars`` (default ``data.lookback_bars``, as the live bot warms up) feed only the
    indicators. ``on_progress(bars_seen)`` is called about a hundred times during the run.
    """
    warmup = check_warmup(config, bars, warmup_bars)
    recorder = ReplayRecorder(len(bars), on_progress, progress_every=max(1, len(bars) // 100))
    risk = RiskManager(config.risk, config.trading, on_kill_switch=recorder.on_kill_switch)
    cerebro = build_cerebro(feed=ArrayFeed(bars=bars, warmup_bars=warmup),
                            broker=paper_fills(config), setup=strategy_setup(config, risk=risk),
                            listener=recorder, symbol=config.trading.symbol)
    started = time.perf_counter()
    collecting = gc.isenabled()
    gc.disable()  # per bar the run makes short-lived, cycle-free objects (a 200k-bar run leaves a
    try:          # few hundred cycles); the collector's passes over its buffers cost ~5% for nothing
        cerebro.run()
    finally:
        if collecting:
            gc.enable()
    seconds = time.perf_counter() - started
    equity = recorder.equity
    prices = PriceSpan(float(bars.open[warmup]), float(bars.close[-1]))
    still_open = mark_to_market(recorder.open_trade, bars) if recorder.open_trade else None
    metrics = compute_metrics(recorder.trades, equity, config.broker.initial_balance,
                              interval_seconds=bars.interval_seconds, prices=prices,
                              open_trade=still_open, quote_currency=quote_currency(config))
    return ReplayResult(recorder.trades, equity, metrics, len(bars), warmup, seconds, bars,
                        dict(recorder.refusals), recorder.kill_switch, still_open)
