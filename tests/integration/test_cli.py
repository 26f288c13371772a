"""The command line as a user meets it: versions, help, short config names, ``tradingbot status``."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from trading.cli.main import COMMANDS

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = ("trading_bot.py", "config_validator.py", "replay.py")


def tradingbot(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trading.cli", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_documented_script_answers_help_and_version(script):
    for flag, word in (("--help", "usage:"), ("--version", "tradingbot ")):
        done = subprocess.run([sys.executable, str(REPO / "src" / "trading" / script), flag],
                              cwd=REPO, text=True, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert word in done.stdout and "Traceback" not in done.stderr


def test_tradingbot_version_is_the_installed_version():
    from importlib.metadata import version

    done = tradingbot("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"tradingbot {version('tradingbot')}"


def test_a_bot_number_without_zeros_finds_its_config(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    done = tradingbot("validate", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "config/trading/0001.json: OK" in done.stdout


def _status(root: Path, bot_id: str, state: str, age: timedelta, pid: int, **extra) -> None:
    folder = root / "logs" / "status"
    folder.mkdir(parents=True, exist_ok=True)
    updated = (datetime.now(timezone.utc) - age).isoformat().replace("+00:00", "Z")
    doc = {"bot_id": bot_id, "state": state, "symbol": "ETHBTC", "data_status": "LIVE",
           "last_bar_time": "2018-01-30T04:50:00Z", "value": 1.01, "position": None,
           "entries_today": 2, "pnl_today": 0.01, "drawdown_pct": 1.5, "kill_switch": False,
           "updated_at": updated, "pid": pid, "host": socket.gethostname(),
           "heartbeat_seconds": 10, **extra}
    (folder / f"{bot_id}.json").write_text(json.dumps(doc))


def test_status_shows_every_bot_and_marks_the_stale_one(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    _status(tmp_path, "0001", "running", timedelta(seconds=5), os.getpid())
    _status(tmp_path, "0002", "running", timedelta(minutes=5), gone.pid)
    _status(tmp_path, "0003", "stopped", timedelta(days=3), gone.pid)
    done = tradingbot("status", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["bot", "state", "symbol"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert "running  " in rows["0001"] and "STALE" not in rows["0001"]
    assert "running, STALE: process gone" in rows["0002"]
    assert "stopped" in rows["0003"] and "STALE" not in rows["0003"]  # stopped is not stale

    one = tradingbot("status", "2", "--json", cwd=tmp_path)
    assert one.returncode == 0
    (doc,) = json.loads(one.stdout)
    assert doc["bot_id"] == "0002" and doc["stale"] is True

    missing = tradingbot("status", "0009", cwd=tmp_path)
    assert missing.returncode == 1 and "no status for bot 0009" in missing.stderr


REST_MARKUP = re.compile(r"``|:[a-z]+:`")  # docstring markup (``code``, :class:`X`) is not help


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_answers_help_and_version_with_clean_text(command):
    helped = tradingbot(command, "--help")
    assert helped.returncode == 0, helped.stderr
    assert f"usage: tradingbot {command}" in helped.stdout
    assert not REST_MARKUP.search(helped.stdout), helped.stdout
    versioned = tradingbot(command, "--version")
    assert versioned.returncode == 0, versioned.stderr
    assert versioned.stdout.strip().startswith("tradingbot ")


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_script_run_outside_the_virtualenv_says_how_to_install(script, tmp_path):
    # -S: no site-packages, as a system Python without the project's dependencies
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run([sys.executable, "-S", str(REPO / "src" / "trading" / script),
                           "0001.json"], cwd=REPO, env=env, text=True, capture_output=True,
                          timeout=60)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert "is not installed" in done.stderr
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e ." in done.stderr


def test_status_shows_trades_realised_pnl_and_why_a_bot_stopped_on_an_error(tmp_path):
    _status(tmp_path, "0001", "stopped", timedelta(minutes=1), os.getpid(), trades=11,
            realised_pnl=-7.1999)
    _status(tmp_path, "0002", "error", timedelta(minutes=1), os.getpid(), trades=0,
            realised_pnl=0.0, last_error="the bar source failed: HTTP 451 from the exchange")
    done = tradingbot("status", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert "trades" in header and "realised pnl" in header
    first = rows[0].split()
    assert "11" in first and "-7.1999" in first
    assert ("bot 0002 stopped on an error: the bar source failed: HTTP 451 from the exchange"
            in done.stdout)
