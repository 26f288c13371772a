"""The report folder a replay writes, read back as a user would: files, rows, sections, provenance."""
from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from replay_helpers import REPO, SAMPLE, demo_replay, demo_report
from trading.backtest.metrics import EquitySeries, compute_metrics
from trading.backtest.replay import ReplayResult
from trading.backtest.report import write_report
from trading.backtest.report_inputs import ReplayReport
from feeds.csv_bars import BarArrays

PNG = b"\x89PNG\r\n\x1a\n"


def _rows(path):
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_report_folder_holds_every_file_and_its_tables_agree_with_the_trades(tmp_path):
    report = demo_report("risk_management.max_daily_trades=1")
    paths = write_report(tmp_path, report)

    assert sorted(paths) == ["equity.csv", "equity.png", "metrics.json", "report.html",
                             "trades.csv", "trades.png"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths.values())
    assert paths["equity.png"].read_bytes()[:8] == PNG and paths["trades.png"].read_bytes()[:8] == PNG
    trades = _rows(paths["trades.csv"])
    saved = json.loads(paths["metrics.json"].read_text())
    assert list(saved) == ["summary", "by_exit_reason", "by_month", "risk", "provenance"]
    summary = saved["summary"]
    assert summary["trades"] == len(trades) > 0
    assert summary["best_trade_pct"] == pytest.approx(max(float(t["pnl_pct"]) for t in trades), abs=1e-4)
    assert summary["worst_trade_pct"] == pytest.approx(min(float(t["pnl_pct"]) for t in trades), abs=1e-4)
    # buy and hold from the first traded bar's open (after 100 warm-up bars) to the last close
    candles = _rows(SAMPLE)
    held = float(candles[-1]["close"]) / float(candles[100]["open"]) - 1
    assert summary["market_change_pct"] == pytest.approx(held * 100, abs=1e-4)

    reasons = {r["exit_reason"]: r for r in saved["by_exit_reason"]}
    assert set(reasons) == {t["exit_reason"] for t in trades}
    for reason, row in reasons.items():
        mine = [float(t["pnl"]) for t in trades if t["exit_reason"] == reason]
        assert row["trades"] == len(mine)
        assert row["total_pnl"] == pytest.approx(sum(mine), abs=1e-6)
    assert [m["month"] for m in saved["by_month"]] == ["2018-01"]
    assert saved["by_month"][0]["trades"] == len(trades)
    assert saved["by_month"][0]["return_pct"] == pytest.approx(summary["total_return_pct"], abs=1e-3)

    # one entry a day: the other signals of those days were refused by that rule
    assert saved["risk"]["entries_refused"]["max_daily_trades"] > 0
    assert saved["risk"]["kill_switch"] is None
    days = [t["entry_time"][:10] for t in trades]
    assert len(days) == len(set(days))

    curve = _rows(paths["equity.csv"])
    assert len(curve) == 5760 - 100 and curve[0]["time"] == summary["start"]


def test_metrics_json_records_what_produced_it(tmp_path):
    report = demo_report("risk_management.stop_loss_pct=3", "strategy.entry_logic.params.e_rsi_oversold=35")
    saved = json.loads(write_report(tmp_path, report, pictures=False)["metrics.json"].read_text())
    prov = saved["provenance"]

    assert prov["overrides"] == ["risk_management.stop_loss_pct=3",
                                 "strategy.entry_logic.params.e_rsi_oversold=35"]
    assert prov["config_file"].endswith("config/trading/0001.json")
    config = prov["config"]
    assert config["risk_management"]["stop_loss_pct"] == 3
    assert config["strategy"]["entry_logic"]["params"]["e_rsi_oversold"] == 35
    # defaults the file leaves out are filled in: the config as the run used it
    assert config["risk_management"]["max_orders_per_minute"] == 10
    assert config["strategy"]["exit_logic"]["params"]["x_bb_dev"] == 2.0
    data = prov["data"]
    assert data["sha256"] == hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert (data["bars"], data["interval"]) == (5760, "5m")
    assert (data["first"], data["last"]) == ("2018-01-10T04:55:00Z", "2018-01-30T04:50:00Z")
    assert data["file_bytes"] == SAMPLE.stat().st_size
    assert prov["warmup_bars"] == 100 and prov["version"]


def test_kill_switch_trip_is_recorded_with_its_time_and_stops_new_entries(tmp_path):
    checked, data, result = demo_replay("trading.max_drawdown_pct=1", "risk_management.max_daily_trades=0")
    kill = result.kill_switch
    assert kill is not None and "max_drawdown_pct 1%" in kill.reason
    assert result.metrics["start"] <= kill.time <= result.metrics["end"]
    assert result.refusals.get("max_drawdown_pct", 0) > 0
    entries = [t.entry_time.isoformat().replace("+00:00", "Z") for t in result.trades]
    assert all(e < kill.time for e in entries)
    saved = json.loads(write_report(tmp_path, ReplayReport.of(checked, result, data.provenance),
                                    pictures=False)["metrics.json"].read_text())
    assert saved["risk"]["kill_switch"]["time"] == kill.time


def test_without_pictures_matplotlib_is_never_imported(tmp_path):
    script = f"""
import sys
sys.path[:0] = [{str(REPO / 'src')!r}, {str(REPO / 'tests' / 'unit')!r}]
from replay_helpers import demo_report
from trading.backtest.report import write_report
write_report({str(tmp_path)!r}, demo_report(), pictures=False)
print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["equity.csv", "metrics.json",
                                                          "report.html", "trades.csv"]


def test_long_replays_still_draw_quickly_readable_pictures(tmp_path):
    n = 200_000
    rng = np.random.default_rng(3)
    ts = 1_600_000_000.0 + 60.0 * np.arange(n)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    bars = BarArrays(ts, close, close * 1.001, close * 0.999, close, np.ones(n))
    values = 1000.0 + np.cumsum(rng.normal(0, 1, n))
    equity = EquitySeries(ts, values)
    result = ReplayResult([], equity, compute_metrics([], equity, 1000.0), n, 0, 1.0, bars, {}, None)
    report = ReplayReport(result, 1000.0, "long", provenance={})
    paths = write_report(tmp_path, report)
    assert paths["equity.png"].stat().st_size > 10_000 and paths["trades.png"].stat().st_size > 10_000
    assert sum(1 for _ in paths["equity.csv"].open()) == n + 1
    assert paths["report.html"].stat().st_size < 2_000_000  # candles are bucketed, not 200k


def test_the_picture_helper_process_draws_what_the_report_draws_and_reports_failures(tmp_path):
    from trading.backtest.chart_worker import ChartWorker

    report = demo_report()
    here, there = tmp_path / "here", tmp_path / "there"
    write_report(here, report)  # pictures drawn in this process
    there.mkdir()
    worker = ChartWorker.start()
    try:
        worker.draw(there, report)
        worker.finish()
    finally:
        worker.close()
    for name in ("equity.png", "trades.png"):
        drawn = (there / name).read_bytes()
        assert drawn[:8] == b"\x89PNG\r\n\x1a\n" and len(drawn) > 10_000
        assert len(drawn) == pytest.approx(len((here / name).read_bytes()), rel=0.05)

    broken = ChartWorker.start()
    try:
        broken.draw(tmp_path / "no" / "such" / "folder", report)
        with pytest.raises(OSError, match="drawing the pictures in .* failed"):
            broken.finish()
    finally:
        broken.close()
