"""report.html: self-contained, and drawn for real in headless Chromium where it is installed."""
from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from replay_helpers import demo_report
from trading.backtest.html_report import page_data, render_html
from trading.backtest.report_inputs import MAX_CANDLES
from trading.backtest.report import write_report

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "",
                             shutil.which("chromium-browser") or "") if p and Path(p).exists()), None)


def test_page_opens_from_disk_with_nothing_from_the_network():
    page = render_html(demo_report(), demo_report().document)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)\s*=""", page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", page)
    assert "__DATA__" not in page and "__JS__" not in page and "__CSS__" not in page


def test_long_replays_are_bucketed_into_candles_that_keep_each_buckets_extremes():
    report = demo_report()
    data = page_data(report, report.document)
    traded = report.result.traded
    candles = data["candles"]
    assert len(candles["t"]) == len(traded) // 2 <= MAX_CANDLES  # 5,660 bars -> 2-bar candles
    assert candles["step"] == 600
    assert candles["h"][0] == pytest.approx(max(traded.high[0], traded.high[1]))
    assert candles["l"][0] == pytest.approx(min(traded.low[0], traded.low[1]))
    assert (candles["o"][0], candles["c"][0]) == (pytest.approx(traded.open[0]), pytest.approx(traded.close[1]))
    assert len(data["equity"]["t"]) == len(data["drawdown"]["v"]) == len(candles["t"])
    assert [t["pnl"] for t in data["trades"]] == [t.pnl for t in report.result.trades]
    first = data["trades"][0]
    assert first["sl"] == pytest.approx(first["entry_p"] * 0.95)  # 0001: stop loss 5 %
    assert first["tp"] == pytest.approx(first["entry_p"] * 1.10)  # take profit 10 %


def test_text_from_the_config_cannot_break_out_of_the_page():
    report = demo_report()
    document = json.loads(json.dumps(report.document))
    document["by_exit_reason"][0]["exit_reason"] = "</script><script>alert(1)</script>"
    page = render_html(report, document)
    assert page.count("</script>") == 2  # the data block's and the code's own


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (/usr/bin/chromium): "
                    "'apt-get install chromium' to check that report.html draws its charts")
def test_report_page_draws_its_charts_and_trade_tooltips_in_chromium(tmp_path):
    report = demo_report()
    paths = write_report(tmp_path / "report", report, pictures=False)
    with paths["trades.csv"].open() as fh:
        trades = list(csv.DictReader(fh))
    url = paths["report.html"].resolve().as_uri() + "#selftest"
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1000",
                           "--virtual-time-budget=5000", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    rendered = re.search(r'data-rendered="([^"]*)"', done.stdout)
    assert rendered, "the page's script did not finish drawing:\n" + done.stderr[-2000:]
    state = json.loads(html.unescape(rendered.group(1)))
    assert state["charts"] == 5  # price, RSI, volume, equity, drawdown
    assert state["candles"] == len(page_data(report, report.document)["candles"]["t"])
    assert state["markers"] == 2 * len(trades)  # an entry and an exit marker per trade
    assert all(count > 500 for count in state["painted"]), state["painted"]  # pixels drawn
    assert state["trade_rows"] == len(trades)
    selftest = json.loads(html.unescape(re.search(r'data-selftest="([^"]*)"', done.stdout).group(1)))
    assert selftest["visible"], "hovering the first entry marker showed no tooltip"
    first_entry = trades[0]["entry_time"][:16].replace("T", " ")
    assert "Trade 1 (entry)" in selftest["text"] and first_entry in selftest["text"]
    assert trades[0]["exit_reason"] in selftest["text"]


NODE = shutil.which("node")
PAGE = Path(__file__).resolve().parents[2] / "src" / "trading" / "backtest" / "page"


def test_the_page_draws_the_mixins_indicators_and_a_legend():
    report = demo_report()  # 0001: RSI + Bollinger + volume entry, RSI/BB exit
    data = page_data(report, report.document)
    price, *panes = data["indicators"]
    assert [line["label"] for line in price["lines"]] == ["BB(20, 2) upper", "BB(20, 2) middle",
                                                          "BB(20, 2) lower"]
    assert [p["title"] for p in panes] == ["RSI(14)", "volume"]
    rsi = panes[0]
    assert rsi["levels"] == [30.0, 70.0] and tuple(rsi["fixed"]) == (0.0, 100.0)
    assert all(len(line["v"]) == len(data["candles"]["t"]) for p in data["indicators"] for line in p["lines"])
    values = [v for v in rsi["lines"][0]["v"] if v is not None]
    assert len(values) == len(rsi["lines"][0]["v"]) and 0 <= min(values) <= max(values) <= 100  # warmed up
    labels = [e["label"] for e in data["legend"]]
    assert labels[:4] == ["price (candle up / down)", "BB(20, 2) upper", "BB(20, 2) middle", "BB(20, 2) lower"]
    assert {"entry", "exit, won", "exit, lost", "stop loss (5 %)", "take profit (10 %)", "RSI(14)",
            "equity", "drawdown"} <= set(labels)


@pytest.mark.skipif(NODE is None, reason="no node: the page's scripts are checked with node where it is installed")
def test_axis_ticks_are_round_numbers_and_round_times():
    script = f"""
const RF = require({json.dumps(str(PAGE / "format.js"))});
const t0 = Date.UTC(2018, 0, 10, 4, 55) / 1000;
const days = RF.timeTicks(t0, t0 + 20 * 86400, 10), months = RF.timeTicks(t0, t0 + 400 * 86400, 8);
console.log(JSON.stringify({{price: RF.niceTicks(0.09493, 0.1044, 4).ticks, equity: RF.niceTicks(986.2, 1003.7, 4).ticks,
  rsi: RF.niceTicks(0, 100, 4).ticks, days: days.ticks.map(days.label), months: months.ticks.map(months.label)}}));
"""
    done = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    ticks = json.loads(done.stdout)
    assert ticks["price"] == [0.095, 0.0975, 0.1, 0.1025]
    assert ticks["equity"] == [990, 995, 1000]
    assert ticks["rsi"] == [0, 25, 50, 75, 100]
    assert ticks["days"][:2] == ["2018-01-11", "2018-01-13"]  # midnights
    assert ticks["months"] == ["2018-04", "2018-07", "2018-10", "2019-01"]  # quarters' first days


@pytest.mark.skipif(NODE is None, reason="no node: the page's scripts are checked with node where it is installed")
def test_the_pages_scripts_draw_every_chart_pane_legend_and_table_without_an_error(tmp_path):
    report = demo_report()
    paths = write_report(tmp_path / "report", report, pictures=False)
    done = subprocess.run([NODE, str(Path(__file__).parent / "js" / "page_smoke.js"), str(paths["report.html"])],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    rendered, tables = (json.loads(line) for line in done.stdout.splitlines()[:2])
    candles = len(page_data(report, report.document)["candles"]["t"])
    assert rendered["charts"] == 5  # price, RSI, volume, equity, drawdown
    assert rendered["panes"] == [candles, candles]
    assert rendered["legend"] == len(page_data(report, report.document)["legend"])
    assert "pnl (BTC)" in tables["trades"] and "Absolute profit" in tables["summary"]
    assert "Calmar" in tables["summary"] and "Longest win / loss streak" in tables["summary"]
