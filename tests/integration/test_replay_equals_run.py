"""Replay = run: on the same file, ``tradingbot replay CONFIG`` with no options gives the trades
``tradingbot run CONFIG`` gives, for every shipped config that reads a file, and for a coarser
config resampled from finer bars on both paths."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trading.persistence.repository import Store

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "config" / "trading").glob("*.json"))
FILE_CONFIGS = [c for c in SHIPPED if json.loads(c.read_text())["data"]["data_source"] == "file"]


def _shipped(config: Path):
    return pytest.param(config, id=config.stem)


def _workspace(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "data" / "sample", tmp_path / "data" / "sample")
    return tmp_path


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "trading.cli", *args], cwd=root, text=True,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


def _run_trades(root: Path, bot_id: str) -> list[tuple]:
    store = Store(f"sqlite:///{root / 'data' / f'{bot_id}.sqlite'}")
    try:
        return sorted((t["symbol"], t["entry_time"].isoformat().replace("+00:00", "Z"),
                       t["exit_time"].isoformat().replace("+00:00", "Z"), t["exit_reason"],
                       round(t["entry_price"], 10), round(t["exit_price"], 10),
                       round(t["pnl"], 10)) for t in store.trades(bot_id))
    finally:
        store.close()


def _replay_trades(out: Path) -> list[tuple]:
    with (out / "trades.csv").open() as fh:
        # a position still open at the end is in the replay's table, marked to market; the
        # run's database has it as its open position, not as a trade
        return sorted((r["symbol"], r["entry_time"], r["exit_time"], r["exit_reason"],
                       round(float(r["entry_price"]), 10), round(float(r["exit_price"]), 10),
                       round(float(r["pnl"]), 10))
                      for r in csv.DictReader(fh) if r["exit_reason"] != "open")


@pytest.mark.parametrize("config", [_shipped(c) for c in FILE_CONFIGS])
def test_replay_without_options_trades_exactly_as_run(tmp_path, config):
    root = _workspace(tmp_path)
    _cli(root, "run", config.stem)
    _cli(root, "replay", config.stem, "--out", "out", "--no-progress")
    ran, replayed = _run_trades(root, config.stem), _replay_trades(root / "out")
    assert len(ran) >= 5
    assert replayed == ran


def test_an_hourly_config_on_five_minute_bars_is_resampled_alike_by_run_and_replay(tmp_path):
    root = _workspace(tmp_path)
    doc = json.loads((root / "config" / "trading" / "0001.json").read_text())
    doc["bot_id"] = "0101"
    doc["data"].update(interval="1h", lookback_bars=30)
    doc["strategy"]["entry_logic"] = {"name": "RSIOrBBEntryMixin",
                                      "params": {"e_rsi_oversold": 40}}
    doc["strategy"]["exit_logic"] = {"name": "RSIOrBBExitMixin", "params": {"x_rsi_overbought": 60}}
    (root / "config" / "trading" / "0101.json").write_text(json.dumps(doc))
    _cli(root, "run", "0101")
    _cli(root, "replay", "0101", "--out", "out", "--no-progress")
    ran, replayed = _run_trades(root, "0101"), _replay_trades(root / "out")
    assert len(ran) >= 3
    assert replayed == ran
    # hourly bars: every trade opens and closes on the hour
    assert all(t[1].endswith(":00:00Z") and t[2].endswith(":00:00Z") for t in ran)


def test_a_config_coarser_than_its_data_is_refused_alike_by_run_and_replay(tmp_path):
    root = _workspace(tmp_path)
    doc = json.loads((root / "config" / "trading" / "0001.json").read_text())
    doc["bot_id"] = "0102"
    doc["data"]["interval"] = "1m"
    (root / "config" / "trading" / "0102.json").write_text(json.dumps(doc))
    for command in (["run", "0102"], ["replay", "0102", "--no-progress"]):
        done = subprocess.run([sys.executable, "-m", "trading.cli", *command], cwd=root, text=True,
                              capture_output=True, timeout=120)
        assert done.returncode == 1, done.stderr
        assert "coarser than data.interval 1m" in done.stderr and "Traceback" not in done.stderr
