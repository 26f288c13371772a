"""Disks that fill: the bot's files stay bounded in a fast run, and a full disk stops the bot
cleanly (exit 3, every shutdown step done, a message that says what to do)."""
from __future__ import annotations

import errno
import json
import resource
import subprocess
from pathlib import Path

import pytest

from bot_workspace import SAMPLE, BotWorkspace
from feeds.csv_bars import load_bars

FILE_LIMIT = 8 * 1024 * 1024  # bytes: no file the bot writes may grow past this in the test


@pytest.fixture
def ws(tmp_path: Path) -> BotWorkspace:
    return BotWorkspace(tmp_path)


def run_with_file_limit(ws: BotWorkspace, limit: int) -> subprocess.CompletedProcess[str]:
    """Run the bot with no file allowed past ``limit`` bytes (RLIMIT_FSIZE: a write beyond it
    fails with EFBIG; Python ignores SIGXFSZ), as a small disk would stop a growing file."""
    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(ws.command(), cwd=ws.root, env=ws.env(), text=True, capture_output=True,
                          timeout=180, preexec_fn=limit_files)


def test_sqlite_s_write_ahead_log_stays_small_in_a_fast_run_of_thousands_of_bars(ws):
    # the whole sample as fast as it goes: ~5,800 bar commits in a few seconds (the log grew
    # to 33 MiB for a 0.6 MiB database before it was bounded)
    ws.write_config(data={"speed": 0})
    result = run_with_file_limit(ws, FILE_LIMIT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert ws.last_bar_ts() == load_bars(SAMPLE).ts[-1]  # every bar was committed
    wal = ws.db_path.with_name(ws.db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size <= FILE_LIMIT


@pytest.fixture
def full_disk(tmp_path: Path):
    """Mounts a small tmpfs and fills it: ``full_disk(folder)`` makes ``folder`` a full disk."""
    mounted: list[Path] = []

    def mount(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {done.stderr.strip()}")
        mounted.append(folder)
        with open(folder / "filler", "wb") as fh:  # every byte of it, until ENOSPC
            try:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            except OSError:
                pass
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def assert_stopped_cleanly_for_a_full_disk(ws: BotWorkspace,
                                           result: subprocess.CompletedProcess[str]) -> None:
    """Exit 3 (systemd restarts it once there is room), a message that says what to do, and
    every shutdown step done: the lease released, the status file written, the database whole."""
    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "the disk is full:" in last and "free space" in last and "restart" in last, last
    assert ws.query("SELECT bot_id FROM leases") == []  # released: a restart needs no waiting
    status = json.loads((ws.root / "logs" / "status" / f"{ws.bot_id}.json").read_text())
    assert status["state"] == "error" and "the disk is full" in status["last_error"]
    assert ws.query("PRAGMA quick_check") == [("ok",)]


def test_a_full_disk_under_the_journal_stops_the_bot_with_exit_3_and_a_clean_shutdown(
        ws, full_disk):
    ws.write_config(data={"speed": 0})
    full_disk(ws.root / "logs" / "json")  # the journal's folder: full when the first trade closes
    result = ws.run(timeout=120)
    assert_stopped_cleanly_for_a_full_disk(ws, result)


def test_a_full_disk_under_the_log_file_stops_the_bot_with_exit_3_and_a_clean_shutdown(
        ws, full_disk):
    full = full_disk(ws.root / "full")
    ws.write_config(data={"speed": 0}, logging={"log_file": str(full / "bot.log")})
    result = ws.run(timeout=120)
    assert_stopped_cleanly_for_a_full_disk(ws, result)
    assert ws.last_bar_ts() is None or ws.last_bar_ts() < load_bars(SAMPLE).ts[-1]  # stopped early


def test_a_journal_that_fills_the_disk_as_the_bot_stops_leaves_no_shutdown_step_undone(
        ws, monkeypatch):
    # the report: the disk filled during the run; at the stop, the journal's "stopped" line
    # raised ENOSPC out of the shutdown (exit 1, lease held, status and database left open)
    from bot_workspace import ScriptedSource
    from trading.config.loading import load_config
    from trading.core.errors import DiskFull
    from trading.persistence.journal import Journal
    from trading.runtime.bot import LiveTradingBot

    record_event = Journal.record_event

    def full_at_the_stop(journal, event):
        if getattr(event, "change", None) == "stopped":
            raise OSError(errno.ENOSPC, "No space left on device", str(journal.events_path))
        record_event(journal, event)

    monkeypatch.setattr(Journal, "record_event", full_at_the_stop)
    monkeypatch.chdir(ws.root)  # status file and journal under the workspace
    ws.write_config(data={"lookback_bars": 100})
    bars = load_bars(SAMPLE)
    bot = LiveTradingBot(load_config(ws.config_path),
                         source=ScriptedSource([bars.bar(i) for i in range(300)], 100))
    with pytest.raises(DiskFull, match="the disk is full: .*events.jsonl failed .*free space"):
        bot.run()
    assert ws.last_bar_ts() == bars.ts[299]  # the run itself was whole
    assert ws.query("SELECT bot_id FROM leases") == []
    status = json.loads((ws.root / "logs" / "status" / f"{ws.bot_id}.json").read_text())
    assert status["state"] == "error" and "events.jsonl" in status["last_error"]
    assert ws.query("PRAGMA quick_check") == [("ok",)]
