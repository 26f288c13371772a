"""SQLite's write-ahead log stays small while bars are committed back to back, folded by a
background worker as the bot's I/O thread folds it (``trading.persistence.wal``)."""
from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import make_url

from trading.persistence import wal as wal_module
from trading.persistence.repository import Store
from trading.risk import RiskState
from trading.runtime.io_thread import BlockingWorker

BOT = "0001"
T0 = 1_704_067_200.0  # 2024-01-01 00:00 UTC
LOG_BOUND = 4 * 1024 * 1024  # bytes


def commit_bars(store: Store, count: int) -> None:
    """``count`` bars committed as fast as they go, each as the bot's checkpoint writes it."""
    for i in range(count):
        ts = T0 + 60 * i
        store.checkpoint(BOT, bar_ts=ts, cash=10_000.0 - i, value=10_000.0 + i, orders=(),
                         trades=(), positions={},
                         risk_state=RiskState(day=int(ts // 86400), peak_equity=10_000.0).to_dict(),
                         save_equity=True)


def test_folds_asked_for_by_the_commits_keep_the_log_under_its_limit_in_a_fast_run(sqlite_url):
    wal = Path(make_url(sqlite_url).database + "-wal")
    store = Store(sqlite_url, background_wal=True)
    worker = BlockingWorker("test-folds")  # the bot's I/O thread's worker
    sizes: list[int] = []
    folds: list = []

    def fold_soon() -> None:  # on the committing thread, as WalUpkeep.fold_soon
        sizes.append(wal.stat().st_size if wal.exists() else 0)
        if not folds or folds[-1].done():
            folds.append(worker.submit(store.flush_wal))

    store.on_commits = fold_soon
    try:
        store.register_bot(BOT, None, "wal")
        commit_bars(store, 3000)
        for fold in folds:
            fold.result(timeout=30)  # none failed
    finally:
        worker.shutdown(timeout=30)
        store.close()
    assert len(sizes) >= 3000 // wal_module.FOLD_BEHIND_COMMITS  # asked for all along
    assert max(sizes) < LOG_BOUND  # 3,000 bars left ~50 MiB of log before


def test_a_writer_whose_folds_never_come_waits_a_bounded_time_then_goes_on(sqlite_url,
                                                                           monkeypatch, caplog):
    monkeypatch.setattr(wal_module, "FOLD_WAIT_SECONDS", 0.01)
    store = Store(sqlite_url, background_wal=True)
    asked: list[int] = []
    store.on_commits = lambda: asked.append(1)  # a fold is asked for, and none ever runs
    try:
        store.register_bot(BOT, None, "wal")
        with caplog.at_level(logging.WARNING, logger="trading.persistence.wal"):
            commit_bars(store, wal_module.FOLD_BEHIND_COMMITS + 1)
        assert store.load_snapshot(BOT).last_bar_ts == T0 + 60 * wal_module.FOLD_BEHIND_COMMITS
    finally:
        store.close()
    assert len(asked) == wal_module.FOLD_BEHIND_COMMITS // wal_module.FOLD_EVERY_COMMITS
    assert "write-ahead log was not folded" in caplog.text
