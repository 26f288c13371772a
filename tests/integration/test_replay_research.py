"""tradingbot replay as a researcher uses it: fresh folders, --set, several configs side by side."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "ETHBTC-5m.csv"
CONFIGS = REPO / "config" / "trading"


def _replay(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "trading.cli", "replay", *args, "--no-progress"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_each_run_gets_a_fresh_folder_and_an_existing_report_is_never_overwritten(tmp_path):
    config = str(CONFIGS / "0001.json")
    first = _replay(config, "--data", str(SAMPLE), "--no-pictures", cwd=tmp_path)
    second = _replay(config, "--data", str(SAMPLE), "--no-pictures", cwd=tmp_path)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    runs = sorted((tmp_path / "replays" / "0001").iterdir())
    assert len(runs) == 2  # replays/0001/<UTC time>/ and <UTC time>-2/ (or the next second)
    for run in runs:
        assert run.name.endswith("Z") or run.name[-2:] == "-2"
        assert f"files in {run.relative_to(tmp_path)}/" in (first.stdout + second.stdout)
        assert (run / "metrics.json").exists() and (run / "report.html").exists()

    kept = (runs[0] / "metrics.json").read_text()
    again = _replay(config, "--data", str(SAMPLE), "--out", str(runs[0]), cwd=tmp_path)
    assert again.returncode == 2 and "already holds a report (metrics.json)" in again.stderr
    assert "Traceback" not in again.stderr
    assert (runs[0] / "metrics.json").read_text() == kept


def test_set_overrides_any_key_for_this_run_and_is_validated_like_the_file(tmp_path):
    out = tmp_path / "tight"
    done = _replay("0001", "--data", str(SAMPLE), "--out", str(out), "--no-pictures",
                   "--set", "risk_management.stop_loss_pct=0.5",
                   "--set", "strategy.entry_logic.params.e_rsi_oversold=35")
    assert done.returncode == 0, done.stderr
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["provenance"]["overrides"] == ["risk_management.stop_loss_pct=0.5",
                                                "strategy.entry_logic.params.e_rsi_oversold=35"]
    reasons = {r["exit_reason"]: r["trades"] for r in saved["by_exit_reason"]}
    assert reasons.get("stop_loss", 0) >= 3  # a 0.5 % stop is hit often on 5-minute ETH/BTC
    assert "stop_loss" in done.stdout and "By exit reason" in done.stdout

    bad = _replay("0001", "--data", str(SAMPLE), "--out", str(tmp_path / "bad"),
                  "--set", "risk_management.stop_loss_pct=-1", "--set", "trading.max_postions=2")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "risk_management.stop_loss_pct: must be >= 0, got -1 (from --set " \
           "risk_management.stop_loss_pct=-1)" in bad.stderr
    assert "trading.max_postions: unknown key 'max_postions'; did you mean 'max_positions'?" in bad.stderr
    assert not (tmp_path / "bad").exists()

    malformed = _replay("0001", "--set", "stop_loss_pct")
    assert malformed.returncode == 2 and "expected PATH=VALUE" in malformed.stderr


def test_several_configs_replay_the_same_bars_side_by_side(tmp_path):
    done = _replay("0001", "0006", "0001", "--data", str(SAMPLE), "--out", str(tmp_path),
                   "--warmup", "50", "--no-pictures", "--set", "trading.max_drawdown_pct=0")
    assert done.returncode == 0, done.stderr
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == ["0001", "0001-2", "0006"]
    summaries = {name: json.loads((tmp_path / name / "metrics.json").read_text())["summary"]
                 for name in folders}
    assert summaries["0001"] == summaries["0001-2"]  # the same config on the same bars
    assert summaries["0001"]["start"] == summaries["0006"]["start"]
    header = next(line for line in done.stdout.splitlines() if "0001 #1" in line)
    assert header.split() == ["0001", "#1", "0006", "0001", "#2"]
    trades_row = next(line for line in done.stdout.splitlines() if line.strip().startswith("Trades"))
    assert trades_row.split()[1:] == [str(summaries[n]["trades"]) for n in ("0001", "0006", "0001-2")]
    for name in folders:
        assert str(tmp_path / name) in done.stdout


def test_a_config_with_a_problem_stops_every_replay_before_it_starts(tmp_path):
    broken = tmp_path / "0099.json"
    broken.write_text(json.dumps({**json.loads((CONFIGS / "0001.json").read_text()),
                                  "trading": {"symbol": "ETHBTC", "position_size": 7}}))
    done = _replay("0001", str(broken), "--data", str(SAMPLE), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert f"{broken}: trading.position_size: must be <= 1" in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_issue_comparison_names_the_config_whose_warm_up_does_not_fit_and_writes_nothing(tmp_path):
    done = _replay("0001", "0004", "0006", "--data", str(SAMPLE), "--out", str(tmp_path / "out"),
                   "--no-pictures")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert ("replay: 0004 (config/trading/0004.json): data.lookback_bars 500 leaves none of the "
            "479 bars at 1h to trade on; use fewer warm-up bars (--warmup N, at most 478 here)") in done.stderr
    assert not (tmp_path / "out").exists()  # no half-written comparison


def test_a_comparison_trades_every_config_over_one_span_with_one_market_figure(tmp_path):
    done = _replay("0001", "0004", "0006", "--data", str(SAMPLE), "--out", str(tmp_path),
                   "--warmup", "50", "--no-pictures")
    assert done.returncode == 0, done.stderr
    summaries = [json.loads((tmp_path / name / "metrics.json").read_text())["summary"]
                 for name in ("0001", "0004", "0006")]
    assert len({s["market_change_pct"] for s in summaries}) == 1
    assert len({s["start"] for s in summaries}) == 1
    market_row = next(line for line in done.stdout.splitlines() if "Market (buy & hold)" in line)
    assert market_row.split()[4:] == ["17.00", "%"] * 3  # one figure, three times
    assert "Warm-up bars" in done.stdout and "50 x 1h" in done.stdout
    # 0004 and 0006 trade BTCUSDT and AAPL: the ETH/BTC file is not theirs
    assert "0004 (config/trading/0004.json) trades BTCUSDT, but the data file ETHBTC-5m.csv " \
           "holds ETHBTC by its name" in done.stderr
    assert "0006 (config/trading/0006.json) trades AAPL" in done.stderr
    assert "0001 (config/trading/0001.json) trades" not in done.stderr


BASKET_DATA = REPO / "data" / "sample" / "{symbol}-5m.csv"
BASKET_SYMBOLS = ["ETCBTC", "XLMBTC", "TRXBTC", "ZECBTC", "DASHBTC"]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_the_shipped_basket_replays_end_to_end_with_a_table_per_symbol(tmp_path):
    # its own data.file_path (data/sample/{symbol}-5m.csv), pictures on, every period table
    done = _replay(str(CONFIGS / "0007.json"), "--out", str(tmp_path / "own"), "--breakdown", "day",
                   "--breakdown", "week", "--breakdown", "month")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert "Replay 0007 basket of 5: ETCBTC, XLMBTC, TRXBTC, ZECBTC, DASHBTC (5,760 time steps" in out
    table = out[out.index("By symbol"):out.index("By exit reason")]
    firsts = [line.split()[0] for line in table.splitlines() if line.split()]
    assert firsts[firsts.index("symbol") + 2:] == BASKET_SYMBOLS  # after the header and its rule
    assert "By day" in out and "By week" in out and "By month" in out
    saved = json.loads((tmp_path / "own" / "metrics.json").read_text())
    assert [r["symbol"] for r in saved["by_symbol"]] == BASKET_SYMBOLS
    assert sum(r["trades"] for r in saved["by_symbol"]) == saved["summary"]["trades"]
    assert sorted(p.name for p in (tmp_path / "own").iterdir()) == [
        "equity.csv", "equity.png", "metrics.json", "report.html", "trades.csv", "trades.png"]
    assert _png_size(tmp_path / "own" / "trades.png")[1] > 1000  # a panel per symbol

    # the same files named on the command line, no pictures: the same figures
    again = _replay("0007", "--data", str(BASKET_DATA), "--out", str(tmp_path / "given"),
                    "--no-pictures", "--symbol", "XLMBTC")
    assert again.returncode == 0, again.stderr
    given = json.loads((tmp_path / "given" / "metrics.json").read_text())
    assert given["summary"] == saved["summary"] and given["by_symbol"] == saved["by_symbol"]
    assert not (tmp_path / "given" / "trades.png").exists()
    assert '"selected":1' in (tmp_path / "given" / "report.html").read_text()  # opens on XLMBTC


def test_a_symbol_the_config_does_not_trade_is_refused_before_anything_runs(tmp_path):
    done = _replay("0007", "--symbol", "ETHBTC", "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert ("replay: --symbol ETHBTC: 0007 (config/trading/0007.json) trades ETCBTC, XLMBTC, "
            "TRXBTC, ZECBTC, DASHBTC, not ETHBTC; pick one of its symbols") in done.stderr
    assert not (tmp_path / "out").exists()

    one = _replay("0001", "--data", str(SAMPLE), "--symbol", "ETHBTC", "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    assert _png_size(tmp_path / "one" / "trades.png") == (1300, 800)  # as without it


def test_a_basket_and_a_one_symbol_config_are_compared_over_the_same_time_span(tmp_path):
    # one --data for both: {symbol} is ETHBTC for 0001 and each of 0007's symbols for it
    done = _replay("0001", "0007", "--data", str(BASKET_DATA), "--out", str(tmp_path), "--no-pictures")
    assert done.returncode == 0, done.stderr
    summaries = {name: json.loads((tmp_path / name / "metrics.json").read_text())["summary"]
                 for name in ("0001", "0007")}
    assert summaries["0001"]["start"] == summaries["0007"]["start"]
    assert summaries["0001"]["end"] == summaries["0007"]["end"]
    # each its own market: ETHBTC's, and equal parts of the basket's five symbols
    assert summaries["0001"]["market_change_pct"] != summaries["0007"]["market_change_pct"]
    assert "Replay of 2 configs on the same traded span" in done.stdout
    symbols_row = next(line for line in done.stdout.splitlines() if line.strip().startswith("Symbols"))
    assert symbols_row.split()[1:] == ["ETHBTC", "basket", "of", "5"]
    provenance = json.loads((tmp_path / "0001" / "metrics.json").read_text())["provenance"]["data"]
    assert provenance["path"].endswith("ETHBTC-5m.csv")
