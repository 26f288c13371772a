"""Signals as a user sends them: Ctrl+C or SIGTERM at any moment of start-up or of a run.

A stop by signal is graceful, exit 0, never a traceback; a stop by an error exits non-zero.
Two ways to land all over start-up: Ctrl+C the moment the process maps a library it loads on
the way (numpy, pandas, SQLAlchemy while importing; SQLite when it opens the database), and
signals after a range of delays counted from the moment the process has taken SIGTERM
(``SigCgt`` in /proc: the bot's own handlers are in place), through warm-up into live bars.
"""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from workspace import SAMPLE, BotWorkspace, wait_until
from feeds.csv_bars import load_bars
from feeds.live import BarSink
from trading.config.loading import load_config
from trading.core.errors import TradingBotError
from trading.runtime.bot import LiveTradingBot

# libraries mapped on the way through start-up, in this order
LIBRARIES = ("numpy/_core/_multiarray_umath", "pandas/_libs/lib.", "sqlalchemy/util/", "_sqlite3")
# seconds after the handlers are in place; start-up takes one to two seconds here
DELAYS = (0.0, 0.05, 0.15, 0.3, 0.6, 1.0, 1.6)
SIGTERM_DELAYS = (0.0, 0.4, 1.2)


def handles_sigterm(pid: int) -> bool:
    """True once the process catches SIGTERM (its bit in /proc/PID/status ``SigCgt``)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


def has_mapped(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def stop_during_start(ws: BotWorkspace, signum: int, delay: float = 0.0,
                      library: str | None = None) -> subprocess.CompletedProcess:
    """Start the bot, send ``signum`` once ``library`` is mapped, or ``delay`` seconds after
    the handlers are in place; return how it ended."""
    proc = ws.start()
    try:
        if library is None:
            ready = wait_until(lambda: handles_sigterm(proc.pid), proc, timeout=60, poll=0.001)
        else:
            ready = wait_until(lambda: has_mapped(proc.pid, library), proc, timeout=60, poll=0.0005)
        assert ready, f"the bot ended before {library or 'taking SIGTERM'}"
        time.sleep(delay)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def ws(tmp_path: Path) -> BotWorkspace:
    workspace = BotWorkspace(tmp_path)
    workspace.write_config(data={"speed": 50})  # live bars for minutes: a signal always stops it
    return workspace


@pytest.mark.parametrize("library", LIBRARIES)
def test_ctrl_c_while_start_up_loads_its_libraries_stops_cleanly(ws, library):
    result = stop_during_start(ws, signal.SIGINT, library=library)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "KeyboardInterrupt" not in result.stderr
    assert "SIGINT: stopping" in result.stderr


@pytest.mark.parametrize("delay", DELAYS)
def test_ctrl_c_at_any_moment_of_start_up_stops_cleanly(ws, delay):
    result = stop_during_start(ws, signal.SIGINT, delay)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "KeyboardInterrupt" not in result.stderr
    assert "SIGINT: stopping" in result.stderr
    assert ws.query("PRAGMA integrity_check") in ([], [("ok",)])


@pytest.mark.parametrize("delay", SIGTERM_DELAYS)
def test_sigterm_at_any_moment_of_start_up_stops_cleanly(ws, delay):
    result = stop_during_start(ws, signal.SIGTERM, delay)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "SIGTERM: stopping" in result.stderr


# --- a stop by an error --------------------------------------------------------------------------

FAILING_EXIT = '''
from strategies.mixins.base import ExitMixin


class BrokenExitMixin(ExitMixin):
    name = "BrokenExitMixin"
    rule = "fails on the first position it watches (a bug in a user's mixin)"

    def should_exit(self, trade, bar):
        raise RuntimeError("a bug in BrokenExitMixin")
'''


def test_a_stop_by_an_error_exits_non_zero(ws, tmp_path):
    site = tmp_path / "site"
    (site / "broken_exit-0.1.dist-info").mkdir(parents=True)
    (site / "broken_exit.py").write_text(FAILING_EXIT)
    (site / "broken_exit-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-exit\nVersion: 0.1\n")
    (site / "broken_exit-0.1.dist-info" / "entry_points.txt").write_text(
        "[tradingbot.exit_mixins]\nbroken = broken_exit:BrokenExitMixin\n")
    ws.write_config(strategy={"exit_logic": [{"name": "BrokenExitMixin"}]}, data={"speed": 0})
    env = ws.env()
    env["PYTHONPATH"] = f"{site}:{env['PYTHONPATH']}"
    result = subprocess.run(ws.command(), cwd=ws.root, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 3, result.stderr
    assert "stopped by an unexpected error: a bug in BrokenExitMixin" in result.stderr


class FailingSource:
    """A bar source whose connection breaks for good after a few bars."""

    def __init__(self, bars: list) -> None:
        self.bars = bars

    def resume_after(self, ts: float | None) -> None:
        pass

    def describe(self) -> str:
        return "failing source"

    async def run(self, sink: BarSink) -> None:
        for bar in self.bars:
            await sink.put_bar(bar)
        raise ConnectionError("the venue closed the stream")


def test_a_bar_source_that_fails_stops_the_bot_with_an_error(ws, monkeypatch):
    bars = load_bars(SAMPLE)
    monkeypatch.chdir(ws.root)
    bot = LiveTradingBot(load_config(ws.config_path),
                         source=FailingSource([bars.bar(i) for i in range(20)]))
    with pytest.raises(TradingBotError, match="the bar source failed: the venue closed the stream"):
        bot.run()
    assert bot.get_status()["state"] == "error"
    assert ws.query("SELECT count(*) FROM equity") == [(20,)]  # every bar before it was kept
