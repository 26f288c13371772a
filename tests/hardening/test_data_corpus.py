"""Bad bar files and bad live bars: refused naming the line, or dropped; never traded on.

The bulk runs ``load_bars`` (which the file source and replay read through) in this process; a
sample runs ``tradingbot replay`` and ``run`` in a subprocess. Live bars go through the real
``LiveFeed`` and, for "never trades on it", through a whole ``LiveTradingBot``.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from workspace import REPO, SAMPLE, BotWorkspace, ScriptedSource
from checks import assert_family_passes, check_data, check_live_bars, materialize
from data_corpus import DataVariant, data_variants, live_bars
from feeds.csv_bars import load_bars
from feeds.file import FileBarSource
from trading.config.loading import load_config
from trading.core.errors import DataError
from trading.core.types import Bar
from trading.runtime.bot import LiveTradingBot

VARIANTS = data_variants()
FAMILIES = ("rows", "klines", "files")


@pytest.mark.parametrize("family", FAMILIES)
def test_every_bad_data_file_is_refused_naming_the_line(family, tmp_path):
    assert_family_passes(VARIANTS, family, check_data, tmp_path)


def test_the_file_source_refuses_what_load_bars_refuses_with_the_same_words(tmp_path):
    refused = [v for v in VARIANTS if v.expect_line and v.family != "files"][::7]
    assert len(refused) > 20
    for n, variant in enumerate(refused):
        folder = tmp_path / str(n)
        folder.mkdir()
        path = materialize(variant, folder)
        with pytest.raises(DataError) as by_loader:
            load_bars(path)
        with pytest.raises(DataError) as by_source:
            FileBarSource(path, interval_seconds=300, lookback_bars=10)
        assert str(by_source.value) == str(by_loader.value), variant.name


# --- the real scripts, a representative sample ----------------------------------------------------

CLI_SAMPLE = ("row 31: open 3x above the high", "row 1: close = 0", "row 60: high = 1e308",
              "row 31: volume 1,820.5 (thousands separator)", "row 31: a NUL-filled close",
              "separated by semicolons", "a whole file of zeros")


def _variant(name: str) -> DataVariant:
    return next(v for v in VARIANTS if v.name == name)


@pytest.mark.parametrize("name", CLI_SAMPLE)
def test_replay_refuses_a_bad_file_naming_file_and_line(tmp_path, name):
    variant = _variant(name)
    ws = BotWorkspace(tmp_path)
    ws.write_config()
    path = materialize(variant, tmp_path)
    result = subprocess.run([sys.executable, str(REPO / "src" / "trading" / "replay.py"),
                             str(ws.config_path), "--data", str(path), "--no-progress"],
                            cwd=tmp_path, env=ws.env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert f"{path}: line {variant.expect_line}: " in result.stderr and variant.words in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr) < 1000


@pytest.mark.parametrize("name", CLI_SAMPLE[:3])
def test_the_bot_refuses_a_bad_file_before_starting(tmp_path, name):
    variant = _variant(name)
    ws = BotWorkspace(tmp_path)
    path = materialize(variant, tmp_path)
    ws.write_config(data={"file_path": str(path)})
    result = ws.run()
    assert result.returncode == 1, result.stderr
    assert f"{path}: line {variant.expect_line}: " in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists(), "a database was created for a bot that never started"


# --- live bars ------------------------------------------------------------------------------------

def test_the_live_feed_drops_every_invalid_bar_with_a_warning_and_a_report(caplog):
    bad = live_bars()
    assert len(bad) >= 15
    with caplog.at_level(logging.WARNING, logger="feeds.live"):
        found = check_live_bars(bad)
    assert not found, "\n".join(found)
    assert caplog.text.count("dropped invalid bar") == len(bad)


def _run_bot(root: Path, bars: list[Bar], monkeypatch) -> BotWorkspace:
    ws = BotWorkspace(root)  # creates root
    monkeypatch.chdir(root)  # the status file and journal go under the working directory
    ws.write_config(risk_management={"take_profit_pct": 3.0, "stop_loss_pct": 3.0})
    bot = LiveTradingBot(load_config(ws.config_path), source=ScriptedSource(bars, history=100))
    bot.prepare()
    bot.run()
    return ws


def test_a_bot_never_trades_on_a_garbage_live_bar(tmp_path, monkeypatch):
    good = load_bars(SAMPLE)
    clean = [good.bar(i) for i in range(len(good))]
    reference = _run_bot(tmp_path / "clean", clean, monkeypatch)
    trades = reference.trades()
    assert len(trades) >= 3
    # garbage while each position is open, between two real bars: a high of 1e308 would fill
    # the take-profit, a low of 0 the stop, a close 3x the high any exit rule
    entries = {entry_time for entry_time, *_ in trades}
    dirty = []
    for bar in clean:
        dirty.append(bar)
        if bar.ts in entries:
            ts = bar.ts + 60
            dirty.append([Bar(ts, bar.open, 1e308, bar.low, bar.close, bar.volume),
                          Bar(ts, bar.open, bar.high, 0.0, bar.close, bar.volume),
                          Bar(ts, bar.open, bar.high, bar.low, 3 * bar.high, bar.volume)
                          ][len(dirty) % 3])
    injected = len(dirty) - len(clean)
    assert injected == len(trades)
    polluted = _run_bot(tmp_path / "dirty", dirty, monkeypatch)
    assert polluted.trades() == trades
    events = polluted.query("SELECT payload FROM events WHERE kind = 'error'")
    assert len(events) == injected
    assert all("dropped invalid bar" in json.loads(payload)["message"] for (payload,) in events)
