"""Each channel through its real client library against a loopback server, via the notifier:
python-telegram-bot against the Bot API fake, smtplib against aiosmtpd (STARTTLS + AUTH),
httpx against the webhook receiver."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

import pytest

from fake_secrets import OWNER_CHAT, SMTP_PASSWORD, SMTP_USER, TELEGRAM_TOKEN
from notify.channel import ChannelLimits
from notify.email import EmailChannel
from notify.notifier import Notifier
from notify.settings import EmailSettings, TelegramSettings, WebhookSettings
from notify.telegram import TelegramChannel
from notify.webhook import WebhookChannel
from trading.core.events import StatusEvent, TradeClosed, TradeOpened

BAR = datetime(2018, 1, 10, 16, 10, tzinfo=timezone.utc)
ENTRY = TradeOpened(time=BAR, symbol="ETHBTC", size=1094.9558, entry_price=0.09132789, fee=0.1,
                    entry_mixin="RSIBBVolumeEntryMixin", equity=1000.4169)
EXIT = TradeClosed(entry_time=BAR, exit_time=datetime(2018, 1, 11, 2, 0, tzinfo=timezone.utc),
                   symbol="ETHBTC", side="long", size=1094.9558, entry_price=0.09132789,
                   exit_price=0.0952, pnl=4.0321, pnl_pct=4.03, fees=0.2042,
                   exit_reason="RSIBBExitMixin:rsi_overbought_and_upper_band", bars_held=118,
                   entry_mixin="RSIBBVolumeEntryMixin", equity=1004.44)
STATUS = StatusEvent(time=BAR, change="data", message="data LIVE (was DELAYED)")
ALL = ("trade_entry", "trade_exit", "status")


def limits(notify_on=ALL, timeout=5.0, rate=600.0) -> ChannelLimits:
    return ChannelLimits(notify_on=notify_on, timeout_seconds=timeout, rate_limit_per_minute=rate)


def telegram(fake, **kw) -> TelegramChannel:
    return TelegramChannel(TelegramSettings(TELEGRAM_TOKEN, str(OWNER_CHAT), fake.url), limits(**kw))


def webhook(fake, fmt="text", **kw) -> WebhookChannel:
    return WebhookChannel(WebhookSettings(fake.hook_url, fmt), limits(**kw))


def email(fake, password=SMTP_PASSWORD, **kw) -> EmailChannel:
    settings = EmailSettings(host="127.0.0.1", port=fake.port, security="starttls",
                             username=SMTP_USER, password=password, from_addr=SMTP_USER,
                             to_addrs=("ops@example.com",))
    return EmailChannel(settings, limits(**kw))


def send(channels, events, drain=10.0, **notifier_options) -> bool:
    """Publish ``events`` through a notifier on a fresh loop and drain it; True if all went out."""
    async def go() -> bool:
        notifier = Notifier(channels, bot_id="7001", symbol="ETHBTC", **notifier_options)
        await notifier.start()
        for event in events:
            notifier.publish(event)
        return await notifier.drain(drain)
    return asyncio.run(go())


def test_telegram_and_both_webhook_formats_receive_the_same_facts(telegram_fake, webhook_fake):
    assert send([telegram(telegram_fake), webhook(webhook_fake, "text")], [ENTRY, EXIT])
    entry, exit_ = telegram_fake.sent(OWNER_CHAT)
    assert entry.startswith("[7001 ETHBTC] ENTRY buy 1094.9558 @ 0.09132789")
    assert "bar 2018-01-10 16:10 UTC" in entry and "equity 1000.4169" in entry
    assert "fee 0.1" in entry and "RSIBBVolumeEntryMixin" in entry
    assert exit_.startswith("[7001 ETHBTC] EXIT pnl +4.0321 (+4.03%)")
    for fact in ("sell 1094.9558 @ 0.0952", "RSIBBExitMixin:rsi_overbought_and_upper_band",
                 "fees 0.2042", "held 118 bars", "bar 2018-01-11 02:00 UTC", "equity 1004.44"):
        assert fact in exit_
    assert webhook_fake.bodies() == [{"text": entry}, {"text": exit_}]


def test_json_webhook_posts_the_raw_event_with_the_bot_id(webhook_fake):
    assert send([webhook(webhook_fake, "json")], [EXIT])
    (body,) = webhook_fake.bodies()
    assert body["kind"] == "trade_exit" and body["bot_id"] == "7001" and body["symbol"] == "ETHBTC"
    assert body["exit_time"] == "2018-01-11T02:00:00Z" and body["pnl"] == 4.0321
    assert body["equity"] == 1004.44 and body["exit_reason"].startswith("RSIBBExitMixin")


def test_each_channel_sends_only_what_its_notify_on_lists(telegram_fake, webhook_fake):
    assert send([telegram(telegram_fake, notify_on=("trade_exit",)),
                 webhook(webhook_fake, "json", notify_on=("trade_entry", "status"))],
                [ENTRY, STATUS, EXIT])
    assert [t.split("\n")[0].split("] ")[1][:4] for t in telegram_fake.sent()] == ["EXIT"]
    assert [b["kind"] for b in webhook_fake.bodies()] == ["trade_entry", "status"]


def test_telegram_flood_control_is_waited_out_as_retry_after_says(telegram_fake, caplog):
    telegram_fake.misbehave.status, telegram_fake.misbehave.times = 429, 1
    telegram_fake.misbehave.retry_after = 1
    with caplog.at_level(logging.WARNING, logger="notify"):
        assert send([telegram(telegram_fake)], [ENTRY])
    assert len(telegram_fake.sent()) == 1 and telegram_fake.send_attempts == 2
    (line,) = [r.getMessage() for r in caplog.records]
    assert "flood control, retry after 1s" in line and "attempt 2 of 3 in 1s" in line


def test_email_arrives_over_starttls_with_auth_with_subject_and_body(smtp_fake, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp_fake.cert_file))  # trust the test's own cert
    assert send([email(smtp_fake)], [EXIT])
    assert smtp_fake.wait_for(lambda: smtp_fake.messages, timeout=10)
    (mail,) = smtp_fake.messages
    assert mail["Subject"] == "[7001 ETHBTC] EXIT pnl +4.0321 (+4.03%)"
    assert mail["From"] == SMTP_USER and mail["To"] == "ops@example.com"
    body = mail.get_content()
    assert "RSIBBExitMixin:rsi_overbought_and_upper_band" in body and "equity 1004.44" in body
    assert smtp_fake.envelopes == [{"from": SMTP_USER, "to": ["ops@example.com"]}]


def test_email_with_a_wrong_password_is_logged_without_the_password(smtp_fake, monkeypatch, caplog):
    monkeypatch.setenv("SSL_CERT_FILE", str(smtp_fake.cert_file))
    with caplog.at_level(logging.WARNING, logger="notify"):
        send([email(smtp_fake, password="wrong-password-1234")], [EXIT], base_backoff=0.05)
    assert smtp_fake.messages == [] and smtp_fake.auth_failures >= 3
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3 and all(f"refused the login of {SMTP_USER} (535)" in x for x in lines)
    assert "giving it up" in lines[-1]
    assert not any("wrong-password-1234" in x for x in lines)


def test_a_failing_channel_is_logged_once_per_attempt_and_backs_off(webhook_fake, caplog):
    webhook_fake.misbehave.status = 500
    with caplog.at_level(logging.WARNING, logger="notify"):
        send([webhook(webhook_fake)], [ENTRY, EXIT], base_backoff=0.05)
    lines = [r.getMessage() for r in caplog.records if "webhook:" in r.getMessage()]
    # three attempts per message, each one logged once with the backoff it waits
    assert webhook_fake.attempts == 6 and len(lines) == 6
    assert all("answered HTTP 500" in x for x in lines)
    delays = [float(x.rsplit(" in ", 1)[1].rstrip("s")) for x in lines]
    assert delays == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6]  # the backoff grows while the channel fails
    assert "hooks/T000/secret-path" not in "\n".join(lines)  # a webhook url is a secret


def test_a_slow_channel_times_out_and_does_not_hold_up_the_others(telegram_fake, webhook_fake,
                                                                   caplog):
    webhook_fake.misbehave.delay = 1.0
    with caplog.at_level(logging.WARNING, logger="notify"):
        send([webhook(webhook_fake, timeout=0.2), telegram(telegram_fake)], [ENTRY, EXIT],
             drain=1.0, base_backoff=0.05)
    assert len(telegram_fake.sent()) == 2
    assert any("webhook: could not send trade_entry (no answer within 0.2s)" in r.getMessage()
               for r in caplog.records)


def test_drain_at_shutdown_gives_up_after_its_time_on_a_dead_channel(caplog):
    dead = WebhookChannel(WebhookSettings("http://127.0.0.1:9/hook", "text"), limits())
    with caplog.at_level(logging.WARNING, logger="notify"):
        assert send([dead], [ENTRY, EXIT], drain=0.3) is False
    assert any("message(s) not sent at shutdown" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("down", ["telegram", "webhook"])
def test_a_channel_whose_server_is_down_is_reported_as_a_connection_failure(down, caplog):
    channel = (TelegramChannel(TelegramSettings(TELEGRAM_TOKEN, "1", "http://127.0.0.1:9"), limits())
               if down == "telegram" else
               WebhookChannel(WebhookSettings("http://127.0.0.1:9/x", "text"), limits()))
    with caplog.at_level(logging.WARNING, logger="notify"):
        send([channel], [ENTRY], drain=0.2, base_backoff=5)
    (line,) = [r.getMessage() for r in caplog.records if "could not send" in r.getMessage()]
    assert f"{down}: could not send trade_entry" in line and TELEGRAM_TOKEN not in line
