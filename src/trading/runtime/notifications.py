"""A bot's notifications and remote control, wired to its I/O thread.

``BotNotifications`` owns the notifier (channels from the config and the environment), the bot's
own news (started, stopped, data state changes), the daily summary and the Telegram commands.
The bot calls four things, each in one place: ``start()`` once its I/O thread runs,
``publish(event)`` for every event it raises (Cerebro thread; never blocks), ``finish()`` on the
Cerebro thread once Cerebro has returned, and ``stop()`` before its I/O thread stops (drains the
queue for at most ``DRAIN_SECONDS``).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Any, Callable, Sequence

from notify.factory import build_channels
from notify.messages import num, position_line
from notify.notifier import DRAIN_SECONDS, Notifier
from trading.core.basket_text import basket_listing, is_basket, status_positions
from trading.core.errors import StoreError
from trading.core.events import Event, StatusEvent
from trading.core.settings import DataConfig
from trading.core.timeutil import utcnow
from trading.runtime.command_memory import StoredCommands
from trading.runtime.control import BotControl
from trading.runtime.daily_summary import DailySummary

log = logging.getLogger(__name__)

QUIET_STATES = ("stopping", "stopped", "error")  # the stop message says it all then
SYNC_WAIT = 10.0  # at most this long, the start waits for Telegram to say what is pending


class BotNotifications:
    """Notifications, daily summary and remote control of one ``LiveTradingBot``."""

    def __init__(self, bot: Any, record: Callable[[Event], None]) -> None:
        self.bot = bot
        self.record = record  # the bot's own publish: store, journal, then ``publish`` here
        cfg = bot.config
        self.config = cfg.notifications
        self.built = build_channels(self.config)
        self.notifier = Notifier(self.built.channels, bot_id=cfg.bot_id, symbol=cfg.trading.symbol,
                                 symbols=cfg.trading.symbols)
        self.control: BotControl | None = None
        self.commands: Any = None
        self._data_status: str | None = None
        self._started = False

    # -- the bot's four calls --------------------------------------------------------------------
    def start(self) -> None:
        """Start sending (on the bot's running I/O thread) and announce the start."""
        bot, cfg = self.bot, self.bot.config
        for line in self.built.left_off:
            log.warning("%s", line)
        if self.built.channels:
            log.info("notifications to %s", ", ".join(self.notifier.channel_names))
        bot.io.submit(self.notifier.start(), name="notifier start").result(timeout=5.0)
        self._started = True
        self.control = BotControl(bot_id=cfg.bot_id, get_status=bot.get_status, store=bot.store,
                                  pause_switch=bot.pause, stop=bot.stop, announce=self.record)
        daily = DailySummary(bot_id=cfg.bot_id, store=bot.store,
                             seconds_of_day=self.config.daily_summary_seconds,
                             get_status=bot.get_status, publish=self.record)
        daily.prime()  # before this run's start is recorded
        # commands sent from here on are obeyed: the "started" message must not come before that
        self._start_commands()
        self.record(StatusEvent(time=utcnow(), change="started",
                                message=start_message(cfg.data, cfg.broker.type, bot.pause.paused),
                                status={"state": "started", "paused": bot.pause.paused}))
        daily.send_if_due()  # one missed while the bot was down goes out now, before any bar
        bot.io.submit(daily.run(), name="daily summary")

    def publish(self, event: Event) -> None:
        self.notifier.publish(event)

    def finish(self) -> None:
        """Cerebro has returned (Cerebro thread): keep a pause or resume asked after the last bar."""
        bot = self.bot
        if bot.risk is not None and bot.store is not None and bot.risk.apply_pause():
            try:
                bot.store.save_risk_state(bot.config.bot_id, bot.risk.state.to_dict())
            except StoreError as exc:  # the run is ending anyway: say what was not kept
                log.error("the pause/resume asked after the last bar was not saved: %s", exc)

    def stop(self) -> None:
        """Announce the stop and send what is queued, for at most ``DRAIN_SECONDS``."""
        if not self._started or not self.bot.io.running:
            return
        self._started = False
        if self.commands is not None:
            self._wait(self.commands.stop(), "telegram commands stop", 3.0)
        status = self.bot.get_status()
        message = stop_message(status, self.bot.config.trading.symbols)
        self.record(StatusEvent(time=utcnow(), change="stopped", message=message,
                                status={k: status.get(k) for k in ("state", "value", "position",
                                                                   "positions", "last_bar_time",
                                                                   "paused")}))
        self._wait(self.notifier.drain(DRAIN_SECONDS), "notifier drain", DRAIN_SECONDS + 5.0)

    # -- helpers ---------------------------------------------------------------------------------
    def _wait(self, coro: Any, name: str, timeout: float) -> None:
        try:
            self.bot.io.submit(coro, name=name).result(timeout=timeout)
        except (concurrent.futures.TimeoutError, asyncio.CancelledError, RuntimeError) as exc:
            log.warning("%s did not finish: %s", name, exc or type(exc).__name__)

    def _start_commands(self) -> None:
        """Start the Telegram commands and wait (bounded) until they know what was sent before."""
        telegram = self.built.get("telegram")
        worker = self.notifier.worker("telegram")
        if telegram is None or worker is None:
            return
        from notify.commands import CommandRouter
        from notify.telegram_commands import TelegramCommands
        assert self.control is not None
        memory = StoredCommands(self.bot.store, self.bot.config.bot_id)
        self.commands = TelegramCommands(telegram, CommandRouter(self.control),  # type: ignore[arg-type]
                                         worker, memory)
        self.bot.io.submit(self.commands.run(), name="telegram commands")
        wait = min(telegram.limits.timeout_seconds + 1.0, SYNC_WAIT)
        if not self.commands.synced.wait(wait):
            log.warning("telegram commands: Telegram did not answer within %gs at start; the "
                        "bot trades meanwhile, and commands sent until Telegram answers are "
                        "skipped (and listed in the chat) then", wait)

    def data_state_changed(self, state: str) -> None:
        """The feed's data state changed (called on the Cerebro thread by ``LiveFeed``): raise a
        ``status`` event (the notifier logs it, once); a stopping bot's last states are left to
        its stop message."""
        old, self._data_status = self._data_status, state
        if state == old:
            return
        status = self.bot.get_status()  # once: it builds the whole status document
        if status.get("state") in QUIET_STATES:
            return
        cfg = self.bot.config
        basket = is_basket(cfg.data.symbols)
        named = {"symbols": list(cfg.data.symbols)} if basket else {"symbol": cfg.data.symbol}
        self.record(StatusEvent(time=utcnow(), change="data", message=data_message(cfg.data,
                                                                                  state, old),
                                status={"data_status": state, "previous": old, **named,
                                        "source": cfg.data.data_source,
                                        "last_bar_time": status.get("last_bar_time")}))


def start_message(data: DataConfig, broker: str, paused: bool) -> str:
    """``started: ETHBTC 5m from file, broker paper``; a basket lists its symbols (``5 symbols
    (ETCBTC, XLMBTC, ...)``, a long one cut)."""
    held = " (entries PAUSED: /resume to trade)" if paused else ""
    return (f"started: {basket_listing(data.symbols)} {data.interval} from {data.data_source}, "
            f"broker {broker}{held}")


def stop_message(status: dict[str, Any], symbols: Sequence[str]) -> str:
    """What a bot trading ``symbols`` left: its value and open positions (a basket's each on
    its own line, with its symbol)."""
    positions = status_positions(status)
    how = "stopped" if status.get("state") == "stopped" else "stopped by an error"
    basket = is_basket(symbols)
    if basket:
        count = len(positions)
        held = f"{count} position{'s' if count != 1 else ''} still open" if positions else "flat"
    else:
        held = (f"position {num(positions[0]['size'])} @ {num(positions[0]['entry_price'])} "
                "still open" if positions else "flat")
    return "\n".join([f"{how}: value {num(status.get('value'))}, {held}, last bar "
                      f"{status.get('last_bar_time') or '-'}",
                      *(position_line(p) for p in positions if basket)])


def data_message(data: DataConfig, state: str, old: str | None) -> str:
    """``data 5m from file: LIVE (was DELAYED)``; a basket's names its symbols (one source feeds
    them all: the state is theirs together)."""
    watched = f"{basket_listing(data.symbols)} " if is_basket(data.symbols) else ""
    return (f"data {watched}{data.interval} from {data.data_source}: {state}"
            + (f" (was {old})" if old else ""))
