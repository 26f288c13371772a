"""The notifier's parts: the full queue's drop order, the rate limit, channel settings from
config and environment, and the command router over a control facade."""
from __future__ import annotations

from datetime import datetime, timezone

from notify.channel import TokenBucket
from trading.core.redaction import redact
from notify.commands import CommandRouter
from notify.messages import PRIORITY_NORMAL, PRIORITY_STATUS, PRIORITY_TRADE, format_event
from notify.outbox import Outbox
from notify.settings import resolve
from trading.core.events import DailySummaryEvent, KillSwitchEvent


def test_a_full_outbox_drops_status_first_then_others_and_a_trade_only_when_nothing_else_is_left():
    box: Outbox[str] = Outbox(3)
    assert box.put("trade 1", PRIORITY_TRADE) is None
    assert box.put("status 1", PRIORITY_STATUS) is None
    assert box.put("error 1", PRIORITY_NORMAL) is None
    assert box.put("trade 2", PRIORITY_TRADE) == "status 1"
    assert box.put("trade 3", PRIORITY_TRADE) == "error 1"
    assert box.put("status 2", PRIORITY_STATUS) == "trade 1"  # only trades were left
    assert [box.get(), box.get(), box.get(), box.get()] == ["trade 2", "trade 3", "status 2", None]
    assert box.dropped == 3


def test_the_rate_limit_allows_a_burst_then_spaces_sends_evenly():
    now = [0.0]
    bucket = TokenBucket(per_minute=3, clock=lambda: now[0])  # a burst of 3, then one per 20 s
    assert [bucket.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 20.0, 40.0]
    now[0] = 200.0  # long idle: the burst is back, never more
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, 20.0]


def test_the_environment_wins_and_a_channel_says_what_it_lacks():
    options = {"smtp_host": "mail.example.com", "smtp_port": 587, "security": "starttls",
               "to_addrs": ["a@example.com"], "from_addr": "bot@example.com"}
    env = {"SMTP_USERNAME": "u", "SMTP_PASSWORD": "pw-Secret-9", "SMTP_HOST": "relay.example.com",
           "SMTP_SECURITY": "ssl", "EMAIL_TO": "x@example.com, y@example.com"}
    email = resolve("email", options, env).settings
    assert (email.host, email.port, email.security) == ("relay.example.com", 587, "ssl")
    assert email.to_addrs == ("x@example.com", "y@example.com") and "pw-Secret-9" not in repr(email)
    bad = resolve("email", options, {**env, "SMTP_PORT": "smtp", "SMTP_SECURITY": "tls"})
    assert bad.settings is None and bad.missing == (
        "SMTP_SECURITY to be one of starttls, ssl, none (it is 'tls')",
        "SMTP_PORT to be a port number (it is 'smtp')")
    telegram = resolve("telegram", {"chat_id": "1"}, {"TELEGRAM_BOT_TOKEN": "t0k3n:abc",
                                                      "TELEGRAM_CHAT_ID": "2",
                                                      "TELEGRAM_API_URL": "http://127.0.0.1:1/"})
    assert telegram.settings.chat_id == "2" and telegram.settings.api_url == "http://127.0.0.1:1"
    assert "t0k3n" not in repr(telegram.settings)
    assert resolve("webhook", {"url": "ftp://x"}, {}).missing == (
        "an http:// or https:// url (got 'ftp:...')",)


def test_secrets_are_redacted_from_error_texts():
    assert redact("POST /bot123:abc/sendMessage failed", ["123:abc", ""]) == \
        "POST /bot***/sendMessage failed"


def test_kill_switch_and_daily_summary_read_well():
    at = datetime(2018, 1, 12, 0, 0, tzinfo=timezone.utc)
    kill = format_event(KillSwitchEvent(time=at, reason="drawdown 21.00% from peak 1000.00",
                                        drawdown_pct=21.0), "0001", "ETHBTC")
    assert kill.title == "[0001 ETHBTC] KILL SWITCH ON" and "drawdown 21.00%" in kill.body
    day = format_event(DailySummaryEvent(day="2018-01-11", trades=3, pnl=-1.5, equity=998.5,
                                         wins=2, fees=0.3, drawdown_pct=1.25,
                                         period_start=at.replace(day=11), period_end=at),
                       "0001", "ETHBTC")
    assert day.title == "[0001 ETHBTC] daily summary 2018-01-11"
    assert day.body.splitlines()[:3] == ["trades 3 | win rate 67%", "pnl -1.5 | fees 0.3",
                                         "equity 998.5 | drawdown 1.25%"]


class StubControl:
    """A hand-written control facade that records what it was asked to do."""

    def __init__(self) -> None:
        self.paused = False
        self.stopped_by: str | None = None

    def status(self):
        return {"bot_id": "0001", "symbol": "ETHBTC", "state": "running", "data_status": "LIVE",
                "last_bar_time": "2018-01-12T00:00:00Z", "value": 1001.5, "cash": 900.0,
                "position": {"size": 2.0, "entry_price": 0.05, "unrealized_pnl": 0.01},
                "entries_today": 1, "pnl_today": 1.5, "drawdown_pct": 0.5, "kill_switch": False,
                "paused": self.paused}

    def positions(self):
        return []

    def trades(self, count=5):
        return [{"exit_time": datetime(2018, 1, 11, 5, tzinfo=timezone.utc), "pnl": 1.0,
                 "pnl_pct": 2.0, "size": 2.0, "entry_price": 0.049, "exit_price": 0.05,
                 "exit_reason": "take_profit"}][:count]

    def pnl(self, period="day"):
        return {"period": period, "since": None, "trades": 4, "wins": 3, "win_rate_pct": 75.0,
                "pnl": 2.5, "fees": 0.2, "unrealized_pnl": 0.01, "value": 1001.5}

    def pause(self, by):
        changed, self.paused = not self.paused, True
        return changed

    def resume(self, by):
        changed, self.paused = self.paused, False
        return changed

    def stop(self, by):
        self.stopped_by = by


def test_commands_answer_from_the_control_facade_and_stop_only_after_the_reply():
    control = StubControl()
    router = CommandRouter(control)
    status = router.handle("/status@fake_trading_bot").text
    assert status.startswith("[0001 ETHBTC] running, data LIVE")
    assert "position 2 @ 0.05, unrealized +0.01" in status and "entries active" in status
    assert router.handle("/positions").text == "No open position."
    assert "pnl +1 (+2.00%)" in router.handle("/trades 1").text
    assert router.handle("/pnl all").text.startswith("pnl all (all time): +2.5\n4 trades, win rate 75%")
    assert router.handle("/pnl month").text == "Use /pnl day, /pnl week or /pnl all."
    assert router.handle("/pause").text.startswith("Paused: no new entries")
    assert router.handle("/pause").text.startswith("Already paused")
    assert "entries PAUSED" in router.handle("/status").text
    assert router.handle("/resume").text.startswith("Resumed")
    reply = router.handle("/stop")
    assert reply.text.startswith("Stopping") and control.stopped_by is None
    reply.then()
    assert control.stopped_by == "telegram /stop"
    assert router.handle("/frobnicate").text.startswith("Unknown command /frobnicate.")
    assert "/pnl [day|week|all]" in router.handle("/help").text


def test_allowed_telegram_user_ids_come_from_the_environment_or_the_config():
    env = {"TELEGRAM_BOT_TOKEN": "t0k3n:abc", "TELEGRAM_CHAT_ID": "-100"}
    assert resolve("telegram", {"allowed_user_ids": [5, 6]}, env).settings.allowed_user_ids == (5, 6)
    both = resolve("telegram", {"allowed_user_ids": [5]}, {**env, "TELEGRAM_ALLOWED_USER_IDS": " 7, 8"})
    assert both.settings.allowed_user_ids == (7, 8)
    assert resolve("telegram", {}, env).settings.allowed_user_ids == ()
    bad = resolve("telegram", {}, {**env, "TELEGRAM_ALLOWED_USER_IDS": "7,@owner"})
    assert bad.settings is None and "whole numbers in TELEGRAM_ALLOWED_USER_IDS" in bad.explain(
        "telegram") and "'@owner'" in bad.explain("telegram")


def test_a_flood_of_replies_keeps_the_newest_and_says_the_oldest_were_dropped(caplog):
    import asyncio
    import logging

    from notify.channel import ChannelLimits
    from notify.worker import REPLY_QUEUE, ChannelWorker

    class Silent:
        name = "telegram"
        limits = ChannelLimits(notify_on=(), rate_limit_per_minute=20)

    async def flood() -> list:
        worker = ChannelWorker(Silent())  # not running: nothing is sent, replies pile up
        return [worker.reply(f"answer {i}") for i in range(REPLY_QUEUE + 5)]

    with caplog.at_level(logging.WARNING, logger="notify"):
        futures = asyncio.run(flood())
    assert [f.done() and f.result() for f in futures[:5]] == [False] * 5  # dropped, never sent
    assert not any(f.done() for f in futures[5:])
    (line,) = [r.getMessage() for r in caplog.records]
    assert "more replies than the rate limit lets out (20 a minute)" in line


def test_a_smtp_port_in_superscript_digits_is_refused_with_a_reason_not_a_crash():
    env = {"SMTP_PORT": "²", "SMTP_SECURITY": "none", "EMAIL_TO": "a@b.c", "SMTP_FROM": "x@y.z"}
    resolved = resolve("email", {}, env)
    assert resolved.settings is None and "SMTP_PORT to be a port number (it is '²')" in \
        resolved.explain("email")
