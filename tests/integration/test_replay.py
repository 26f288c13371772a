"""Replay every shipped config on the real sample, through both entry points, as a user would."""
from __future__ import annotations

import csv
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "ETHBTC-5m.csv"
BASKET_DATA = REPO / "data" / "sample" / "{symbol}-5m.csv"  # a basket reads a file per symbol
CONFIGS = sorted((REPO / "config" / "trading").glob("*.json"))


def _data_for(config: Path) -> Path:
    basket = len(json.loads(config.read_text()).get("trading", {}).get("symbols", ())) > 1
    return BASKET_DATA if basket else SAMPLE
TRADES_HEADER = ["entry_time", "exit_time", "symbol", "side", "size", "entry_price", "exit_price",
                 "pnl", "pnl_pct", "fees", "exit_reason", "bars_held", "entry_mixin"]
SUMMARY_KEYS = ["trades", "win_rate_pct", "total_return_pct", "market_change_pct", "max_drawdown_pct",
                "sharpe", "sortino", "profit_factor", "exposure_pct", "avg_trade_hours",
                "median_trade_hours", "best_trade_pct", "worst_trade_pct", "fees", "final_equity",
                "open_trades", "open_pnl", "quote_currency", "starting_balance", "absolute_profit",
                "cagr_pct", "calmar", "wins", "draws", "losses", "expectancy", "expectancy_ratio",
                "max_consecutive_wins", "max_consecutive_losses", "avg_winner_hours",
                "avg_loser_hours", "max_drawdown_start", "max_drawdown_end", "max_drawdown_hours",
                "max_drawdown_recovered", "best_day", "best_day_pnl", "worst_day", "worst_day_pnl",
                "start", "end"]


def _script(*args: str) -> list[str]:
    return [sys.executable, str(REPO / "src" / "trading" / "replay.py"), *args]


def _console(*args: str) -> list[str]:
    exe = shutil.which("tradingbot")
    return [exe, "replay", *args] if exe else [sys.executable, "-m", "trading.cli", "replay", *args]


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.stem)
def test_replay_writes_the_report_and_repeats_exactly(tmp_path, config):
    outputs = []
    for name, command, pictures in (("script", _script, []), ("console", _console, ["--no-pictures"])):
        out = tmp_path / name
        # the 1h configs warm up on up to 1,000 bars: more than the sample holds at 1h
        done = _run(command(config.name, "--data", str(_data_for(config)), "--out", str(out), "--no-progress",
                            "--warmup", "50", *pictures))
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert "Win rate" in done.stdout and str(out) in done.stdout

        with (out / "trades.csv").open() as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == TRADES_HEADER
        assert len(rows) >= 2, "the sample should give at least one trade"
        assert rows[1][0].endswith("Z") and rows[1][0] < rows[1][1]
        entry_mixin = json.loads(config.read_text())["strategy"]["entry_logic"]["name"]
        assert {row[-1] for row in rows[1:]} == {entry_mixin}
        metrics = json.loads((out / "metrics.json").read_text())
        assert list(metrics["summary"]) == SUMMARY_KEYS
        summary = metrics["summary"]
        assert summary["trades"] + summary["open_trades"] == len(rows) - 1  # an open one comes last
        assert [row[10] == "open" for row in rows[1:]] == [False] * summary["trades"] + [True] * summary["open_trades"]
        for picture in ("equity.png", "trades.png"):
            if pictures:
                assert not (out / picture).exists()
            else:
                assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
        del metrics["provenance"]["created"]  # the only thing allowed to differ between the runs
        outputs.append(((out / "trades.csv").read_text(), metrics))

    assert outputs[0] == outputs[1]


def test_start_and_end_limit_the_replayed_period(tmp_path):
    done = _run(_script("0001", "--data", str(SAMPLE), "--out", str(tmp_path), "--no-progress",
                        "--start", "2018-01-15", "--end", "2018-01-20T00:00:00Z", "--warmup", "0"))
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())["summary"]
    assert (metrics["start"], metrics["end"]) == ("2018-01-15T00:00:00Z", "2018-01-20T00:00:00Z")


def _config_copy(folder: Path, name: str, **data: object) -> Path:
    """config/trading/0001.json with ``data`` keys replaced (None removes a key)."""
    doc = json.loads((REPO / "config" / "trading" / "0001.json").read_text())
    for key, value in data.items():
        doc["data"].pop(key, None)
        if value is not None:
            doc["data"][key] = value
    path = folder / name
    path.write_text(json.dumps(doc))
    return path


def test_without_options_the_configs_data_file_is_replayed_after_its_warm_up(tmp_path):
    config = _config_copy(tmp_path, "0043.json", data_source="file", file_path=str(SAMPLE),
                          lookback_bars=12)
    done = _run(_script(str(config), "--no-progress", "--out", str(tmp_path / "out")))
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())["summary"]
    # the first 12 five-minute bars (04:55 .. 05:50) only warm the indicators up
    assert (metrics["start"], metrics["end"]) == ("2018-01-10T05:55:00Z", "2018-01-30T04:50:00Z")


def test_bad_data_file_gives_a_clear_message_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    lines = SAMPLE.read_text().splitlines()[:40]
    lines[30] = lines[30].replace("2018-01-10", "2018-01-09", 1)  # goes back in time
    bad.write_text("\n".join(lines) + "\n")

    for command in (_script, _console):
        done = _run(command("0001", "--data", str(bad), "--out", str(tmp_path / "out"), "--no-progress"))
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        assert f"{bad}: line 31:" in done.stderr and "goes backwards" in done.stderr
    assert not (tmp_path / "out").exists()


def test_missing_data_and_config_are_explained(tmp_path):
    done = _run(_script("0001", "--data", str(tmp_path / "missing.csv"), "--no-progress"))
    assert done.returncode == 1 and "no such data file" in done.stderr
    assert "Traceback" not in done.stderr

    live_only = _config_copy(tmp_path, "0042.json", data_source="binance", file_path=None)
    done = _run(_script(str(live_only), "--no-progress", "--out", str(tmp_path / "out")))
    assert done.returncode == 1 and "pass --data PATH or set data.file_path" in done.stderr

    done = _run(_script(str(tmp_path / "9999.json"), "--data", str(SAMPLE)))
    assert done.returncode == 2 and "no such config file" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_readme_set_example_runs_as_written(tmp_path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(tradingbot replay 0001 --set .*?)```", readme, re.S)
    assert block is not None, "the README's --set example is gone"
    words = shlex.split(block.group(1).replace("\\\n", " "))
    assert words[:2] == ["tradingbot", "replay"]
    done = _run(_console(*words[2:], "--no-pictures", "--out", str(tmp_path / "out")))
    assert done.returncode == 0, done.stderr
    provenance = json.loads((tmp_path / "out" / "metrics.json").read_text())["provenance"]
    exits = provenance["config"]["strategy"]["exit_logic"]
    assert [x["name"] for x in exits] == ["RSIBBExitMixin", "TimeBasedExitMixin"]
