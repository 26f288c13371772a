"""Remote control that a message cannot switch off: python-telegram-bot's real client polls the
loopback Bot API fake through ``TelegramCommands`` and the notifier, on the bot's own I/O thread.

Every test waits on what the fake receives (replies) or confirms (updates the bot has taken),
never on a sleep; a command that must be ignored is followed by one that is answered, and
updates are handled in order, so the answer proves the first was seen.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from fake_secrets import OWNER_CHAT, TELEGRAM_TOKEN
from notify.channel import ChannelLimits
from notify.commands import CommandRouter
from notify.notifier import Notifier
from notify.settings import TelegramSettings
from notify.telegram import TelegramChannel
from notify.telegram_commands import TelegramCommands
from trading.core.events import TradeOpened
from trading.core.timeutil import utcnow
from trading.persistence.repository import Store
from trading.runtime.command_memory import StoredCommands
from trading.runtime.io_thread import IOThread

GROUP = -100200300
WAIT = 20.0
TWO_HOURS = 2 * 3600


class Control:
    """The bot as the commands see it: records what it was told; ``fail_status`` makes /status
    raise (a store that cannot be read)."""

    def __init__(self) -> None:
        self.paused = False
        self.stopped_by: str | None = None
        self.stopped = threading.Event()
        self.fail_status: Exception | None = None

    def status(self) -> dict[str, Any]:
        if self.fail_status is not None:
            raise self.fail_status
        return {"bot_id": "0001", "symbol": "ETHBTC", "state": "running", "data_status": "LIVE",
                "value": 1000.0, "cash": 1000.0, "paused": self.paused}

    def positions(self) -> list:
        return []

    def trades(self, count: int = 5) -> list:
        return []

    def pnl(self, period: str = "day") -> dict:
        return {"period": period, "since": None, "trades": 0, "wins": 0, "win_rate_pct": 0.0,
                "pnl": 0.0, "fees": 0.0, "unrealized_pnl": 0.0, "value": 1000.0}

    def pause(self, by: str) -> bool:
        changed, self.paused = not self.paused, True
        return changed

    def resume(self, by: str) -> bool:
        changed, self.paused = self.paused, False
        return changed

    def stop(self, by: str) -> None:
        self.stopped_by = by
        self.stopped.set()


class FailingOnce:
    """A command memory whose first write fails with an error nobody expected."""

    def __init__(self) -> None:
        self.failed = False

    def last_update_id(self) -> int | None:
        return None

    def record(self, update_id: int, text: str, outcome: str) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("disk I/O error")


class Remote:
    """The notifier and the Telegram commands of one run, on an I/O thread like the bot's."""

    def __init__(self, fake, control: Control, *, chat: int = OWNER_CHAT, memory: Any = None,
                 allowed: tuple[int, ...] = (), rate: float = 6000.0) -> None:
        settings = TelegramSettings(TELEGRAM_TOKEN, str(chat), fake.url, allowed)
        limits = ChannelLimits(notify_on=("trade_entry",), timeout_seconds=5.0,
                               rate_limit_per_minute=rate)
        self.channel = TelegramChannel(settings, limits)
        self.io = IOThread("test-telegram")
        self.io.start()
        self.notifier = Notifier([self.channel], bot_id="0001", symbol="ETHBTC")
        self.io.submit(self.notifier.start()).result(timeout=5)
        self.commands = TelegramCommands(self.channel, CommandRouter(control),
                                         self.notifier.worker("telegram"), memory,
                                         poll_seconds=1, restart_backoff=0.05)
        self.io.submit(self.commands.run(), name="telegram commands")
        assert self.commands.synced.wait(WAIT), "the commands never reached the fake"

    def close(self) -> None:
        self.io.submit(self.commands.stop()).result(timeout=10)
        self.io.submit(self.notifier.drain(0.5)).result(timeout=10)
        self.io.stop()

    def __enter__(self) -> "Remote":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def said(fake, fragment: str) -> list[str]:
    return [t for t in fake.sent() if fragment in t]


def answered(fake, fragment: str, times: int = 1) -> bool:
    return fake.wait_for(lambda: len(said(fake, fragment)) >= times, timeout=WAIT)


def taken(fake) -> bool:
    """Every update pushed so far was handled (the bot confirmed it with its next poll)."""
    return fake.wait_for(lambda: fake.pending_updates() == 0, timeout=WAIT)


# -- 1. a bad command gets an answer; the loop never dies ---------------------------------------
def test_a_count_in_superscript_digits_gets_an_answer_and_stop_still_works(telegram_fake):
    control = Control()
    with Remote(telegram_fake, control):
        for text in ("/trades ²", "/trades 0", "/trades 51", "/trades x", "/trades 2 3"):
            telegram_fake.push_command(OWNER_CHAT, text)
        telegram_fake.push_command(OWNER_CHAT, "/pause")
        telegram_fake.push_command(OWNER_CHAT, "/stop")
        assert answered(telegram_fake, "Stopping after the bar in hand")
        assert control.stopped.wait(WAIT)  # the reply goes out first, then the bot stops
    texts = telegram_fake.sent()
    assert len(said(telegram_fake, "give a whole number from 1 to 50, written with the digits "
                                   "0-9")) == 4
    assert said(telegram_fake, "/trades ²: give a whole number")
    assert said(telegram_fake, "/trades takes one number, not 2 words")
    assert any(t.startswith("Paused: no new entries") for t in texts)
    assert control.paused and control.stopped_by == "telegram /stop"


def test_a_command_that_fails_is_answered_with_its_error_and_the_next_one_works(
        telegram_fake, caplog):
    control = Control()
    control.fail_status = RuntimeError("database is locked")
    with caplog.at_level(logging.ERROR, logger="notify"), Remote(telegram_fake, control):
        telegram_fake.push_command(OWNER_CHAT, "/status")
        telegram_fake.push_command(OWNER_CHAT, "/pause")
        assert answered(telegram_fake, "Paused: no new entries")
    (failure,) = said(telegram_fake, "/status failed")
    assert failure == ("/status failed: RuntimeError: database is locked. The bot goes on; the "
                       "log has the details.")
    assert any("telegram: /status failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_polling_that_ends_unexpectedly_restarts_and_says_so(telegram_fake, caplog):
    control = Control()
    with caplog.at_level(logging.ERROR, logger="notify"), \
            Remote(telegram_fake, control, memory=FailingOnce()) as remote:
        telegram_fake.push_command(OWNER_CHAT, "/pause")  # its memory write fails: polling ends
        assert answered(telegram_fake, "Command polling stopped (RuntimeError: disk I/O error) "
                                       "and restarts now")
        assert not control.paused  # not carried out, and the chat was told so
        telegram_fake.push_command(OWNER_CHAT, "/pause")
        assert answered(telegram_fake, "Paused: no new entries")
        # the polling task ended by anyone but stop(): restarted, and said so again
        remote.io.loop.call_soon_threadsafe(remote.commands.poller.cancel)
        assert answered(telegram_fake, "Command polling stopped (its task was cancelled)")
        telegram_fake.push_command(OWNER_CHAT, "/stop")
        assert answered(telegram_fake, "Stopping after the bar in hand")
        assert control.stopped.wait(WAIT)  # the reply goes out first, then the bot stops
    assert control.stopped_by == "telegram /stop" and remote.commands.restarts == 2
    assert any("restarting it in" in r.getMessage() for r in caplog.records)


# -- 2. only commands addressed to this bot -----------------------------------------------------
def test_a_command_addressed_to_another_bot_is_ignored(telegram_fake):
    control = Control()
    with Remote(telegram_fake, control):
        telegram_fake.push_command(OWNER_CHAT, "/pause@some_other_bot")
        telegram_fake.push_command(OWNER_CHAT, "/stop@some_other_bot now")
        telegram_fake.push_command(OWNER_CHAT, "/status@FAKE_Trading_Bot")  # this bot, any case
        assert answered(telegram_fake, "| cash ")
        assert not control.paused and control.stopped_by is None
        telegram_fake.push_command(OWNER_CHAT, "/pause@fake_trading_bot")
        assert answered(telegram_fake, "Paused: no new entries")
    assert control.paused and control.stopped_by is None
    assert len(telegram_fake.sent()) == 2  # nothing said about the other bot's commands


# -- 3. edited messages, and other senders in a group -------------------------------------------
def test_an_edited_message_is_never_acted_on(telegram_fake):
    control = Control()
    with Remote(telegram_fake, control):
        telegram_fake.push_command(OWNER_CHAT, "/stop", edited=True)  # was /status, edited
        telegram_fake.push_command(OWNER_CHAT, "/status")
        assert answered(telegram_fake, "| cash ")
    assert control.stopped_by is None
    assert said(telegram_fake, "Edited messages are not acted on: send /stop again as a new "
                               "message if you want it.")


def test_in_a_group_chat_only_allowed_senders_command_the_bot(telegram_fake, caplog):
    control = Control()
    owner, stranger = 5001, 5002
    with caplog.at_level(logging.WARNING, logger="notify"), \
            Remote(telegram_fake, control, chat=GROUP, allowed=(owner,)):
        telegram_fake.push_command(GROUP, "/pause", sender=stranger)
        telegram_fake.push_command(GROUP, "/stop", sender=stranger)
        telegram_fake.push_command(GROUP, "good morning", sender=owner)  # talk, not a command
        telegram_fake.push_command(GROUP, "/status", sender=owner)
        assert answered(telegram_fake, "| cash ")
    assert not control.paused and control.stopped_by is None
    assert len(telegram_fake.sent()) == 1
    assert any(f"ignored '/stop' from user {stranger} in chat {GROUP}: not in "
               "notifications.telegram.allowed_user_ids" in r.getMessage() for r in caplog.records)


def test_in_a_group_chat_without_an_allow_list_nobody_commands_the_bot(telegram_fake, caplog):
    control = Control()
    with caplog.at_level(logging.WARNING, logger="notify"), \
            Remote(telegram_fake, control, chat=GROUP):
        telegram_fake.push_command(GROUP, "/stop", sender=5001)
        assert taken(telegram_fake)
    assert control.stopped_by is None and telegram_fake.sent() == []
    lines = [r.getMessage() for r in caplog.records]
    assert any("is a group and notifications.telegram.allowed_user_ids is empty" in x
               for x in lines)
    assert any("ignored '/stop' from user 5001" in x and "none are set" in x for x in lines)


# -- 4. Telegram's order, not the host's clock --------------------------------------------------
def test_commands_are_obeyed_whatever_the_host_clock_says_of_their_date(telegram_fake):
    control = Control()
    with Remote(telegram_fake, control):
        # the host's clock 2 h fast: Telegram's dates look 2 h old
        telegram_fake.push_command(OWNER_CHAT, "/status", date=time.time() - TWO_HOURS)
        telegram_fake.push_command(OWNER_CHAT, "/pause", date=time.time() - TWO_HOURS)
        telegram_fake.push_command(OWNER_CHAT, "/stop", date=time.time() - TWO_HOURS)
        assert answered(telegram_fake, "Stopping after the bar in hand")
        assert control.stopped.wait(WAIT)  # the reply goes out first, then the bot stops
    assert said(telegram_fake, "| cash ") and control.paused
    assert control.stopped_by == "telegram /stop"


def test_a_stop_sent_while_the_bot_was_down_does_not_stop_the_next_run(telegram_fake, sqlite_url):
    store = Store(sqlite_url)
    memory = StoredCommands(store, "0001")
    control = Control()
    telegram_fake.push_command(OWNER_CHAT, "/stop")  # before the first run ever: not obeyed
    with Remote(telegram_fake, control, memory=memory):
        assert answered(telegram_fake, "Skipped 1 command sent before this run could take "
                                       "commands (the bot was not running or could not reach "
                                       "Telegram): /stop. Send again what you still want.")
        # the host's clock 2 h slow: Telegram's dates look 2 h ahead
        telegram_fake.push_command(OWNER_CHAT, "/status", date=time.time() + TWO_HOURS)
        assert answered(telegram_fake, "| cash ")
    assert control.stopped_by is None
    # the bot is down; the owner sends /pause then /stop (dated 2 h "in the future")
    for text in ("/pause", "/stop"):
        telegram_fake.push_command(OWNER_CHAT, text, date=time.time() + TWO_HOURS)
    with Remote(telegram_fake, control, memory=StoredCommands(store, "0001")):
        assert answered(telegram_fake, "Skipped 2 commands sent before this run could take "
                                       "commands")
        telegram_fake.push_command(OWNER_CHAT, "/status")
        assert answered(telegram_fake, "| cash ", times=2)
    assert control.stopped_by is None and not control.paused
    assert said(telegram_fake, "Skipped 2 commands")[0].endswith(": /pause, /stop. Send again "
                                                                  "what you still want.")
    rows = [(e["text"], e["outcome"]) for e in store.events("0001", "command")]
    assert rows == [("/stop", "skipped"), ("/status", "obeyed"), ("/pause", "skipped"),
                    ("/stop", "skipped"), ("/status", "obeyed")]
    store.close()


def test_a_command_an_earlier_run_took_is_not_listed_as_missed(telegram_fake, sqlite_url):
    store = Store(sqlite_url)
    memory = StoredCommands(store, "0001")
    # a run that took /pause and was killed before it confirmed the update to Telegram
    taken_id = telegram_fake.push_command(OWNER_CHAT, "/pause")
    memory.record(taken_id, "/pause", "obeyed")
    telegram_fake.push_command(OWNER_CHAT, "/stop")  # sent while the bot was down
    control = Control()
    with Remote(telegram_fake, control, memory=memory):
        assert answered(telegram_fake, "Skipped 1 command")
        telegram_fake.push_command(OWNER_CHAT, "/status")
        assert answered(telegram_fake, "| cash ")
    (note,) = said(telegram_fake, "Skipped")
    assert ": /stop. Send again" in note and "/pause" not in note
    assert not control.paused and control.stopped_by is None
    store.close()


# -- 5. replies share the channel's rate limit; trade alerts go first ---------------------------
def test_a_flood_of_commands_gets_replies_at_the_rate_limit_and_a_trade_goes_first(telegram_fake):
    control = Control()
    burst = 20  # rate_limit_per_minute 20: a burst of 20, then one every 3 s
    with Remote(telegram_fake, control, rate=burst) as remote:
        for _ in range(30):
            telegram_fake.push_command(OWNER_CHAT, "/status")
        assert taken(telegram_fake) and answered(telegram_fake, "| cash ", times=burst)
        assert remote.commands.handled == 30
        assert len(telegram_fake.sent()) == burst  # the other 10 wait for the rate limit
        remote.notifier.publish(TradeOpened(time=utcnow(), symbol="ETHBTC", size=1.0,
                                            entry_price=0.05, fee=0.01, entry_mixin="RSI"))
        assert telegram_fake.wait_for(lambda: len(telegram_fake.sent()) > burst, timeout=WAIT)
        assert "ENTRY buy 1 @ 0.05" in telegram_fake.sent()[burst]  # before the waiting replies


@pytest.mark.parametrize("word", ["²", "٣", "1e3", "-1", "0x10", "", "007"])
def test_a_count_is_ascii_digits_from_1_to_50(word):
    from notify.commands import parse_count
    assert parse_count(word) == (7 if word == "007" else None)
