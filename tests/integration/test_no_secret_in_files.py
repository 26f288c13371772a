"""No secret in any file: a bot run at --log-level DEBUG, a replay, a sweep and status, with every
kind of secret configured (Telegram token, SMTP password, webhook URL, a database password, venue
keys), leave none of them in any file they write nor on the terminal.

At DEBUG, the HTTP libraries log each request's full URL (the webhook's, Telegram's
``/bot<token>/...``); replay and sweep copy the effective config into metrics.json and sweep.json,
files people share. The check is on values, wherever they appear.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot_workspace import BotWorkspace
from fake_secrets import OWNER_CHAT, SMTP_PASSWORD, SMTP_USER, TELEGRAM_TOKEN

DB_PASSWORD = "db-pw-Kx72-never-written"
BINANCE_KEY = "binance-key-Mm31-never-written"
BINANCE_SECRET = "binance-secret-Pq55-never-written"
TESTNET_SECRET = "testnet-secret-Wd90-never-written"
WEBHOOK_TOKEN = "secret-path"  # the last part of FakeWebhook.hook_url
# a database the replay and sweep never open (port 9: discard); the run gets its SQLite with --db
CONFIG_DB_URL = f"postgresql+psycopg://trader:{DB_PASSWORD}@127.0.0.1:9/bots"
FAST = {"timeout_seconds": 0.5, "rate_limit_per_minute": 6000}
EVERYTHING = ["trade_entry", "trade_exit", "error", "status", "daily_summary"]


def _env(ws: BotWorkspace, telegram, smtp) -> dict[str, str]:
    env = ws.env()
    env.update(TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_CHAT_ID=str(OWNER_CHAT),
               TELEGRAM_API_URL=telegram.url, SMTP_USERNAME=SMTP_USER,
               SMTP_PASSWORD=SMTP_PASSWORD, SSL_CERT_FILE=str(smtp.cert_file),
               BINANCE_API_KEY=BINANCE_KEY, BINANCE_API_SECRET=BINANCE_SECRET,
               BINANCE_TESTNET_API_KEY=BINANCE_KEY, BINANCE_TESTNET_API_SECRET=TESTNET_SECRET)
    return env


def _cli(ws: BotWorkspace, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trading.cli", *args], cwd=ws.root, env=env,
                          text=True, capture_output=True, timeout=300)


def test_no_secret_reaches_a_log_report_status_file_or_the_terminal(
        tmp_path: Path, telegram_fake, webhook_fake, smtp_fake):
    ws = BotWorkspace(tmp_path / "bot")
    notifications = {"enabled": True,
                     "telegram": {"enabled": True, "notify_on": EVERYTHING, **FAST},
                     "webhook": {"enabled": True, "notify_on": EVERYTHING, **FAST,
                                 "url": webhook_fake.hook_url, "format": "json"},
                     "email": {"enabled": True, "notify_on": ["trade_exit"], **FAST,
                               "smtp_host": "127.0.0.1", "smtp_port": smtp_fake.port,
                               "to_addrs": ["ops@example.com"]}}
    ws.write_config(notifications=notifications, database={"url": CONFIG_DB_URL})
    env = _env(ws, telegram_fake, smtp_fake)
    sqlite_url = f"sqlite:///{ws.db_path}"

    done = [subprocess.run(ws.command("--log-level", "DEBUG", "--db", sqlite_url), cwd=ws.root,
                           env=env, text=True, capture_output=True, timeout=300)]
    assert done[0].returncode == 0, done[0].stderr
    done.append(_cli(ws, env, "replay", ws.bot_id, "--no-pictures", "--no-progress"))
    done.append(_cli(ws, env, "sweep", ws.bot_id, "--grid", "e_rsi_oversold=20,30",
                     "--workers", "1", "--keep", "2", "--no-progress"))
    done.append(_cli(ws, env, "status", ws.bot_id))
    done.append(_cli(ws, env, "status", ws.bot_id, "--json"))
    for result in done:
        assert result.returncode == 0, result.args + [result.stderr]

    # what was run went through the paths that carry secrets
    assert webhook_fake.bodies() and telegram_fake.sent(OWNER_CHAT)
    log_text = (ws.root / "logs" / "live" / f"trading_bot_{ws.bot_id}.log").read_text()
    written = sorted(p for p in ws.root.rglob("*") if p.is_file() and p != ws.config_path)
    names = {p.name for p in written}
    assert {"metrics.json", "sweep.json", "report.html", f"{ws.bot_id}.json"} <= names

    secrets = {"telegram token": TELEGRAM_TOKEN,
               "telegram token's secret": TELEGRAM_TOKEN.split(":")[1],
               "smtp password": SMTP_PASSWORD, "webhook url": webhook_fake.hook_url,
               "webhook url's token": WEBHOOK_TOKEN, "database password": DB_PASSWORD,
               "binance key": BINANCE_KEY, "binance secret": BINANCE_SECRET,
               "testnet secret": TESTNET_SECRET}
    found = []
    for what, value in secrets.items():
        needle = value.encode()
        for path in written:
            if needle in path.read_bytes():
                found.append(f"{what} in {path.relative_to(ws.root)}")
        for result in done:
            for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
                if value in text:
                    found.append(f"{what} on the {stream} of {' '.join(result.args[1:4])}")
    assert not found, "secrets written:\n" + "\n".join(found)
    # httpx at DEBUG logs each request's URL: there, with the secrets masked
    assert "/bot***/sendMessage" in log_text and "HTTP Request: POST *** " in log_text
