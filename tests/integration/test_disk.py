"""Disks that fill: the bot's files stay bounded in a fast run, and a full disk stops the bot
cleanly (exit 3, every shutdown step done, a message that says what to do)."""
from __future__ import annotations

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
