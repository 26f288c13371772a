"""A basket's replay report (0007: five symbols on the bundled samples), read back as a user
would: the per-symbol table against the trades, the period tables against the prices at each
time step, every file of the folder, one picture panel per symbol and the page's symbol picker."""
from __future__ import annotations

import csv
import hashlib
import json
import math
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from replay_helpers import BASKET, REPO, basket_report
from trading.backtest.bars import BarLoader
from trading.backtest.html_report import page_data
from trading.backtest.replay import run_replay
from trading.backtest.report import write_report
from trading.backtest.report_inputs import ReplayReport
from trading.config.loading import check_config
from trading.config.overrides import parse_override
from trading.core.timeutil import epoch_seconds

SYMBOLS = ["ETCBTC", "XLMBTC", "TRXBTC", "ZECBTC", "DASHBTC"]
WARMUP = 100  # 0007's data.lookback_bars
SAMPLES = REPO / "data" / "sample"
PNG = b"\x89PNG\r\n\x1a\n"
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "",
                             shutil.which("chromium-browser") or "") if p and Path(p).exists()), None)
NODE = shutil.which("node")


def _rows(path):
    with Path(path).open() as fh:
        return list(csv.DictReader(fh))


def _candles(symbol):
    """The sample's times, opens and closes of ``symbol``, read straight from its CSV."""
    rows = _rows(SAMPLES / f"{symbol}-5m.csv")
    ts = np.array([epoch_seconds(datetime.fromisoformat(r["datetime"].replace("Z", "+00:00")))
                   for r in rows])
    return ts, np.array([float(r["open"]) for r in rows]), np.array([float(r["close"]) for r in rows])


def _png_size(path):
    data = Path(path).read_bytes()
    assert data[:8] == PNG
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def report():
    return basket_report(breakdown=("day",))


def test_the_per_symbol_table_holds_each_symbols_own_trades_exposure_and_open_position(report):
    result, document = report.result, report.document
    rows = {row["symbol"]: row for row in document["by_symbol"]}
    assert list(rows) == SYMBOLS
    steps = np.asarray(result.equity.ts)
    for symbol, row in rows.items():
        mine = [t for t in result.trades if t.symbol == symbol]
        still = [t for t in result.open_trades if t.symbol == symbol]
        pnls = [t.pnl for t in mine]
        assert row["trades"] == len(mine) > 0
        assert row["pnl"] == pytest.approx(sum(pnls), abs=1e-6)
        assert row["fees"] == pytest.approx(sum(t.fees for t in mine), abs=1e-6)
        assert row["win_rate_pct"] == pytest.approx(100 * sum(p > 0 for p in pnls) / len(pnls), abs=1e-4)
        assert row["best_trade_pct"] == pytest.approx(max(t.pnl_pct for t in mine), abs=1e-4)
        assert row["worst_trade_pct"] == pytest.approx(min(t.pnl_pct for t in mine), abs=1e-4)
        # the share of the account's time steps with a position in this symbol
        held = np.zeros(len(steps), dtype=bool)
        for t in mine:
            held |= (steps >= epoch_seconds(t.entry_time)) & (steps < epoch_seconds(t.exit_time))
        for t in still:
            held |= steps >= epoch_seconds(t.entry_time)
        assert row["exposure_pct"] == pytest.approx(held.mean() * 100, abs=1e-4)
        assert row["open_trades"] == len(still)
        assert row["open_pnl"] == pytest.approx(sum(t.pnl for t in still), abs=1e-6)
        # buy and hold of the symbol from its first traded bar's open to its last close
        _, opens, closes = _candles(symbol)
        assert row["market_change_pct"] == pytest.approx((closes[-1] / opens[WARMUP] - 1) * 100, abs=1e-4)
    assert any(row["open_trades"] for row in rows.values()), "0007 ends holding DASHBTC"
    summary = document["summary"]
    assert sum(r["trades"] for r in rows.values()) == summary["trades"]
    assert sum(r["open_trades"] for r in rows.values()) == summary["open_trades"]
    assert sum(r["pnl"] + r["open_pnl"] for r in rows.values()) == pytest.approx(summary["absolute_profit"], abs=1e-5)
    # the basket's market is equal parts of its symbols
    mean = np.mean([r["market_change_pct"] for r in rows.values()])
    assert summary["market_change_pct"] == pytest.approx(mean, abs=1e-3)


def test_period_tables_pair_the_equity_with_every_symbols_price_at_each_time_step(report):
    result, document = report.result, report.document
    steps = np.asarray(result.equity.ts)
    # the first symbol has fewer bars than there are steps: nothing may index its bars by step
    assert len(result.basket["ETCBTC"]) < result.bars
    days = document["by_day"]
    assert [d["day"] for d in days] == [f"2018-01-{d:02d}" for d in range(10, 31)]
    assert sum(d["trades"] for d in days) == len(result.trades)
    last_of_day = {}
    for i, day in enumerate((steps // 86400).astype(int)):
        last_of_day[day] = i
    prices = {s: _candles(s) for s in SYMBOLS}

    def market(i):  # equal parts: each symbol's last close at step i over its first traded open
        ratios = []
        for ts, opens, closes in prices.values():
            at = np.searchsorted(ts, steps[i], side="right") - 1
            ratios.append(closes[at] / opens[WARMUP])
        return np.mean(ratios)

    previous_market, previous_equity = 1.0, 1000.0
    for row, i in zip(days, last_of_day.values()):
        assert row["market_change_pct"] == pytest.approx((market(i) / previous_market - 1) * 100, abs=1e-4)
        equity = float(result.equity.values[i])
        assert row["change"] == pytest.approx(equity - previous_equity, abs=1e-6)
        previous_market, previous_equity = market(i), equity
    month = document["by_month"][0]
    assert month["return_pct"] == pytest.approx(document["summary"]["total_return_pct"], abs=1e-3)
    assert month["market_change_pct"] == pytest.approx(document["summary"]["market_change_pct"], abs=1e-3)


def test_a_basket_report_folder_holds_every_file_with_every_symbol(report, tmp_path):
    paths = write_report(tmp_path, report)
    assert sorted(paths) == ["equity.csv", "equity.png", "metrics.json", "report.html",
                             "trades.csv", "trades.png"]
    saved = json.loads(paths["metrics.json"].read_text())
    assert list(saved) == ["summary", "by_symbol", "by_exit_reason", "by_day", "by_month", "risk",
                           "provenance"]
    trades = _rows(paths["trades.csv"])
    summary = saved["summary"]
    assert len(trades) == summary["trades"] + summary["open_trades"]
    assert {t["symbol"] for t in trades} == set(SYMBOLS)  # every row names its symbol
    assert [t["exit_reason"] == "open" for t in trades][-summary["open_trades"]:] == [True] * summary["open_trades"]
    for row in saved["by_symbol"]:
        mine = [t for t in trades if t["symbol"] == row["symbol"] and t["exit_reason"] != "open"]
        assert row["trades"] == len(mine)
        assert row["pnl"] == pytest.approx(sum(float(t["pnl"]) for t in mine), abs=1e-6)

    curve = _rows(paths["equity.csv"])
    steps = report.result.equity.ts
    assert len(curve) == len(steps) == 5760 - WARMUP  # one row per traded time step
    assert curve[0]["time"] == summary["start"] and curve[-1]["time"] == summary["end"]

    data = saved["provenance"]["data"]
    assert list(data["symbols"]) == SYMBOLS
    for symbol, file in data["symbols"].items():
        path = SAMPLES / f"{symbol}-5m.csv"
        assert file["path"] == str(path)
        assert file["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert file["bars"] == len(_rows(path))
        assert file["first"] == "2018-01-10T04:55:00Z" and file["last"] <= "2018-01-30T04:50:00Z"
    assert saved["provenance"]["warmup_bars"] == WARMUP  # each symbol's warm-up

    # trades.png: a small panel per symbol (three rows of two) above the account's equity
    assert _png_size(paths["trades.png"]) == (1300, round(100 * (2.3 * 3 + 3.6)))
    assert _png_size(paths["equity.png"]) == (1100, 600)


def test_the_symbol_picked_is_drawn_alone_as_a_one_symbol_replay_is(tmp_path):
    picked = basket_report(focus="XLMBTC")
    paths = write_report(tmp_path, picked)
    assert _png_size(paths["trades.png"]) == (1300, 800)  # the one-symbol layout
    data = page_data(picked, picked.document)
    assert data["symbols"][data["selected"]]["symbol"] == "XLMBTC"
    with pytest.raises(ValueError, match="BTCUSDT is not one of this replay's symbols"):
        basket_report(focus="BTCUSDT")


def test_the_page_carries_every_symbols_candles_and_trades(report):
    data = page_data(report, report.document)
    assert [m["symbol"] for m in data["symbols"]] == SYMBOLS and data["selected"] == 0
    assert "candles" not in data  # each symbol's are under "symbols"
    for market in data["symbols"]:
        ts, opens, _ = _candles(market["symbol"])
        candles = market["candles"]
        assert candles["t"][0] == ts[WARMUP] and candles["o"][0] == pytest.approx(opens[WARMUP])
        assert len(candles["t"]) == math.ceil((len(ts) - WARMUP) / 2)  # 2-bar candles
        assert [p["title"] for p in market["indicators"][1:]] == ["RSI(14)", "volume"]
    assert [t["symbol"] for t in data["trades"]] == [t.symbol for t in report.result.trade_rows]
    assert sum(t["open"] for t in data["trades"]) == len(report.result.open_trades) == 1
    # the account's equity is bucketed over its own time steps
    assert len(data["equity"]["t"]) == math.ceil(len(report.result.equity) / 2)
    assert "5,660 time steps of 5 symbols" in data["subtitle"]
    assert "1 position still open" in data["subtitle"]
    assert [r["symbol"] for r in data["tables"]["by_symbol"]] == SYMBOLS


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (/usr/bin/chromium): "
                    "'apt-get install chromium' to check that report.html draws its charts")
def test_picking_a_symbol_on_the_page_draws_its_own_trades_in_chromium(report, tmp_path):
    import html
    import re

    paths = write_report(tmp_path / "report", report, pictures=False)
    trades = _rows(paths["trades.csv"])
    url = paths["report.html"].resolve().as_uri() + "#selftest"
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1000",
                           "--virtual-time-budget=5000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    rendered = re.search(r'data-rendered="([^"]*)"', done.stdout)
    assert rendered, "the page's script did not finish drawing:\n" + done.stderr[-2000:]
    state = json.loads(html.unescape(rendered.group(1)))
    assert state["symbols"] == 5 and state["shown"] == "ETCBTC" and state["trade_rows"] == len(trades)
    picked = json.loads(html.unescape(re.search(r'data-picked="([^"]*)"', done.stdout).group(1)))
    assert [p["symbol"] for p in picked] == SYMBOLS
    for p in picked:  # an entry and an exit marker for each of that symbol's trades, no other's
        assert p["markers"] == 2 * sum(t["symbol"] == p["symbol"] for t in trades)
    selftest = json.loads(html.unescape(re.search(r'data-selftest="([^"]*)"', done.stdout).group(1)))
    assert selftest["visible"] and "ETCBTC (entry)" in selftest["text"]


@pytest.mark.skipif(NODE is None, reason="no node: the page's scripts are checked with node where it is installed")
def test_the_basket_pages_scripts_fill_the_symbol_table_and_name_each_trades_symbol(report, tmp_path):
    paths = write_report(tmp_path / "report", report, pictures=False)
    done = subprocess.run([NODE, str(Path(__file__).parent / "js" / "page_smoke.js"), str(paths["report.html"])],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    rendered, tables = (json.loads(line) for line in done.stdout.splitlines()[:2])
    assert rendered["symbols"] == 5 and rendered["charts"] == 5
    assert "symbol-table" in tables["periods"]
    assert "<th>symbol</th>" in tables["trades"] and "<td>ZECBTC</td>" in tables["trades"]
    assert "1 position, pnl" in tables["summary"]


def test_symbols_whose_files_start_late_or_end_early_are_reported_over_the_account_steps(tmp_path):
    for symbol, keep in (("ETCBTC", slice(None)), ("XLMBTC", slice(999, None)), ("ZECBTC", slice(0, 399))):
        lines = (SAMPLES / f"{symbol}-5m.csv").read_text().splitlines()
        (tmp_path / f"{symbol}-5m.csv").write_text("\n".join([lines[0], *lines[1:][keep]]) + "\n")
    checked = check_config(BASKET, [parse_override('trading.symbols=["ETCBTC", "XLMBTC", "ZECBTC"]')])
    data = BarLoader(tmp_path / "{symbol}-5m.csv").load(checked.config)
    result = run_replay(checked.config, data.bars, basket=data.basket)
    late = ReplayReport.of(checked, result, data.provenance, ("day",))
    document = late.document
    assert len(result.equity) > max(len(b) for b in data.basket.values()) - WARMUP
    rows = {r["symbol"]: r for r in document["by_symbol"]}
    first_xlm = data.basket["XLMBTC"].ts[WARMUP]
    xlm = [t for t in result.trades if t.symbol == "XLMBTC"]
    assert xlm and all(epoch_seconds(t.entry_time) >= first_xlm for t in xlm)
    assert rows["XLMBTC"]["exposure_pct"] < 100 * np.mean(np.asarray(result.equity.ts) >= first_xlm)
    # the market of a symbol not yet traded stays flat: the month's market is the summary's
    month = document["by_month"][0]
    assert month["market_change_pct"] == pytest.approx(document["summary"]["market_change_pct"], abs=1e-3)
    assert sum(d["trades"] for d in document["by_day"]) == len(result.trades)
    paths = write_report(tmp_path / "out", late)
    assert _png_size(paths["trades.png"]) == (1300, round(100 * (2.3 * 2 + 3.6)))  # 2 rows of 2
