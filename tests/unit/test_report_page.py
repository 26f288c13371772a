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
    assert state["charts"] == 3
    assert state["candles"] == len(page_data(report, report.document)["candles"]["t"])
    assert state["markers"] == 2 * len(trades)  # an entry and an exit marker per trade
    assert all(count > 500 for count in state["painted"]), state["painted"]  # pixels drawn
    assert state["trade_rows"] == len(trades)
    selftest = json.loads(html.unescape(re.search(r'data-selftest="([^"]*)"', done.stdout).group(1)))
    assert selftest["visible"], "hovering the first entry marker showed no tooltip"
    first_entry = trades[0]["entry_time"][:16].replace("T", " ")
    assert "Trade 1 (entry)" in selftest["text"] and first_entry in selftest["text"]
    assert trades[0]["exit_reason"] in selftest["text"]
