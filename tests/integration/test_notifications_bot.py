"""Notifications and Telegram commands of the real bot (a subprocess on the file source), seen
from the loopback servers: what a user's phone, mailbox and webhook would receive."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bot_workspace import SAMPLE, BotWorkspace, clean_run_trades, epoch_of, stored_time, wait_until
from fake_secrets import OWNER_CHAT, SMTP_PASSWORD, SMTP_USER, TELEGRAM_TOKEN
from fakes.smtp_server import free_port

EVERYTHING = ["trade_entry", "trade_exit", "error", "status", "daily_summary", "order_rejected",
              "kill_switch"]
FAST = {"timeout_seconds": 0.5, "rate_limit_per_minute": 6000}


def channels(telegram: Any = None, webhook: Any = None, email: Any = None, **extra: Any) -> dict:
    """A notifications section: each fake given gets its channel, with ``notify_on`` EVERYTHING
    unless a (fake, notify_on) pair is given."""
    section: dict[str, Any] = {"enabled": True, **extra}
    for name, given in (("telegram", telegram), ("webhook", webhook), ("email", email)):
        if given is None:
            continue
        fake, notify_on = given if isinstance(given, tuple) else (given, EVERYTHING)
        section[name] = {"enabled": True, "notify_on": notify_on, **FAST}
        if name == "webhook":
            section[name].update(url=fake.hook_url, format="json")
        if name == "email":
            section[name].update(smtp_host="127.0.0.1", smtp_port=fake.port,
                                 to_addrs=["ops@example.com"])
    return section


def secrets_env(ws: BotWorkspace, telegram=None, smtp=None) -> dict[str, str]:
    env = ws.env()
    env.update(TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_CHAT_ID=str(OWNER_CHAT),
               SMTP_USERNAME=SMTP_USER, SMTP_PASSWORD=SMTP_PASSWORD)
    if telegram is not None:
        env["TELEGRAM_API_URL"] = telegram.url
    if smtp is not None:
        env["SSL_CERT_FILE"] = str(smtp.cert_file)
    return env


def run(ws: BotWorkspace, env: dict[str, str]):
    return subprocess.run(ws.command(), cwd=ws.root, env=env, text=True, capture_output=True,
                          timeout=180)


def start(ws: BotWorkspace, env: dict[str, str]):
    return subprocess.Popen(ws.command(), cwd=ws.root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> list[tuple]:
    """The trades of a run with notifications off."""
    return clean_run_trades(tmp_path_factory.mktemp("notify-reference"))


@pytest.fixture
def ws(tmp_path: Path) -> BotWorkspace:
    return BotWorkspace(tmp_path / "bot")


def kinds(bodies: list[dict]) -> list[str]:
    return [b["kind"] for b in bodies]


def test_a_run_with_every_channel_on_reaches_phone_mailbox_and_webhook(
        ws, reference, telegram_fake, webhook_fake, smtp_fake):
    ws.write_config(notifications=channels(telegram=(telegram_fake, ["trade_entry", "trade_exit",
                                                                     "status"]),
                                           webhook=webhook_fake,
                                           email=(smtp_fake, ["trade_exit"])))
    result = run(ws, secrets_env(ws, telegram_fake, smtp_fake))
    assert result.returncode == 0, result.stderr
    assert ws.trades() == reference  # notifications change nothing in the trading
    n = len(reference)
    # telegram: start, every entry and exit with its facts, stop; in order
    texts = telegram_fake.sent(OWNER_CHAT)
    heads = [t.split("\n")[0] for t in texts]
    assert heads[0] == "[7001 ETHBTC] started" and heads[-1] == "[7001 ETHBTC] stopped"
    assert sum(" ENTRY buy " in h for h in heads) == n and sum(" EXIT pnl " in h for h in heads) == n
    first_exit = next(t for t in texts if " EXIT " in t)
    entry_time, exit_time, size, _, exit_price, pnl, fees, reason, bars = reference[0][:9]
    assert f"sell {size:.8g} @ {exit_price:.8g}" in first_exit and f"reason {reason}" in first_exit
    assert f"pnl {pnl:+.8g}" in first_exit and f"fees {fees:.8g}" in first_exit
    bar = datetime.fromtimestamp(exit_time, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    assert f"bar {bar}" in first_exit and "| equity " in first_exit
    # the webhook (json) gets the raw events, email only the exits (its notify_on)
    bodies = webhook_fake.bodies()
    assert kinds(bodies).count("trade_entry") == n and kinds(bodies).count("trade_exit") == n
    assert bodies[0]["kind"] == "status" and bodies[0]["change"] == "started"
    assert all(b["bot_id"] == "7001" and b["symbol"] == "ETHBTC" for b in bodies)
    assert smtp_fake.wait_for(lambda: len(smtp_fake.messages) == n, timeout=10)
    assert [m["Subject"] for m in smtp_fake.messages] == [h for h in heads if " EXIT " in h]
    # the start and stop are in the journal and the database as well
    events = [json.loads(x) for x in
              (ws.root / "logs" / "json" / ws.bot_id / "events.jsonl").read_text().splitlines()]
    assert [e["change"] for e in events if e["kind"] == "status"][:1] == ["started"]
    assert [e["change"] for e in events if e["kind"] == "status"][-1] == "stopped"
    # no secret anywhere: terminal, log, journal, status file, database
    outputs = [result.stdout.encode(), result.stderr.encode()]
    outputs += [p.read_bytes() for p in ws.root.rglob("*") if p.is_file()]
    for secret in (TELEGRAM_TOKEN, SMTP_PASSWORD, TELEGRAM_TOKEN.split(":")[1]):
        assert not any(secret.encode() in blob for blob in outputs), secret
    written = [result.stdout.encode(), result.stderr.encode()]
    written += [p.read_bytes() for p in ws.root.rglob("*") if p.is_file() and "config" not in p.parts]
    assert not any(b"secret-path" in blob for blob in written)  # the webhook url is a secret too


def test_channels_that_fail_change_nothing_in_the_trading_and_are_logged_per_backoff(
        ws, reference, telegram_fake, webhook_fake):
    telegram_fake.misbehave.status, telegram_fake.misbehave.retry_after = 429, 1
    webhook_fake.misbehave.status = 500
    fake_down = type("Down", (), {"port": free_port()})()  # an SMTP port nobody listens on
    section = channels(telegram=telegram_fake, webhook=webhook_fake, email=fake_down)
    for name in ("telegram", "webhook", "email"):  # failures here are answers, not timeouts
        section[name]["timeout_seconds"] = 10
    ws.write_config(notifications=section)
    result = run(ws, secrets_env(ws, telegram_fake))
    assert result.returncode == 0, result.stderr
    assert ws.trades() == reference
    log = result.stderr
    tg = [x for x in log.splitlines() if "telegram: could not send" in x]
    hook = [x for x in log.splitlines() if "webhook: could not send" in x]
    mail = [x for x in log.splitlines() if "email: could not send" in x]
    assert tg and all("flood control, retry after 1s" in x for x in tg)
    assert hook and all("answered HTTP 500" in x for x in hook)
    assert mail and all("ConnectionRefusedError" in x for x in mail)
    # one line per attempt (but the one the shutdown cut short), and the backoff holds messages
    # back: far fewer attempts than messages
    assert telegram_fake.send_attempts - 1 <= len(tg) <= telegram_fake.send_attempts
    assert webhook_fake.attempts - 1 <= len(hook) <= webhook_fake.attempts
    assert webhook_fake.attempts < 2 * len(reference)
    assert "message(s) not sent at shutdown" in log and "Traceback" not in log


def test_a_slow_telegram_times_out_without_slowing_the_bot(ws, reference, telegram_fake):
    telegram_fake.misbehave.delay = 2.0
    ws.write_config(notifications=channels(telegram=telegram_fake))
    result = run(ws, secrets_env(ws, telegram_fake))
    assert result.returncode == 0, result.stderr
    assert ws.trades() == reference
    assert "telegram: could not send status (no answer within 0.5s)" in result.stderr


def test_an_enabled_channel_without_its_settings_is_one_message_and_the_bot_runs(ws, reference):
    ws.write_config(notifications={"enabled": True, "telegram": {"enabled": True}})
    env = ws.env()
    env.pop("TELEGRAM_BOT_TOKEN", None)
    result = run(ws, env)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("the telegram channel needs environment variable "
                               "TELEGRAM_BOT_TOKEN") == 1
    assert ws.trades() == reference


def replies(fake, marker: str) -> list[str]:
    return [t for t in fake.sent(OWNER_CHAT) if marker in t]


def status_file(ws: BotWorkspace) -> dict:
    try:
        return json.loads((ws.root / "logs" / "status" / f"{ws.bot_id}.json").read_text())
    except (OSError, ValueError):
        return {}


def entry_orders_after(ws: BotWorkspace, ts: float) -> int:
    return ws.query("SELECT count(*) FROM orders WHERE purpose = 'entry' AND created_at > ?",
                    stored_time(ts))[0][0]


def last_bar(ws: BotWorkspace) -> float:
    rows = ws.query("SELECT last_bar_ts FROM bots")
    return epoch_of(rows[0][0]) if rows and rows[0][0] is not None else 0.0


def test_telegram_commands_answer_the_owner_only_and_pause_holds_across_a_restart(
        ws, reference, telegram_fake):
    ws.write_config(data={"speed": 400}, logging={"heartbeat_seconds": 0.2},
                    notifications=channels(telegram=(telegram_fake, ["status"])))
    env = secrets_env(ws, telegram_fake)
    proc = start(ws, env)
    try:
        assert telegram_fake.wait_for(lambda: replies(telegram_fake, "] started"))
        telegram_fake.push_command(9999, "/status")  # a stranger first, then the owner
        telegram_fake.push_command(OWNER_CHAT, "/status")
        assert telegram_fake.wait_for(lambda: replies(telegram_fake, "| cash "))
        telegram_fake.push_command(OWNER_CHAT, "/pause")
        assert telegram_fake.wait_for(lambda: replies(telegram_fake, "Paused: no new entries"))
        paused_at = last_bar(ws) + 300  # applied at the latest on the next bar
        # the next entry the unpaused bot made after that point: the paused one must skip it
        skipped = next(t[0] - 300 for t in reference if t[0] - 300 > paused_at)
        assert wait_until(lambda: last_bar(ws) > skipped + 600, proc)
        assert entry_orders_after(ws, paused_at) == 0
        assert wait_until(lambda: status_file(ws).get("paused") is True, proc)
        telegram_fake.push_command(OWNER_CHAT, "/trades 2")
        closed = len(ws.trades())
        answer = f"Last {min(closed, 2)} trade" if closed else "No closed trades yet"
        assert telegram_fake.wait_for(lambda: replies(telegram_fake, answer))
        telegram_fake.push_command(OWNER_CHAT, "/stop")
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert len(replies(telegram_fake, "| cash ")) == 1  # the stranger got no answer
    assert "ignored '/status' from chat 9999" in err
    assert replies(telegram_fake, "Stopping after the bar in hand")
    assert "stop requested by telegram /stop" in err
    stopped_at = last_bar(ws)
    assert stopped_at < reference[-1][1], "the bot ran to the end instead of stopping"
    shown = subprocess.run([sys.executable, "-m", "trading.cli", "status"], cwd=ws.root,
                           env=ws.env(), text=True, capture_output=True, timeout=60)
    assert "stopped, entries PAUSED" in shown.stdout, shown.stdout + shown.stderr

    # sent while the bot is down, dated 2 h ahead (the host's clock slow): the next run skips it
    telegram_fake.push_command(OWNER_CHAT, "/stop", date=time.time() + 7200)
    # restarted: still paused until /resume
    proc = start(ws, env)
    try:
        assert telegram_fake.wait_for(lambda: len(replies(telegram_fake, "entries PAUSED")) == 1)
        assert telegram_fake.wait_for(lambda: replies(telegram_fake, "Skipped 1 command sent "
                                                                     "before this run"))
        def refused_while_paused() -> bool:  # by this run (the file's pid), not the first one
            status = status_file(ws)
            return status.get("pid") == proc.pid and status["entries_refused"].get("paused", 0) >= 1

        assert wait_until(refused_while_paused, proc)
        assert entry_orders_after(ws, stopped_at) == 0
        telegram_fake.push_command(OWNER_CHAT, "/resume")
        assert telegram_fake.wait_for(lambda: replies(telegram_fake, "Resumed: entries allowed"))
        resumed_at = last_bar(ws)
        assert wait_until(lambda: entry_orders_after(ws, resumed_at) >= 1, proc)
        telegram_fake.push_command(OWNER_CHAT, "/stop")
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "entry refused by paused" in err, err
    commands = [(e["text"], e["outcome"]) for e in map(json.loads, (row[0] for row in ws.query(
        "SELECT payload FROM events WHERE kind = 'command' ORDER BY id")))]
    assert commands == [("/status", "obeyed"), ("/pause", "obeyed"), ("/trades 2", "obeyed"),
                        ("/stop", "obeyed"), ("/stop", "skipped"), ("/resume", "obeyed"),
                        ("/stop", "obeyed")]
    (state,) = ws.query("SELECT state FROM risk_state")[0]
    assert json.loads(state)["paused"] is False


def short_data(tmp_path: Path, bars: int = 400) -> str:
    path = tmp_path / "short.csv"
    path.write_text("\n".join(SAMPLE.read_text().splitlines()[:bars + 1]) + "\n")
    return str(path)


def test_the_daily_summary_is_sent_once_per_day_also_late_and_across_restarts(
        ws, tmp_path, telegram_fake):
    data = {"file_path": short_data(tmp_path)}
    # first run: the bot exists from now on; a summary time long past does not fire
    first_slot = (datetime.now(timezone.utc) - timedelta(hours=12)).strftime("%H:%M:%S")
    ws.write_config(data=data, notifications=channels(telegram=telegram_fake,
                                                      daily_summary_time=first_slot))
    env = secrets_env(ws, telegram_fake)
    assert run(ws, env).returncode == 0
    assert not replies(telegram_fake, "daily summary")
    # the summary time passes while the bot is down: the next start sends it, late, once
    # the next whole second: surely after the first run's start (the file's times are seconds)
    slot = (datetime.now(timezone.utc) + timedelta(seconds=1)).replace(microsecond=0)
    time.sleep((slot - datetime.now(timezone.utc)).total_seconds() + 0.05)
    ws.write_config(data=data, notifications=channels(telegram=telegram_fake,
                                                      daily_summary_time=slot.strftime("%H:%M:%S")))
    second = run(ws, env)
    assert second.returncode == 0, second.stderr
    (summary,) = replies(telegram_fake, "daily summary")
    day = (slot - timedelta(days=1)).date().isoformat()
    assert summary.startswith(f"[7001 ETHBTC] daily summary {day}")
    assert "trades 0 | win rate 0%" in summary and "equity " in summary and "drawdown" in summary
    # restarted again the same day: not sent twice
    third = run(ws, env)
    assert third.returncode == 0, third.stderr
    assert len(replies(telegram_fake, "daily summary")) == 1
    assert len(ws.query("SELECT 1 FROM events WHERE kind = 'daily_summary'")) == 1


def test_a_webhook_url_from_the_environment_wins_over_the_config(ws, webhook_fake, tmp_path):
    section = channels(webhook=(webhook_fake, ["status"]))
    section["webhook"]["url"] = "http://127.0.0.1:9/not-this-one"
    ws.write_config(data={"file_path": short_data(tmp_path)}, notifications=section)
    env = ws.env()
    env["WEBHOOK_URL"] = webhook_fake.hook_url
    assert run(ws, env).returncode == 0
    assert [b["change"] for b in webhook_fake.bodies()][0] == "started"
    assert re.search(r"stopped", json.dumps(webhook_fake.bodies()[-1]))
