"""LiveTradingBot: builds store, risk manager, feed, broker and strategy, runs them, stops cleanly.

Backtrader runs in the calling (main) thread; one background I/O thread owns the data source
(and later every network client); they talk through the feed's queue only.
"""
from __future__ import annotations

import gc
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import backtrader as bt

from brokers.factory import build_broker
from brokers.paper import BrokerSnapshot
from feeds.factory import build_source
from feeds.live import BarSink, LiveFeed
from strategies.custom_strategy import CustomStrategy
from trading.core.types import Bar
from trading.runtime.assembly import strategy_setup
from trading.runtime.cerebro import build_cerebro
from trading.runtime.checkpoint import BotListener
from trading.config.models import BotConfig
from trading.core.settings import LIVE_MONEY_BROKERS
from trading.core.errors import ConfigError, TradingBotError
from trading.core.events import ErrorEvent, Event, KillSwitchEvent
from trading.core.timeutil import utcnow
from trading.runtime.io_thread import IOThread
from trading.persistence.journal import Journal
from trading.risk import RiskManager, RiskState
from trading.persistence.repository import Store

log = logging.getLogger(__name__)

STATUS_DIR = Path("logs") / "status"
JOURNAL_DIR = Path("logs") / "json"
WAL_FLUSH_SECONDS = 2.0  # the I/O thread folds SQLite's log into the database this often
CLOSE_ON_SHUTDOWN_TIMEOUT = 60.0  # seconds to wait for the closing fill before stopping anyway


@dataclass(frozen=True)
class RunSummary:
    """What a finished run tells the user."""

    bot_id: str
    bars: int
    live_bars: int
    trades: int
    pnl: float
    cash: float
    value: float
    open_position: bool
    database: str
    log_file: str
    journal: str | None

    def format(self) -> str:
        lines = [
            f"bot {self.bot_id}: {self.live_bars} new bars traded this run "
            f"({self.bars - self.live_bars} history bars for warm-up)",
            f"  trades (all runs): {self.trades}   realised pnl: {self.pnl:.4f}",
            f"  cash: {self.cash:.4f}   value: {self.value:.4f}   "
            f"open position: {'yes' if self.open_position else 'no'}",
            f"  database: {self.database}",
            f"  log file: {self.log_file}",
        ]
        if self.journal:
            lines.append(f"  journal:  {self.journal}")
        return "\n".join(lines)


def check_live_money(config: BotConfig, live_flag: bool) -> None:
    """Refuse to trade real money unless the config and the command line both say so."""
    if config.broker.type not in LIVE_MONEY_BROKERS:
        return
    missing = []
    if not config.live_trading_confirmed:
        missing.append('"live_trading_confirmed": true in the config')
    if not live_flag:
        missing.append("--live on the command line")
    if missing:
        raise ConfigError(f"broker.type '{config.broker.type}' trades real money; refusing to start "
                          f"without {' and '.join(missing)}.")


class LiveTradingBot:
    """One bot: ``run()`` blocks until the feed ends or ``stop()`` is called."""

    def __init__(self, config: BotConfig, *, db_url: str | None = None, live: bool = False,
                 publish: Callable[[Event], None] | None = None) -> None:
        check_live_money(config, live)
        self.config = config
        self.db_url = db_url or config.database_url
        self._external_publish = publish
        self._state = "created"
        self._started = time.monotonic()
        self._last_error = ""
        self._stop_requested = False
        self._closing_deadline: float | None = None
        self._bars = 0
        self._live_bars = 0
        self._last: tuple[Bar, bool] | None = None
        self.store: Store | None = None
        self.cerebro: bt.Cerebro | None = None
        self.strategy: CustomStrategy | None = None
        self.feed: LiveFeed | None = None
        self.risk: RiskManager | None = None
        self.listener: BotListener | None = None
        self.io = IOThread(name=f"bot-{config.bot_id}-io")
        self._status_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    def run(self) -> RunSummary:
        cfg = self.config
        self._state = "starting"
        try:
            self._build()
            assert self.cerebro is not None
            self.io.start()
            assert self.feed is not None
            self.io.submit(self._source.run(self._sink))
            self.io.every(cfg.logging.heartbeat_seconds, self._heartbeat)
            assert self.store is not None
            self.io.every(WAL_FLUSH_SECONDS, self.store.flush_wal)
            self._state = "warming_up"
            # everything built so far lives as long as the bot: keep it out of the cyclic
            # collector's full passes, which otherwise pause a bar for ~100 ms
            gc.collect()
            gc.freeze()
            strategies = self.cerebro.run()
            if strategies:
                self.strategy = strategies[0]
            self._state = "stopped"
        except TradingBotError as exc:
            self._fail(str(exc))
            raise
        except Exception as exc:  # a bug or an unexpected library error: logged in full, told briefly
            log.exception("bot %s stopped by an unexpected error", cfg.bot_id)
            self._fail(f"{type(exc).__name__}: {exc}")
            raise TradingBotError(f"bot {cfg.bot_id} stopped by an unexpected error: {exc} "
                                  f"(details in {cfg.logging.log_file})") from exc
        finally:
            self.io.stop(timeout=5.0)
            self._write_status_file()
            if self.store is not None:
                self.store.close()
        return self._summary()

    def _build(self) -> None:
        cfg = self.config
        self.store = Store(self.db_url, background_wal=True)
        self.store.register_bot(cfg.bot_id, str(cfg.source) if cfg.source else None, cfg.description)
        snap = self.store.load_snapshot(cfg.bot_id)
        risk_state = RiskState.from_dict(snap.risk_state) if snap.risk_state else None
        self.risk = RiskManager(cfg.risk, cfg.trading, state=risk_state,
                                on_kill_switch=self._on_kill_switch)
        if snap.last_bar_ts is not None:
            pos = snap.position
            log.info("restoring bot %s: last bar %s, cash %.4f, position %s, %d pending order(s), "
                     "kill switch %s", cfg.bot_id, Bar(snap.last_bar_ts, 0, 0, 0, 0, 0).time.isoformat(),
                     snap.cash or 0.0,
                     f"{pos.size:.8g} @ {pos.entry_price:.8g} ({pos.bars_held} bars)" if pos else "none",
                     len(snap.pending_orders), "ON" if self.risk.state.kill_switch else "off")
        restore = None
        if snap.cash is not None:
            pos = snap.position
            restore = BrokerSnapshot(cash=snap.cash, position_size=pos.size if pos else 0.0,
                                     position_price=pos.entry_price if pos else 0.0)
        broker = build_broker(cfg.broker, restore=restore)
        self._source = build_source(cfg.data, resume_after_ts=snap.last_bar_ts)
        self._sink = BarSink()
        self.feed = LiveFeed(sink=self._sink, interval_seconds=cfg.data.interval_seconds)
        setup = strategy_setup(cfg, risk=self.risk, restored_trade=snap.position,
                               restored_orders=snap.pending_orders)
        journal = Journal(JOURNAL_DIR, cfg.bot_id) if cfg.logging.save_trades else None
        self.journal = journal
        self.listener = BotListener(
            bot_id=cfg.bot_id, store=self.store, broker=broker, risk=self.risk, journal=journal,
            save_equity=cfg.logging.save_equity_curve,
            exit_mixins=",".join(x.name for x in cfg.strategy.exits), publish=self._publish,
            on_bar_processed=self._on_bar_processed)
        self.cerebro = build_cerebro(feed=self.feed, broker=broker, setup=setup,
                                     listener=self.listener, symbol=cfg.data.symbol)
        self.broker = broker

    def stop(self) -> None:
        """Ask the bot to stop after the bar in hand (safe to call from a signal handler)."""
        if self._stop_requested:
            return
        self._stop_requested = True
        self._state = "stopping"
        close = self.config.close_positions_on_shutdown
        strategy = self._running_strategy()
        if close and strategy is not None and strategy.trade is not None:
            log.info("stop requested: closing the open position first")
            self._closing_deadline = time.monotonic() + CLOSE_ON_SHUTDOWN_TIMEOUT
            self.io.call_later(CLOSE_ON_SHUTDOWN_TIMEOUT, self._force_stop)
        else:
            log.info("stop requested: finishing the bar in hand")
            self._force_stop()

    def _force_stop(self) -> None:
        if self.cerebro is not None:
            self.cerebro.runstop()

    def _running_strategy(self) -> CustomStrategy | None:
        """The strategy instance while (or after) Cerebro runs; bt objects have no plain truth value."""
        if self.strategy is not None:
            return self.strategy
        running = getattr(self.cerebro, "runningstrats", None) if self.cerebro is not None else None
        return running[0] if running else None

    # -- per bar -----------------------------------------------------------------------------
    def _on_bar_processed(self, bar: Bar, warmup: bool) -> None:
        self._bars += 1
        if not warmup:
            self._live_bars += 1
        self._last = (bar, warmup)
        if not warmup and self._state == "warming_up":
            self._state = "running"
        if self._closing_deadline is not None:
            strategy = self._running_strategy()
            if strategy is None or strategy.trade is None:
                self._force_stop()
            else:
                strategy.close_position("shutdown")

    def _on_kill_switch(self, reason: str, drawdown_pct: float) -> None:
        now = utcnow()
        event = KillSwitchEvent(time=now, reason=reason, drawdown_pct=drawdown_pct)
        if self.listener is not None:
            self.listener.add_event(event)

    def _publish(self, event: Event) -> None:
        if event.kind in ("error", "kill_switch", "order_rejected", "status", "daily_summary"):
            if self.store is not None:
                self.store.record_event(self.config.bot_id, event)
        if self._external_publish is not None:
            self._external_publish(event)

    def _fail(self, message: str) -> None:
        self._state = "error"
        self._last_error = message
        log.error("%s", message)
        try:
            self._publish(ErrorEvent(time=utcnow(), message=message, source="bot"))
        except Exception:  # the store itself may be what failed
            log.debug("could not record the error event", exc_info=True)

    # -- status ------------------------------------------------------------------------------
    def get_status(self) -> dict[str, Any]:
        """A snapshot for people and monitors (also written by the heartbeat)."""
        cfg = self.config
        status: dict[str, Any] = {
            "bot_id": cfg.bot_id, "state": self._state, "symbol": cfg.trading.symbol,
            "data_status": getattr(self.feed, "status", None) if self.feed is not None else None,
            "last_bar_time": None, "bars_processed": self._bars,
            "cash": None, "value": None, "position": None,
            "trades_today": 0, "pnl_today": 0.0, "drawdown_pct": 0.0,
            "kill_switch": False, "entries_refused": {},
            "uptime_seconds": round(time.monotonic() - self._started, 1),
            "last_error": self._last_error or None,
        }
        last = self._last
        if last is not None:
            bar = last[0]
            status["last_bar_time"] = bar.time.isoformat().replace("+00:00", "Z")
            broker = self.broker
            value = broker.getvalue()
            status["cash"], status["value"] = round(broker.getcash(), 8), round(value, 8)
            strategy = self._running_strategy()
            trade = strategy.trade if strategy is not None else None
            if trade is not None:
                status["position"] = {
                    "size": trade.size, "entry_price": trade.entry_price,
                    "entry_time": trade.entry_time.isoformat().replace("+00:00", "Z"),
                    "bars_held": trade.bars_held,
                    "unrealized_pnl": round((bar.close - trade.entry_price) * trade.size, 8)}
        if self.listener is not None:
            status["entries_refused"] = dict(self.listener.refusals)
        if self.risk is not None:
            s = self.risk.state
            status["trades_today"] = s.trades_today
            status["kill_switch"] = s.kill_switch
            if status["value"] is not None:
                status["pnl_today"] = round(status["value"] - s.day_start_equity, 8) if s.day >= 0 else 0.0
                if s.peak_equity > 0:
                    status["drawdown_pct"] = round((s.peak_equity - status["value"]) / s.peak_equity * 100, 4)
        return status

    def _heartbeat(self) -> None:
        status = self.get_status()
        pos = status["position"]
        log.info("heartbeat %s: %s data=%s last_bar=%s value=%s position=%s trades_today=%d "
                 "dd=%.2f%% kill_switch=%s", status["bot_id"], status["state"], status["data_status"],
                 status["last_bar_time"], status["value"],
                 f"{pos['size']:.8g}@{pos['entry_price']:.8g}" if pos else "none",
                 status["trades_today"], status["drawdown_pct"], status["kill_switch"])
        self._write_status_file(status)

    def _write_status_file(self, status: dict[str, Any] | None = None) -> None:
        status = status or self.get_status()
        try:
            STATUS_DIR.mkdir(parents=True, exist_ok=True)
            path = STATUS_DIR / f"{self.config.bot_id}.json"
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(status, indent=2), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            log.warning("could not write the status file: %s", exc)

    def _summary(self) -> RunSummary:
        assert self.store is not None
        trades = self.store.trades(self.config.bot_id)
        strategy = self._running_strategy()
        return RunSummary(
            bot_id=self.config.bot_id, bars=self._bars, live_bars=self._live_bars, trades=len(trades),
            pnl=sum(t["pnl"] for t in trades), cash=self.broker.getcash(),
            value=self.broker.getvalue(),
            open_position=bool(strategy is not None and strategy.trade is not None),
            database=self.store.url, log_file=str(self.config.logging.log_file),
            journal=str(self.journal.trades_path.parent.resolve()) if self.journal else None)
