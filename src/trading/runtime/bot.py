"""LiveTradingBot: builds store, risk manager, feed, broker and strategy, runs them, stops cleanly.

Backtrader runs in the calling (main) thread and is the only thread that touches the strategy,
broker and risk objects. One background I/O thread owns the data source (and every network
client); the two meet only at the feed's queue, a stop flag on it, and the status snapshot the
Cerebro thread takes at the end of each bar.
"""
from __future__ import annotations

import gc
import logging
import time
from typing import Any, Callable

import backtrader as bt

from brokers.paper import BrokerSnapshot
from feeds.live import BarSink, LiveFeed
from strategies.custom_strategy import CustomStrategy
from trading.config.models import BotConfig
from trading.core.errors import ConfigError, TradingBotError
from trading.core.events import ErrorEvent, Event, KillSwitchEvent
from trading.core.settings import LIVE_MONEY_BROKERS
from trading.core.timeutil import iso_z, utcnow
from trading.core.types import Bar
from trading.persistence.journal import Journal, journal_folder
from trading.persistence.repository import Store
from trading.risk import RiskManager, RiskState
from trading.runtime.assembly import strategy_setup
from trading.runtime.cerebro import build_cerebro
from trading.runtime.checkpoint import BotListener
from trading.runtime.io_thread import IOThread
from trading.runtime.status import BarStatus, bar_status, status_document, write_status_file
from trading.runtime.summary import RunSummary
from trading.runtime.venue_link import VenueLink

log = logging.getLogger(__name__)

WAL_FLUSH_SECONDS = 2.0  # the I/O thread folds SQLite's log into the database this often
CLOSE_ON_SHUTDOWN_TIMEOUT = 60.0  # seconds to wait for the closing fill before stopping anyway
PUBLISHED_EVENTS = ("error", "kill_switch", "order_rejected", "status", "daily_summary")


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
    """One bot: ``prepare()`` checks what the config names, ``run()`` blocks until the feed ends
    or ``stop()`` is called."""

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
        self._close_requested = False
        self._bars = 0
        self._live_bars = 0
        self._bar_status = BarStatus()  # replaced (never mutated) by the Cerebro thread
        self._sink = BarSink()
        self._source: Any = None
        self.broker: Any = None
        self.store: Store | None = None
        self.cerebro: bt.Cerebro | None = None
        self.strategy: CustomStrategy | None = None
        self.feed: LiveFeed | None = None
        self.risk: RiskManager | None = None
        self.listener: BotListener | None = None
        self.journal: Journal | None = None
        self.io = IOThread(name=f"bot-{config.bot_id}-io")
        self.venue_link = VenueLink(config, self.io, publish=self._publish)  # venue lifecycle

    # -- lifecycle ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Build the data source and the broker the config names.

        Everything a config can get wrong (a missing data file, a broker this version cannot
        build) fails here, before a database, log or status file exists. ``run`` calls it when
        it was not called first.
        """
        if self._source is None:
            self._source, self.broker = self.venue_link.build()

    def run(self) -> RunSummary:
        cfg = self.config
        self._state = "starting"
        try:
            self.prepare()
            self._build()
            assert self.cerebro is not None and self.store is not None
            if not self.io.running:  # the venue link may have started it to reconcile
                self.io.start()
            self.io.submit(self._source.run(self._sink), name="bar source")
            self.io.every(cfg.logging.heartbeat_seconds, self._heartbeat, name="heartbeat")
            self.io.every(WAL_FLUSH_SECONDS, self.store.flush_wal, name="wal flush")
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
            self.venue_link.close()
            self.io.stop(timeout=5.0)
            if self.listener is not None:
                self.listener.refusals.ended()
            if self.store is not None:  # the bot got as far as its database: say how it ended
                write_status_file(self.get_status())
                self.store.close()
        return self._summary()

    def _build(self) -> None:
        cfg = self.config
        self.store = Store(self.db_url, background_wal=True)
        self.store.register_bot(cfg.bot_id, str(cfg.source) if cfg.source else None, cfg.description)
        snap = self.venue_link.reconcile(self.store.load_snapshot(cfg.bot_id))  # venue wins
        risk_state = RiskState.from_dict(snap.risk_state) if snap.risk_state else None
        self.risk = RiskManager(cfg.risk, cfg.trading, state=risk_state,
                                on_kill_switch=self._on_kill_switch)
        if snap.last_bar_ts is not None:
            pos = snap.position
            log.info("restoring bot %s: last bar %s, cash %.4f, position %s, %d pending order(s), "
                     "kill switch %s", cfg.bot_id, iso_z(snap.last_bar_ts), snap.cash or 0.0,
                     f"{pos.size:.8g} @ {pos.entry_price:.8g} ({pos.bars_held} bars)" if pos else "none",
                     len(snap.pending_orders), "ON" if self.risk.state.kill_switch else "off")
        if snap.cash is not None:
            pos = snap.position
            self.broker.restore(BrokerSnapshot(cash=snap.cash,
                                               position_size=pos.size if pos else 0.0,
                                               position_price=pos.entry_price if pos else 0.0))
        self._source.resume_after(snap.last_bar_ts)
        self.feed = LiveFeed(sink=self._sink, interval_seconds=cfg.data.interval_seconds,
                             on_status=self.venue_link.data_status_changed)
        setup = strategy_setup(cfg, risk=self.risk, restored_trade=snap.position,
                               restored_orders=snap.pending_orders)
        if cfg.logging.save_trades:
            self.journal = Journal(journal_folder(cfg.bot_id), cfg.bot_id)
        self.listener = BotListener(
            bot_id=cfg.bot_id, store=self.store, broker=self.broker, risk=self.risk,
            journal=self.journal, save_equity=cfg.logging.save_equity_curve,
            exit_mixins=",".join(x.name for x in cfg.strategy.exits), publish=self._publish,
            on_bar_processed=self._on_bar_processed)
        self.cerebro = build_cerebro(feed=self.feed, broker=self.broker, setup=setup,
                                     listener=self.listener, symbol=cfg.data.symbol)

    def stop(self) -> None:
        """Ask the bot to stop after the bar in hand; safe from a signal handler or any thread.

        Only flags cross threads here: with ``shutdown.close_positions`` and a position open (as
        of the last bar's snapshot) the Cerebro thread closes it on the next bar and then ends
        the feed, or the I/O thread ends it after ``CLOSE_ON_SHUTDOWN_TIMEOUT`` seconds.
        """
        if self._stop_requested:
            return
        self._stop_requested = True
        self._state = "stopping"
        holding = self._bar_status.position is not None
        if self.config.close_positions_on_shutdown and holding and self.io.running:
            log.info("stop requested: closing the open position first (at most %gs)",
                     CLOSE_ON_SHUTDOWN_TIMEOUT)
            self._close_requested = True
            self.io.call_later(CLOSE_ON_SHUTDOWN_TIMEOUT, self._sink.request_stop)
        else:
            log.info("stop requested: finishing the bar in hand")
            self._sink.request_stop()

    def _running_strategy(self) -> CustomStrategy | None:
        """The strategy instance while (or after) Cerebro runs; bt objects have no plain truth value."""
        if self.strategy is not None:
            return self.strategy
        running = getattr(self.cerebro, "runningstrats", None) if self.cerebro is not None else None
        return running[0] if running else None

    # -- per bar (Cerebro thread) --------------------------------------------------------------
    def _on_bar_processed(self, bar: Bar, warmup: bool) -> None:
        self._bars += 1
        if not warmup:
            self._live_bars += 1
            if self._state == "warming_up":
                self._state = "running"
        strategy = self._running_strategy()
        trade = strategy.trade if strategy is not None else None
        assert self.risk is not None and self.listener is not None
        self._bar_status = bar_status(bar=bar, bars=self._bars, cash=self.broker.getcash(),
                                      value=self.broker.getvalue(), trade=trade,
                                      risk_state=self.risk.state,
                                      refusals=self.listener.refusals.totals)
        if self._close_requested and strategy is not None:
            if trade is None:
                self._sink.request_stop()
            else:
                strategy.close_position("shutdown")

    def _on_kill_switch(self, reason: str, drawdown_pct: float) -> None:
        event = KillSwitchEvent(time=utcnow(), reason=reason, drawdown_pct=drawdown_pct)
        if self.listener is not None:
            self.listener.add_event(event)

    def _publish(self, event: Event) -> None:
        if event.kind in PUBLISHED_EVENTS:
            if self.store is not None:
                self.store.record_event(self.config.bot_id, event)
            if self.journal is not None:
                self.journal.record_event(event)
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

    # -- status (any thread) -------------------------------------------------------------------
    def get_status(self) -> dict[str, Any]:
        """The latest bar's snapshot plus the bot's state now; safe from any thread."""
        cfg = self.config
        return {**status_document(
            bot_id=cfg.bot_id, symbol=cfg.trading.symbol, state=self._state,
            data_status=self.feed.status if self.feed is not None else None,
            bar=self._bar_status, uptime_seconds=time.monotonic() - self._started,
            last_error=self._last_error, heartbeat_seconds=cfg.logging.heartbeat_seconds),
            **self.venue_link.status()}

    def _heartbeat(self) -> None:
        status = self.get_status()
        pos = status["position"]
        log.info("heartbeat %s: %s data=%s last_bar=%s value=%s position=%s entries_today=%d "
                 "dd=%.2f%% kill_switch=%s", status["bot_id"], status["state"],
                 status["data_status"], status["last_bar_time"], status["value"],
                 f"{pos['size']:.8g}@{pos['entry_price']:.8g}" if pos else "none",
                 status["entries_today"], status["drawdown_pct"], status["kill_switch"])
        write_status_file(status)

    def _summary(self) -> RunSummary:
        assert self.store is not None
        trades = self.store.trades(self.config.bot_id)
        strategy = self._running_strategy()
        risk = self.risk.state if self.risk is not None else None
        return RunSummary(
            bot_id=self.config.bot_id, bars=self._bars, live_bars=self._live_bars, trades=len(trades),
            pnl=sum(t["pnl"] for t in trades), cash=self.broker.getcash(),
            value=self.broker.getvalue(),
            open_position=bool(strategy is not None and strategy.trade is not None),
            database=self.store.url, log_file=str(self.config.logging.log_file),
            journal=str(self.journal.folder.resolve()) if self.journal else None,
            entries_refused=self.listener.refusals.describe() if self.listener else "",
            kill_switch=risk.kill_reason if risk is not None and risk.kill_switch else "")
