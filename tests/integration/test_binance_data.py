"""Paper trading on Binance prices, as a user runs it: the bot subprocess reads klines from the
loopback exchange (REST warm-up, then the kline stream) into the paper broker."""
from __future__ import annotations

import json
import signal

import pytest

from binance_workspace import BinanceWorkspace, klines_answered, sample_bars
from bot_workspace import replayed_trades, wait_until
from fakes.binance import FakeBinance, Fault

HISTORY = 100  # bars closed when the exchange starts
LOOKBACK = 60
BARS = 900
ACTIVE = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 40}},
          "exit_logic": {"name": "RSIOrBBExitMixin", "params": {"x_rsi_overbought": 60}}}


@pytest.fixture
def fake():
    exchange = FakeBinance(sample_bars(BARS), history=HISTORY).start()
    yield exchange
    exchange.stop()


def run_to_the_end(ws: BinanceWorkspace, fake: FakeBinance, faults=()) -> str:
    """Start the bot, play every bar (injecting ``faults`` as (bars played, Fault) on the way),
    stop it once it has checkpointed the last closed bar; returns its stderr."""
    since = len(fake.requests)
    proc = ws.start()
    try:
        assert wait_until(lambda: klines_answered(fake, since), proc, timeout=30), "no warm-up"
        played = 0
        for at, fault in sorted(faults, key=lambda f: f[0]):
            played += fake.advance(at - played)
            assert wait_until(lambda: ws.checkpointed(fake.closed_bars[-1].ts), proc, timeout=30)
            fake.inject(fault)
        fake.play()
        last = fake.market.bars[-2].ts
        assert wait_until(lambda: ws.checkpointed(last), proc, timeout=90), "the bot fell behind"
        if faults:  # the last bars may come by backfill: the feed says LIVE again just after
            assert wait_until(lambda: data_states(ws)[-1:] == ["LIVE"], proc, timeout=30)
    finally:
        fake.stop_playing()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return err


def data_states(ws: BinanceWorkspace) -> list[str]:
    """The data states the bot announced, in order (its ``status`` events of change ``data``)."""
    return [e["status"]["data_status"] for e in map(json.loads, ws.events("status"))
            if e.get("change") == "data"]


def replay_of_the_run(ws: BinanceWorkspace) -> list[tuple]:
    bars = sample_bars(BARS)[HISTORY - LOOKBACK:BARS - 1]  # warm-up + every closed live bar
    return replayed_trades(ws.config_path, bars, LOOKBACK)


def test_paper_on_binance_prices_trades_exactly_as_replay_of_the_same_bars(tmp_path, fake):
    ws = BinanceWorkspace(tmp_path, fake)
    ws.write_binance_config(lookback=LOOKBACK, strategy=ACTIVE)
    err = run_to_the_end(ws, fake)
    trades = ws.trades()
    assert len(trades) >= 10
    assert trades == replay_of_the_run(ws)
    assert f"{LOOKBACK} history bar(s) loaded" in err
    # no key was sent anywhere: market data is public
    assert not [r for r in fake.requests if r.api_key]
    assert data_states(ws)[:2] == ["DELAYED", "LIVE"]


@pytest.mark.parametrize("fault", [
    Fault("drop_streams"),
    Fault("silence", delay=8.0),
    Fault("status", path="/api/v3/klines", status=503, count=2),
], ids=["socket dropped", "stream silent", "REST 5xx during backfill"])
def test_a_broken_stream_is_backfilled_without_a_gap_or_a_double(tmp_path, fake, fault):
    ws = BinanceWorkspace(tmp_path, fake)
    ws.write_binance_config(lookback=LOOKBACK, strategy=ACTIVE)
    faults = [(150, fault)]
    if fault.kind == "status":  # the REST fault bites the backfill after a drop
        faults.append((151, Fault("drop_streams")))
    err = run_to_the_end(ws, fake, faults)
    assert ws.trades() == replay_of_the_run(ws)
    (bars,) = ws.query("SELECT count(*) FROM equity")[0]
    assert bars == BARS - HISTORY - 1  # every live bar once
    assert "reconnected" in err and "backfilled" in err
    assert data_states(ws)[:5] == ["DELAYED", "LIVE", "CONNBROKEN", "DELAYED", "LIVE"]


def test_a_missing_api_key_stops_the_start_naming_the_variable(tmp_path, fake):
    ws = BinanceWorkspace(tmp_path, fake, extra_env={"BINANCE_TESTNET_API_SECRET": ""})
    ws.write_binance_config(broker="binance_paper", lookback=LOOKBACK)
    result = ws.run(timeout=60)
    assert result.returncode == 1
    assert "BINANCE_TESTNET_API_SECRET is not set" in result.stderr
    assert fake.api_key not in result.stderr and "Traceback" not in result.stderr
    assert not (ws.root / "data").exists()  # refused before anything was written


def test_an_unreachable_exchange_is_a_clear_start_up_error(tmp_path, fake):
    # every try of connecting is made, with the backoff capped at 0.2 s instead of 10 s
    ws = BinanceWorkspace(tmp_path, fake, extra_env={"BINANCE_REST_URL": "http://127.0.0.1:9/api",
                                                     "BINANCE_RETRY_CAP": "0.2"})
    ws.write_binance_config(broker="binance_paper", lookback=LOOKBACK)
    result = ws.run(timeout=120)
    assert result.returncode == 3
    assert "cannot reach Binance at http://127.0.0.1:9/api" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_restart_trades_the_bars_missed_while_down_as_live_bars(tmp_path, fake):
    from binance_workspace import lockstep
    from bot_workspace import kill_hard
    ws = BinanceWorkspace(tmp_path, fake)
    ws.write_binance_config(lookback=LOOKBACK, strategy=ACTIVE)
    proc = ws.start()
    stop_at = fake.market.bars[HISTORY + 120].ts
    try:
        assert wait_until(lambda: klines_answered(fake), proc, timeout=30)
        gate = lockstep(ws, fake)
        fake.play(gate=lambda: gate() and not ws.checkpointed(stop_at))
        assert wait_until(lambda: ws.checkpointed(stop_at), proc, timeout=60), (
            ws.last_bar_ts(), stop_at, len(fake.closed_bars))
    finally:
        fake.stop_playing()
        kill_hard(proc)
    assert fake.advance(25, hold=False) == 25  # the market moves on while the bot is down
    err = run_to_the_end(ws, fake)
    assert "25 bar(s) since the last traded bar" in err and "25 traded as live bars" in err
    assert ws.trades() == replay_of_the_run(ws)  # as if it had never stopped
    (bars,) = ws.query("SELECT count(*) FROM equity")[0]
    assert bars == BARS - HISTORY - 1


def test_a_trailing_stop_order_on_binance_is_refused_at_start_up_with_what_to_do(tmp_path, fake):
    ws = BinanceWorkspace(tmp_path, fake)
    ws.write_binance_config(broker="binance_paper", lookback=LOOKBACK,
                            risk_management={"trailing_stop": {"enabled": True}})
    result = ws.run(timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "risk_management.trailing_stop" in result.stderr
    assert "TrailingStopExitMixin" in result.stderr
    assert not [r for r in fake.requests if r.api_key]  # nothing was sent with the keys
