"""A throw-away working directory for running the real bot CLI in a subprocess."""
from __future__ import annotations

import copy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np

from feeds.csv_bars import BarArrays
from trading.backtest.replay import run_replay
from trading.config.loading import load_config
from trading.core.timeutil import epoch_seconds
from trading.core.types import Bar

REPO = Path(__file__).resolve().parents[2]
BOT_SCRIPT = REPO / "src" / "trading" / "trading_bot.py"
SAMPLE = REPO / "data" / "sample" / "ETHBTC-5m.csv"
DEMO_CONFIG = REPO / "config" / "trading" / "0001.json"


def deep_update(target: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_update(target[key], value)
        else:
            target[key] = value
    return target


def sample_part(path: Path, bars: int) -> Path:
    """The sample's first ``bars`` bars as a CSV at ``path`` (a shorter market for a test whose
    assertion needs only its first trades)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(SAMPLE.read_text().splitlines()[:bars + 1]) + "\n")
    return path


class BotWorkspace:
    """Config, data, database and logs of one bot, in a temp dir used as the working directory.
    ``data_file``: the CSV its configs replay unless a test names another (default the sample)."""

    def __init__(self, root: Path, bot_id: str = "7001", db_url: str | None = None,
                 data_file: Path = SAMPLE) -> None:
        self.root = root
        self.bot_id = bot_id
        self.data_file = data_file
        (root / "config" / "trading").mkdir(parents=True, exist_ok=True)
        self.config_path = root / "config" / "trading" / f"{bot_id}.json"
        self.db_path = root / "data" / f"{bot_id}.sqlite"
        self.db_url = db_url  # None: the default SQLite file above
        self._engine: Any = None

    def write_config(self, **changes: Any) -> dict[str, Any]:
        doc = json.loads(DEMO_CONFIG.read_text())
        doc.pop("$schema", None)
        doc["data"]["file_path"] = str(self.data_file)
        if self.db_url is not None:
            doc["database"] = {"url": self.db_url}
        deep_update(doc, copy.deepcopy(changes))
        self.config_path.write_text(json.dumps(doc, indent=2))
        return doc

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        return env

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, str(BOT_SCRIPT), f"{self.bot_id}.json", *extra]

    def run(self, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(*extra), cwd=self.root, env=self.env(), text=True,
                              capture_output=True, timeout=timeout)

    def start(self, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(*extra), cwd=self.root, env=self.env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    # -- reading the database the way a user's tools would ----------------------------------------
    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.db_url is not None:
            return self._query_server(sql, params)
        if not self.db_path.exists():
            return []
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return []
        finally:
            con.close()

    def _query_server(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The same query on a database server (psycopg takes %s where sqlite3 takes ?)."""
        from sqlalchemy import create_engine
        from sqlalchemy.exc import ProgrammingError

        if self._engine is None:
            self._engine = create_engine(self.db_url)
        try:
            with self._engine.connect() as conn:
                return [tuple(row) for row in conn.exec_driver_sql(sql.replace("?", "%s"), params)]
        except ProgrammingError:  # tables not created yet
            return []

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def trades(self) -> list[tuple[Any, ...]]:
        """Closed trades, their entry and exit times as epoch seconds."""
        rows = self.query("SELECT entry_time, exit_time, size, entry_price, exit_price, pnl, fees, "
                          "exit_reason, bars_held FROM trades ORDER BY exit_time")
        return [(_epoch(entry), _epoch(exit_), *rest) for entry, exit_, *rest in rows]

    def has_open_position(self) -> bool:
        return bool(self.query("SELECT 1 FROM positions"))

    def open_position_entry(self) -> float | None:
        """Entry time of the open position, None when flat."""
        rows = self.query("SELECT entry_ts FROM positions")
        return _epoch(rows[0][0]) if rows else None

    def last_bar_ts(self) -> float | None:
        """The time of the last bar the bot checkpointed (None before the first)."""
        rows = self.query("SELECT last_bar_ts FROM bots")
        return epoch_of(rows[0][0]) if rows and rows[0][0] is not None else None

    def checkpointed(self, ts: float) -> bool:
        last = self.last_bar_ts()
        return last is not None and last >= ts

    def events(self, kind: str) -> list[str]:
        return [r[0] for r in self.query("SELECT payload FROM events WHERE kind = ? ORDER BY id", kind)]

    def simulated_broker(self) -> bool:
        """Whether the bot's broker is simulated (``paper``, ``mock``): its orders never reach a
        venue, they fill inside the bot at the next bar."""
        return json.loads(self.config_path.read_text())["broker"]["type"] in ("paper", "mock")

    def refused_locally(self, client_id: str) -> bool:
        """Whether the bot's broker refused ``client_id`` itself (an order under the minimum
        notional, say): it logs why at once, while the database has the order as submitted until
        the next bar's checkpoint saves the rejection."""
        log = self.root / "logs" / "live" / f"trading_bot_{self.bot_id}.log"
        try:
            return f"order {client_id} rejected: " in log.read_text(errors="replace")
        except FileNotFoundError:
            return False

    def has_pending_entry(self) -> bool:
        return bool(self.query("SELECT 1 FROM orders WHERE purpose = 'entry' "
                               "AND status IN ('submitted', 'accepted')"))


def clean_run_trades(root: Path, data_file: Path = SAMPLE) -> list[tuple]:
    """The trades of the default bot run once on ``data_file``, never interrupted, in a new
    workspace at ``root``: the reference a disturbed run (a crash, a restart, a channel that
    fails) must equal."""
    ws = BotWorkspace(root, data_file=data_file)
    ws.write_config()
    result = ws.run()
    assert result.returncode == 0, result.stderr
    trades = ws.trades()
    assert len(trades) >= 5
    return trades


def as_arrays(bars: list[Bar]) -> BarArrays:
    """``bars`` as the arrays replay takes."""
    columns = [np.array(c, dtype=np.float64) for c in zip(*bars)]
    return BarArrays(*columns)


def replayed_trades(config_path: Path, bars: BarArrays | list[Bar], warmup: int) -> list[tuple]:
    """The trades ``tradingbot replay`` makes of ``bars`` with that config, as rows like
    ``BotWorkspace.trades()``: what a live run on the same bars must equal."""
    arrays = as_arrays(bars) if isinstance(bars, list) else bars
    replay = run_replay(load_config(config_path), arrays, warmup_bars=warmup)
    return [(t.entry_time.timestamp(), t.exit_time.timestamp(), t.size, t.entry_price,
             t.exit_price, t.pnl, t.fees, t.exit_reason, t.bars_held) for t in replay.trades]


def stored_time(ts: float) -> str:
    """Epoch seconds as the store writes a time in SQLite (UTC text), for comparisons in SQL."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def epoch_of(stored: str | datetime) -> float:
    """Epoch seconds of a time read from the store's tables."""
    return _epoch(stored)


def _epoch(stored: str | datetime) -> float:
    """Epoch seconds of a time as the store keeps it (UTC text in SQLite, timestamptz on a server)."""
    return epoch_seconds(stored if isinstance(stored, datetime) else datetime.fromisoformat(stored))


def wait_until(predicate: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 60,
               poll: float = 0.002) -> bool:
    """Poll until ``predicate`` holds; False if the process ended or the time ran out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(poll)
    return False


def kill_hard(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


class ScriptedSource:
    """A live bar source (a ``BarSource``) over given bars: ``history`` warm-up bars, then the
    live ones, then the end. ``wakes_per_bar`` wakes the feed that many times after each live
    bar, as a venue's reports do: each wake is one turn of Cerebro's loop with no new bar."""

    def __init__(self, bars: list[Bar], history: int, wakes_per_bar: int = 0) -> None:
        self.bars, self.history, self.wakes_per_bar = bars, history, wakes_per_bar
        self.wakes = 0

    def resume_after(self, ts: float | None) -> None:
        pass

    def describe(self) -> str:
        return "scripted source"

    async def run(self, sink: Any) -> None:
        from feeds.live import DELAYED, LIVE

        await sink.put_status(DELAYED)
        for i, bar in enumerate(self.bars[:self.history]):
            await sink.put_bar(bar, history=True, last_history=i == self.history - 1)
        await sink.put_status(LIVE)
        for bar in self.bars[self.history:]:
            await sink.put_bar(bar)
            for _ in range(self.wakes_per_bar):
                sink.wake()
                self.wakes += 1
        await sink.end()
