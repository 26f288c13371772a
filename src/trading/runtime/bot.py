"""LiveTradingBot: builds store, risk manager, feed, broker and strategy, runs them, stops cleanly.

Backtrader runs in the calling (main) thread and is the only thread that touches the strategy,
broker and risk objects. One background I/O thread owns the data source (and every network
client); the two meet only at the feed's queue, a stop flag on it, and the status snapshot the
Cerebro thread takes at the end of each bar. What blocks on the disk between bars (folding SQLite's
log, writing the status file) runs in the I/O thread's worker thread, so the event loop never
waits on it; the lease is renewed in a thread of its own (``trading.runtime.lease_keeper``), and a
bot that cannot renew it holds its entries and stops before the lease can expire.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import time
from typing import Any, Callable

import backtrader as bt

from feeds.first_contact import run_source
from feeds.live import BarSink, BarSource, LiveFeed, SinkClosed
from strategies.custom_strategy import CustomStrategy
from trading.config.models import BotConfig
from trading.core.errors import (ConfigError, DiskFull, LeaseHeld, LeaseLost,
                                 StoreError, TradingBotError)
from trading.core.events import ErrorEvent, Event, KillSwitchEvent
from trading.core.redaction import known_secrets
from trading.core.timeutil import iso_z, utcnow
from trading.core.types import Bar
from trading.persistence.journal import Journal
from trading.persistence.journal_owner import open_journal
from trading.persistence.database import is_in_memory
from trading.persistence.lease import BotLease
from trading.persistence.repository import Store
from trading.risk import PauseSwitch, RiskManager, RiskState
from trading.runtime.assembly import broker_snapshot, check_symbols, strategy_setup
from trading.runtime.cerebro import build_cerebro
from trading.runtime.checkpoint import BotListener
from trading.runtime.io_thread import IOThread
from trading.runtime.live_feeds import align_seconds, live_feeds
from trading.runtime.lease_keeper import LeaseCallbacks, LeaseKeeper
from trading.runtime.notifications import BotNotifications
from trading.runtime.shutdown import disk_full, shut_down
from trading.runtime.status import BarStatus, bar_status, status_document, write_status_file
from trading.runtime.summary import RunSummary
from trading.runtime.venue_link import VenueLink, check_live_money
from trading.runtime.wal_upkeep import WalUpkeep

log = logging.getLogger(__name__)

WAL_FLUSH_SECONDS = 2.0  # the I/O thread's worker folds SQLite's log into the database this often
LEASE_HEARTBEATS = 3  # the bot's lease expires this many heartbeats after its last renewal
LEASE_MIN_TTL = 15.0  # seconds, however short the heartbeat
CLOSE_ON_SHUTDOWN_TIMEOUT = 60.0  # seconds to wait for the closing fill before stopping anyway
PUBLISHED_EVENTS = ("error", "kill_switch", "order_rejected", "status", "daily_summary")


class LiveTradingBot:
    """One bot: ``prepare()`` checks what the config names, ``run()`` blocks until the feed ends
    or ``stop()`` is called.

    ``source`` is the bar source; by default the one ``config.data`` names. ``lease_overdue``
    ends the process when the bot gave up a lease it cannot renew and is not out in time
    (``trading.runtime.lease_keeper``).
    """

    def __init__(self, config: BotConfig, *, db_url: str | None = None, live: bool = False,
                 publish: Callable[[Event], None] | None = None,
                 source: BarSource | None = None,
                 lease_overdue: Callable[[str], None] | None = None) -> None:
        check_live_money(config, live)
        self.config = config
        self.db_url = db_url or config.database_url
        self._external_publish = publish
        self._lease_overdue = lease_overdue
        self._state = "created"
        self._started = time.monotonic()
        self._last_error = ""
        self._stop_requested = False
        self._close_requested = False
        self._bars = 0
        self._live_bars = 0
        self._bar_status = BarStatus()  # replaced (never mutated) by the Cerebro thread
        self._sink = BarSink()
        self._source: Any = source
        self._source_failure = ""  # set by the I/O thread when the bar source fails
        self.broker: Any = None
        self.store: Store | None = None
        self.cerebro: bt.Cerebro | None = None
        self.strategy: CustomStrategy | None = None
        self.feed: LiveFeed | None = None
        self.risk: RiskManager | None = None
        self.listener: BotListener | None = None
        self.journal: Journal | None = None
        self.lease: BotLease | None = None
        self.lease_keeper: LeaseKeeper | None = None
        self._lease_lost = ""  # another process took the lease over: write nothing more
        self._lease_unproven = ""  # renewals failed until the keeper gave up: stop, exit 3
        self._write_failed = ""
        self.disk_full_reason = ""  # why: no space for a file the bot keeps (set from any thread)
        self.wal: WalUpkeep | None = None  # SQLite's log kept small (set when built)
        self._status_file: str | None = None  # where the last status file went
        self.io = IOThread(name=f"bot-{config.bot_id}-io")
        # remote control and notifications (trading.runtime.notifications): pause crosses threads
        # through the switch; events go out on the I/O thread
        self.pause = PauseSwitch()
        self.notifications = BotNotifications(self, record=self._publish)
        self.venue_link = VenueLink(config, self.io, publish=self._publish, live=live)  # venue lifecycle

    # -- lifecycle ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Build the data source and the broker the config names, and connect their venue.

        Everything a config can get wrong (a missing data file, a symbol or contract the venue
        does not know, an unreachable venue, a live account without the owner's confirmation)
        fails here, before a database, log or status file exists. ``run`` calls it when it was
        not called first.
        """
        if is_in_memory(self.db_url):
            raise ConfigError("database.url is an in-memory SQLite database, which keeps nothing: "
                              "a bot must be able to restore its state after a restart; use a "
                              "file (the default sqlite:///data/<bot_id>.sqlite) or a server")
        if self.broker is None:
            try:
                source, self.broker = self.venue_link.build()
            except BaseException:  # nothing was written: close what the venue opened
                self.venue_link.close()
                self.io.stop(timeout=5.0)
                raise
            self._source = self._source or source  # a source handed in wins

    def run(self) -> RunSummary:
        cfg = self.config
        self._state = "starting"
        try:
            self.prepare()
            if not self.io.running:  # the venue link may have started it already
                self.io.start()
            self._build()
            assert self.cerebro is not None and self.store is not None
            self.io.submit(self._bars_from_source(), name="bar source")
            # database and file housekeeping blocks (a WAL fold's fsync can take ~100 ms): it
            # runs in the I/O thread's worker, never on the loop that serves the sockets
            self.io.every(cfg.logging.heartbeat_seconds, self._heartbeat, name="heartbeat",
                          blocking=True)
            self.io.every(WAL_FLUSH_SECONDS, self.wal.fold, name="wal flush", blocking=True)
            self.notifications.start()
            self._state = "warming_up"
            # everything built so far lives as long as the bot: keep it out of the cyclic
            # collector's full passes, which otherwise pause a bar for ~100 ms
            gc.collect()
            gc.freeze()
            strategies = self.cerebro.run()
            if strategies:
                self.strategy = strategies[0]
            if self._lease_unproven:
                raise StoreError(f"bot {cfg.bot_id} stopped: {self._lease_unproven}")
            if self.disk_full_reason:
                raise DiskFull(self.disk_full_reason)
            if self._write_failed:
                raise StoreError(f"bot {cfg.bot_id} stopped: writing its database failed: "
                                 f"{self._write_failed}")
            if self._source_failure:
                raise TradingBotError(f"bot {cfg.bot_id} stopped: {self._source_failure}")
            self._state = "stopped"
        except LeaseHeld:
            self._state = "refused"  # another process runs this bot: touch none of its state
            raise
        except TradingBotError as exc:
            self._fail(str(exc))
            raise
        except Exception as exc:  # a bug or an unexpected library error: logged in full, told briefly
            full = disk_full(exc, "writing a file of the bot")
            if full is not None:
                self._fail(str(full))
                raise full from exc
            log.exception("bot %s stopped by an unexpected error", cfg.bot_id)
            self._fail(f"{type(exc).__name__}: {exc}")
            raise TradingBotError(f"bot {cfg.bot_id} stopped by an unexpected error: {exc} "
                                  f"(details in {cfg.logging.log_file})") from exc
        finally:
            failure = shut_down(self)  # never raises: an error of the run stays the one told
        if failure is not None:
            raise failure
        return self._summary()

    def write_final_status(self) -> None:
        """The status file as the bot stops; remembered for the run's summary."""
        written = write_status_file(self.get_status())
        self._status_file = str(written.resolve()) if written is not None else None

    def disk_full(self, message: str) -> None:
        """No space for a file the bot keeps (any thread): stop after the bar in hand; ``run``
        then raises ``DiskFull`` (exit 3). Only the first message is kept."""
        if self.disk_full_reason:
            return
        self.disk_full_reason = message
        self._state, self._last_error = "error", message
        log.error("%s", message)
        self._sink.request_stop()

    def _build(self) -> None:
        cfg = self.config
        self.store = Store(self.db_url, background_wal=True)
        self.wal = WalUpkeep(self.store, self.io, on_disk_full=self.disk_full,
                             on_write_failed=self._write_stopped,
                             stopped=lambda: bool(self._write_failed or self.disk_full_reason))
        self.store.on_commits = self.wal.fold_soon  # a fast run commits faster than the timer
        ttl = max(LEASE_MIN_TTL, LEASE_HEARTBEATS * cfg.logging.heartbeat_seconds)
        self.lease = BotLease(self.store, cfg.bot_id, ttl_seconds=ttl)
        self.lease_keeper = LeaseKeeper(self.lease, cfg.logging.heartbeat_seconds, LeaseCallbacks(
            hold=self._hold_entries, release=self._release_entries, give_up=self._lease_gone,
            lost=self._lease_taken, overdue=self._lease_overdue))
        self.lease_keeper.acquire()  # LeaseHeld when another process runs this bot
        self.io.submit(self.lease_keeper.run(), name="lease")  # kept from here on
        self.store.register_bot(cfg.bot_id, str(cfg.source) if cfg.source else None, cfg.description)
        snap = self.venue_link.reconcile(self.store.load_snapshot(cfg.bot_id))  # venue wins
        risk_state = RiskState.from_dict(snap.risk_state) if snap.risk_state else None
        self.risk = RiskManager(cfg.risk, cfg.trading, state=risk_state,
                                on_kill_switch=self._on_kill_switch, pause=self.pause)
        if self._lease_unproven or self.lease_keeper.held:  # a renewal failed meanwhile
            self.risk.hold_entries(self._last_error)
        check_symbols(cfg, snap)
        if snap.last_bar_ts is not None:
            held = "; ".join(f"{p.symbol} {p.size:.8g} @ {p.entry_price:.8g} ({p.bars_held} bars)"
                             for p in snap.positions.values())
            log.info("restoring bot %s: last bar %s, cash %.4f, position %s, %d pending order(s), "
                     "kill switch %s", cfg.bot_id, iso_z(snap.last_bar_ts), snap.cash or 0.0,
                     held or "none", len(snap.pending_orders),
                     "ON" if self.risk.state.kill_switch else "off")
        if snap.cash is not None:
            self.broker.restore(broker_snapshot(cfg, snap))
        self._source.resume_after(snap.last_bar_ts)
        feeds, clock = live_feeds(self._sink, cfg.data, self._source,
                                  align=align_seconds(cfg.data, self._source,
                                                      self.venue_link.align_seconds()),
                                  on_invalid=self._on_invalid_bar,
                                  on_status=self.notifications.data_state_changed)
        self.feed = feeds[0]
        wake_with = getattr(self.broker, "wake_with", None)  # a venue broker reports between bars
        if wake_with is not None:
            wake_with(self._sink.wake)
        setup = strategy_setup(cfg, risk=self.risk, restored_positions=snap.positions,
                               restored_orders=snap.pending_orders)
        if cfg.logging.save_trades:  # DamagedDatabase when this database lost what it knew
            self.journal = open_journal(cfg.bot_id, shown_url=self.store.url,
                                        has_state=snap.last_bar_ts is not None)
            self.journal.catch_up(self.store.orders(cfg.bot_id), self.store.trades(cfg.bot_id))
        self.listener = BotListener(
            bot_id=cfg.bot_id, store=self.store, broker=self.broker, risk=self.risk,
            journal=self.journal, save_equity=cfg.logging.save_equity_curve,
            exit_mixins=",".join(x.name for x in cfg.strategy.exits), publish=self._publish,
            on_bar_end=self._on_bar_end, on_bar_processed=self._on_bar_processed,
            on_books_changed=self._on_books_changed, symbol=cfg.trading.symbol)
        self.cerebro = build_cerebro(feed=self.feed, broker=self.broker, setup=setup,
                                     listener=self.listener, symbol=cfg.data.symbol,
                                     further_feeds=list(zip(cfg.data.symbols[1:], feeds[1:])),
                                     basket_clock=clock)

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
        holding = self._bar_status.position is not None  # taken before each bar's commit
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
    def _on_bar_end(self, bar: Bar, warmup: bool) -> None:
        """The bar is decided, not yet committed: take the status snapshot (so a position seen in
        the database is always in the snapshot too) and carry out a requested close."""
        self._bars += 1
        if not warmup:
            self._live_bars += 1
            if self._state == "warming_up":
                self._state = "running"
        strategy = self._take_status(bar)
        if self._close_requested and strategy is not None:
            if not strategy.positions:
                self._sink.request_stop()
            else:
                strategy.close_position("shutdown")

    def _on_books_changed(self, bar: Bar) -> None:
        """A fill (or another order update) between bars is about to be committed: the status
        snapshot shows it first; a shutdown that waited for its closing fill stops now."""
        strategy = self._take_status(bar)
        if self._close_requested and strategy is not None and not strategy.positions:
            self._sink.request_stop()

    def _take_status(self, bar: Bar) -> CustomStrategy | None:
        """The status snapshot as of now (``bar``: the last bar); returns the strategy."""
        if self._lease_lost:  # another process runs this bot now: write nothing more
            raise LeaseLost(self._lease_lost)
        strategy = self._running_strategy()
        positions = [(lane.trade, float(lane.data.close[0])) for lane in strategy.lanes
                     if lane.trade is not None] if strategy is not None else []
        assert self.risk is not None and self.listener is not None
        self._bar_status = bar_status(bar=bar, bars=self._bars, cash=self.broker.getcash(),
                                      value=self.broker.getvalue(), positions=positions,
                                      risk_state=self.risk.state,
                                      refusals=self.listener.refusals.totals,
                                      closed=(self.listener.trades_total,
                                              self.listener.realised_pnl))
        return strategy

    def _on_bar_processed(self, bar: Bar, warmup: bool) -> None:
        """The bar is committed (a hook for subclasses, e.g. the latency benchmarks)."""

    # -- the lease and the database's upkeep (the I/O thread's worker) --------------------------
    @property
    def owns_bot(self) -> bool:
        """Whether this process holds the bot's lease (and so may write its state)."""
        return self.lease is not None and self.lease.held and not self._lease_lost

    # the lease keeper's callbacks (I/O thread): entries wait while the lease is not proven
    def _hold_entries(self, reason: str) -> None:
        self._last_error = reason
        if self.risk is not None:
            self.risk.hold_entries(reason)

    def _release_entries(self) -> None:
        if self.risk is not None:
            self.risk.release_entries()

    def _lease_gone(self, message: str) -> None:
        self._hold_entries(message)
        self._lease_unproven = message
        self._sink.request_stop()

    def _lease_taken(self, message: str) -> None:
        self._lease_lost = message
        log.error("%s; stopping at once without writing anything more", message)
        self._sink.request_stop()

    def _write_stopped(self, message: str) -> None:
        """The database can no longer be written (a fold found it): stop after the bar."""
        self._write_failed = message
        log.error("%s; stopping after the bar in hand", message)
        self._sink.request_stop()

    def release_lease(self) -> None:
        try:
            self.lease_keeper.release()  # type: ignore[union-attr]
        except TradingBotError as exc:  # it expires on its own
            log.warning("could not release the lease of bot %s: %s", self.config.bot_id, exc)

    # -- bad input: an invalid bar (Cerebro thread), a failed source (I/O thread) ---------------
    def _on_invalid_bar(self, message: str) -> None:
        """The feed dropped an invalid bar: an ``error`` event, and nothing trades on it."""
        self._publish(ErrorEvent(time=utcnow(), message=message, source="feed"))

    async def _bars_from_source(self) -> None:
        """Run the bar source (I/O thread). If it fails, the feed ends after the bars it sent
        and the bot stops with an error: a feed that only waits would hang the bot, as would a
        venue never reached since the start (``data.connect_timeout_seconds``)."""
        try:
            await run_source(self._source, self._sink, self.config.data.connect_timeout_seconds)
        except Exception as exc:  # any failure of a source, a venue client's included
            # one of ours says what is wrong in its message; anything else gets its traceback
            log.error("the bar source failed: %s", exc,
                      exc_info=None if isinstance(exc, TradingBotError) else exc)
            self._source_failure = f"the bar source failed: {exc}"
            with contextlib.suppress(SinkClosed):  # the feed stopped first: nothing to end
                await self._sink.end()

    def _on_kill_switch(self, reason: str, drawdown_pct: float) -> None:
        event = KillSwitchEvent(time=utcnow(), reason=reason, drawdown_pct=drawdown_pct)
        if self.listener is not None:
            self.listener.add_event(event)

    def _publish(self, event: Event) -> None:
        event = known_secrets().redact_fields(event)  # an error's text may quote a secret
        self.notifications.publish(event)  # first: an error of the store itself still goes out
        if event.kind in PUBLISHED_EVENTS and self.owns_bot:
            try:
                if self.store is not None:
                    self.store.record_event(self.config.bot_id, event)
                if self.journal is not None:
                    self.journal.record_event(event)
            except (DiskFull, OSError) as exc:  # no space: stop, whichever thread this is
                where = self.journal.folder if self.journal is not None else "the database"
                full = disk_full(exc, f"recording a {event.kind} event in {where}")
                if full is None:
                    raise
                self.disk_full(str(full))
        if self._external_publish is not None:
            self._external_publish(event)

    def _fail(self, message: str) -> None:
        self._state = "error"
        self._last_error = message
        if message != self.disk_full_reason:  # that one was logged when it was met
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
            bot_id=cfg.bot_id, symbol=cfg.trading.symbol, symbols=cfg.trading.symbols,
            state=self._state,
            data_status=self.feed.status if self.feed is not None else None,
            bar=self._bar_status, uptime_seconds=time.monotonic() - self._started,
            last_error=self._last_error, heartbeat_seconds=cfg.logging.heartbeat_seconds,
            paused=self.pause.paused),
            **self.venue_link.status()}

    def _heartbeat(self) -> None:
        if not self.owns_bot:
            return
        status = self.get_status()
        held = ", ".join(f"{p['symbol']} {p['size']:.8g}@{p['entry_price']:.8g}"
                         for p in status["positions"])
        log.info("heartbeat %s: %s data=%s last_bar=%s value=%s position=%s entries_today=%d "
                 "dd=%.2f%% kill_switch=%s paused=%s", status["bot_id"], status["state"],
                 status["data_status"], status["last_bar_time"], status["value"], held or "none",
                 status["entries_today"], status["drawdown_pct"], status["kill_switch"],
                 status["paused"])
        try:
            write_status_file(status)
        except DiskFull as exc:
            self.disk_full(str(exc))

    def _summary(self) -> RunSummary:
        assert self.store is not None
        trades = self.store.trades(self.config.bot_id)
        strategy = self._running_strategy()
        risk = self.risk.state if self.risk is not None else None
        return RunSummary(
            bot_id=self.config.bot_id, bars=self._bars, live_bars=self._live_bars, trades=len(trades),
            pnl=sum(t["pnl"] for t in trades), cash=self.broker.getcash(),
            value=self.broker.getvalue(),
            open_position=bool(strategy is not None and strategy.positions),
            database=self.store.url, log_file=str(self.config.logging.log_file),
            journal=str(self.journal.folder.resolve()) if self.journal else None,
            status_file=self._status_file,
            entries_refused=self.listener.refusals.describe() if self.listener else "",
            kill_switch=risk.kill_reason if risk is not None and risk.kill_switch else "")
