"""``tradingbot download yahoo``, ``tradingbot feed-test yahoo`` and the shipped Yahoo config
0005, against the loopback Yahoo (YAHOO_BASE_URL), run as a user runs them."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot_workspace import REPO, wait_until
from fakes.yahoo import FakeYahoo
from feeds.csv_bars import load_bars
from feeds.resample import resample_bars
from trading.core.timeutil import iso_z
from yahoo_workspace import YahooWorkspace, stock_bars, warm_up_answered

BARS = 700
SAMPLE = REPO / "data" / "sample" / "ETHBTC-5m.csv"


@pytest.fixture(scope="module")
def fake():
    yahoo = FakeYahoo(stock_bars(BARS), symbol="XYZ", history=BARS - 1).start()
    yield yahoo
    yahoo.stop()


def cli_env(fake: FakeYahoo) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YAHOO_")}
    env.update(fake.env())
    env.update({"PYTHONPATH": str(REPO / "src"), "NO_PROXY": "127.0.0.1,localhost"})
    return env


def cli(fake: FakeYahoo, cwd: Path, *args: str, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "trading.cli", *args], cwd=cwd,
                          env=cli_env(fake), text=True, capture_output=True, timeout=timeout)


def test_download_writes_every_closed_bar_in_a_file_replay_reads(fake, tmp_path):
    first = iso_z(fake.market.bars[0].ts)
    done = cli(fake, tmp_path, "download", "yahoo", "XYZ", "5m", "--start", first)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "data" / "yahoo" / "XYZ-5m.csv"
    bars = load_bars(out)
    assert [bars.bar(i) for i in range(len(bars))] == fake.closed_bars  # not the forming one
    assert f"{BARS - 1:,} bar(s) written from {first}" in done.stdout
    assert out.read_text().splitlines()[0] == "datetime,open,high,low,close,volume"
    # the prices are the unadjusted quotes: the fake's adjclose differs from every close
    assert bars.close[-1] == fake.closed_bars[-1].close


def test_a_resumed_download_is_byte_identical_to_a_one_shot_download(fake, tmp_path):
    start = iso_z(fake.market.bars[0].ts)
    middle = iso_z(fake.market.bars[345].ts)
    one_shot, resumed = tmp_path / "one.csv", tmp_path / "two.csv"
    assert cli(fake, tmp_path, "download", "yahoo", "XYZ", "5m", "--start", start,
               "--out", str(one_shot)).returncode == 0
    assert cli(fake, tmp_path, "download", "yahoo", "XYZ", "5m", "--start", start, "--end",
               middle, "--out", str(resumed)).returncode == 0
    again = cli(fake, tmp_path, "download", "yahoo", "XYZ", "5m", "--start", start,
                "--out", str(resumed))
    assert again.returncode == 0, again.stderr
    assert f"resumed after {middle}" in again.stdout
    assert resumed.read_bytes() == one_shot.read_bytes()


def test_download_names_a_symbol_yahoo_does_not_know(fake, tmp_path):
    done = cli(fake, tmp_path, "download", "yahoo", "NOSUCH", "5m", "--start", "2018-01-12")
    assert done.returncode == 1
    assert "Yahoo does not know the symbol 'NOSUCH'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()


def test_feed_test_prints_history_then_each_bar_as_it_closes(tmp_path):
    yahoo = FakeYahoo(stock_bars(200), symbol="XYZ", history=75).start()  # near a session's end
    try:
        proc = subprocess.Popen([sys.executable, "-m", "trading.cli", "feed-test", "yahoo", "XYZ",
                                 "5m", "--lookback", "3", "--bars", "6"], cwd=tmp_path,
                                env=cli_env(yahoo), text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        yahoo.play(pace=0.05, gate=lambda: warm_up_answered(yahoo))
        out, err = proc.communicate(timeout=60)
    finally:
        yahoo.stop()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert [l.split()[0] for l in lines if l.startswith(("history", "live"))] == \
        ["history"] * 3 + ["live"] * 6
    assert "state DELAYED" in lines and "state LIVE" in lines
    bars = stock_bars(200)
    # over the night: the session's last bars, then the next morning's, none missing or forming
    expected = [f"live    {iso_z(b.ts)} O {b.open:.8g}" for b in bars[75:81]]
    assert [l[:len(e)] for l, e in zip([l for l in lines if l.startswith("live")], expected)] \
        == expected
    assert "WARNING" not in err


def test_config_0005_validates_and_runs_on_yahoo_prices(tmp_path):
    validated = subprocess.run([sys.executable, "-m", "trading.cli", "validate",
                                str(REPO / "config" / "trading" / "0005.json")],
                               env={**os.environ, "PYTHONPATH": str(REPO / "src")}, text=True,
                               capture_output=True, timeout=60)
    assert validated.returncode == 0, validated.stderr
    assert "not available" not in validated.stdout + validated.stderr
    hourly = resample_bars(load_bars(SAMPLE), 3600)  # BTC-USD stands in: a market never closing
    bars = [hourly.bar(i) for i in range(len(hourly))]
    yahoo = FakeYahoo(bars, symbol="BTC-USD", step=3600, history=len(bars) - 10,
                      timezone_name="UTC", around_the_clock=True).start()
    ws = YahooWorkspace(tmp_path, yahoo, bot_id="0005")
    shutil.copy(REPO / "config" / "trading" / "0005.json", ws.config_path)
    doc = json.loads(ws.config_path.read_text())
    doc.pop("$schema")
    ws.config_path.write_text(json.dumps(doc))
    proc = ws.start()
    try:
        assert wait_until(lambda: warm_up_answered(yahoo), proc, timeout=60), "no warm-up"
        yahoo.play(pace=0.02)
        last = bars[-2].ts
        assert wait_until(lambda: ws.checkpointed(last), proc, timeout=60), "no live bars"
    finally:
        yahoo.stop_playing()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        yahoo.stop()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    # Yahoo has fewer bars than lookback_bars 500: the warm-up takes what there is (the market
    # may move on while it asks a second time, further back)
    served = re.search(r"Yahoo served (\d+) of the 500 history bar\(s\) asked for", err)
    assert served and len(bars) - 10 <= int(served[1]) < len(bars) - 1, err
    assert f"{served[1]} history bar(s) loaded" in err
    (count,) = ws.query("SELECT count(*) FROM equity")[0]
    assert int(served[1]) + count == len(bars) - 1  # then every bar that closed, once
