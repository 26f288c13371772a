"""``tradingbot download`` and ``tradingbot feed-test`` against the loopback exchange, run as a
user runs them."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from binance_workspace import sample_bars
from bot_workspace import REPO
from fakes.binance import FakeBinance
from fakes.binance.server import Fault
from feeds.csv_bars import load_bars
from trading.core.timeutil import iso_z

BARS = 2600  # 2,599 closed: three pages of 1,000


@pytest.fixture(scope="module")
def fake():
    exchange = FakeBinance(sample_bars(BARS + 1), history=BARS).start()
    yield exchange
    exchange.stop()


def cli(fake: FakeBinance, cwd: Path, *args: str, timeout: float = 120):
    env = dict(os.environ)
    env = {k: v for k, v in env.items() if not k.startswith("BINANCE_")}
    env.update({"BINANCE_REST_URL": fake.urls["rest"], "BINANCE_STREAM_URL": fake.urls["stream"],
                "PYTHONPATH": str(REPO / "src"), "NO_PROXY": "127.0.0.1,localhost"})
    return subprocess.run([sys.executable, "-m", "trading.cli", *args], cwd=cwd, env=env,
                          text=True, capture_output=True, timeout=timeout)


def klines_requested(fake: FakeBinance) -> int:
    return sum(1 for r in fake.requests if r.path == "/api/v3/klines")


def test_download_pages_past_1000_and_writes_every_closed_kline_replay_reads(fake, tmp_path):
    first = iso_z(fake.market.bars[0].ts)
    before = klines_requested(fake)
    done = cli(fake, tmp_path, "download", "binance", "ETHBTC", "5m", "--start", first)
    assert done.returncode == 0, done.stderr
    assert klines_requested(fake) - before == 3
    out = tmp_path / "data" / "binance" / "ETHBTC-5m.csv"
    bars = load_bars(out)
    expected = fake.closed_bars
    assert len(bars) == len(expected) == BARS
    assert [bars.bar(i) for i in range(len(bars))] == expected  # the forming kline is not in it
    assert f"{BARS:,} kline(s) written" in done.stdout


def test_a_resumed_download_is_byte_identical_to_a_one_shot_download(fake, tmp_path):
    start = iso_z(fake.market.bars[0].ts)
    middle = iso_z(fake.market.bars[1234].ts)
    one_shot, resumed = tmp_path / "one.csv", tmp_path / "two.csv"
    assert cli(fake, tmp_path, "download", "binance", "ETHBTC", "5m", "--start", start,
               "--out", str(one_shot)).returncode == 0
    part = cli(fake, tmp_path, "download", "binance", "ETHBTC", "5m", "--start", start,
               "--end", middle, "--out", str(resumed))
    assert part.returncode == 0 and "1,235 kline(s) written" in part.stdout
    rest = cli(fake, tmp_path, "download", "binance", "ETHBTC", "5m", "--start", start,
               "--out", str(resumed))
    assert rest.returncode == 0 and "resumed after" in rest.stdout
    assert resumed.read_bytes() == one_shot.read_bytes()
    again = cli(fake, tmp_path, "download", "binance", "ETHBTC", "5m", "--start", start,
                "--out", str(resumed))
    assert "0 kline(s) written" in again.stdout and resumed.read_bytes() == one_shot.read_bytes()


def test_download_explains_an_unknown_symbol_or_interval(fake, tmp_path):
    symbol = cli(fake, tmp_path, "download", "binance", "NOSUCH", "5m", "--start", "2018-01-10")
    assert symbol.returncode == 1
    assert "Binance does not list the symbol NOSUCH" in symbol.stderr
    interval = cli(fake, tmp_path, "download", "binance", "ETHBTC", "7m", "--start", "2018-01-10")
    assert interval.returncode == 2 and "invalid choice: '7m'" in interval.stderr
    for done in (symbol, interval):
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()


def test_feed_test_prints_each_closed_bar_as_it_arrives(tmp_path):
    exchange = FakeBinance(sample_bars(200), history=100).start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
        env.update({"BINANCE_REST_URL": exchange.urls["rest"],
                    "BINANCE_STREAM_URL": exchange.urls["stream"],
                    "PYTHONPATH": str(REPO / "src"), "NO_PROXY": "127.0.0.1,localhost"})
        proc = subprocess.Popen([sys.executable, "-m", "trading.cli", "feed-test", "binance",
                                 "ETHBTC", "5m", "--lookback", "3", "--bars", "4"], cwd=tmp_path,
                                env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        exchange.play(rate=20, gate=lambda: exchange.stream_connections > 0 and any(
            r.path == "/api/v3/klines" for r in exchange.requests))
        out, err = proc.communicate(timeout=60)
    finally:
        exchange.stop()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert [l.split()[0] for l in lines if l.startswith(("history", "live"))] == \
        ["history"] * 3 + ["live"] * 4
    assert "state DELAYED" in lines and "state LIVE" in lines
    assert f"live    {iso_z(sample_bars(101)[100].ts)}" in out


def closed_port() -> int:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_download_fails_at_once_when_binance_refuses_the_connection(tmp_path):
    port = closed_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    env.update({"BINANCE_REST_URL": f"http://127.0.0.1:{port}/api",
                "PYTHONPATH": str(REPO / "src"), "NO_PROXY": "127.0.0.1,localhost"})
    done = subprocess.run([sys.executable, "-m", "trading.cli", "download", "binance", "ETHBTC",
                           "5m", "--start", "2018-01-10"], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=120)
    assert done.returncode == 3
    assert f"download: cannot reach Binance at http://127.0.0.1:{port}/api" in done.stderr
    assert "retrying" not in done.stderr, "a refused connection does not heal: no retries"
    assert "Traceback" not in done.stderr


def test_download_rides_out_transient_server_errors(fake, tmp_path):
    fake.inject(Fault("status", path="/api/v3/klines", status=503, count=2))
    done = cli(fake, tmp_path, "download", "binance", "ETHBTC", "5m", "--start",
               iso_z(fake.market.bars[-10].ts))
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("retrying") == 2 and "kline(s) written" in done.stdout


@pytest.mark.parametrize("source, env, symbol", [
    ("binance", {"BINANCE_REST_URL": "http://127.0.0.1:{port}/api",
                 "BINANCE_STREAM_URL": "ws://127.0.0.1:{port}/"}, "ETHBTC"),
    ("yahoo", {"YAHOO_BASE_URL": "http://127.0.0.1:{port}"}, "AAPL"),
])
def test_feed_test_gives_up_after_its_timeout_when_nothing_answers(tmp_path, source, env, symbol):
    port = closed_port()
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("BINANCE_", "YAHOO_"))}
    clean.update({name: value.format(port=port) for name, value in env.items()})
    clean.update({"PYTHONPATH": str(REPO / "src"), "NO_PROXY": "127.0.0.1,localhost"})
    done = subprocess.run([sys.executable, "-m", "trading.cli", "feed-test", source, symbol,
                           "1m", "--timeout", "1"], cwd=tmp_path, env=clean, text=True,
                          capture_output=True, timeout=120)
    assert done.returncode == 3, done.stderr
    message = done.stderr.strip().splitlines()[-1]
    assert message.startswith("feed-test: ")
    assert "no bar and no live connection in the 1s since the start (--timeout); the last " \
           "problem: " in message
    assert f"127.0.0.1:{port}" in message
    assert "Traceback" not in done.stderr
