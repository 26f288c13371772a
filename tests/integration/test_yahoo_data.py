"""Paper trading on Yahoo prices, as a user runs it: the bot subprocess polls the loopback Yahoo
(through yfinance, pointed there by YAHOO_BASE_URL) for a stock's 5-minute bars, with nights, a
weekend and a holiday between sessions, into the paper broker."""
from __future__ import annotations

import signal

import pytest

from bot_workspace import kill_hard, replayed_trades, wait_until
from fakes.yahoo import FakeYahoo
from yahoo_workspace import YahooWorkspace, stock_bars, warm_up_answered

HISTORY = 100  # bars closed when Yahoo starts
LOOKBACK = 60
BARS = 700
ACTIVE = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 40}},
          "exit_logic": {"name": "RSIOrBBExitMixin", "params": {"x_rsi_overbought": 60}}}


@pytest.fixture
def fake():
    yahoo = FakeYahoo(stock_bars(BARS), symbol="XYZ", history=HISTORY).start()
    yield yahoo
    yahoo.stop()


def run_to_the_end(ws: YahooWorkspace, fake: FakeYahoo, faults=(), since: int = 0) -> str:
    """Start the bot, play every bar (injecting ``faults`` as (steps played, kind, count) on the
    way, the market moving on while they last), stop it once it has checkpointed the last closed
    bar; returns its stderr."""
    proc = ws.start()
    try:
        assert wait_until(lambda: warm_up_answered(fake, since), proc, timeout=30), "no warm-up"
        played = 0
        for at, kind, count in faults:
            played += fake.advance(at - played)
            assert wait_until(lambda: ws.checkpointed(fake.closed_bars[-1].ts), proc, timeout=30)
            fake.inject(kind, count)
            played += fake.advance(10)  # bars close while Yahoo fails
            assert wait_until(lambda: fake.faults_left == 0, proc, timeout=30), "faults not met"
        fake.play(pace=0.003)
        last = fake.market.bars[-2].ts
        assert wait_until(lambda: ws.checkpointed(last), proc, timeout=90), "the bot fell behind"
    finally:
        fake.stop_playing()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return err


def replay_of_the_run(ws: YahooWorkspace) -> list[tuple]:
    bars = stock_bars(BARS)[HISTORY - LOOKBACK:BARS - 1]  # warm-up + every closed live bar
    return replayed_trades(ws.config_path, bars, LOOKBACK)


def test_paper_on_yahoo_prices_trades_exactly_as_replay_of_the_same_bars(tmp_path, fake):
    ws = YahooWorkspace(tmp_path, fake)
    ws.write_yahoo_config(lookback=LOOKBACK, strategy=ACTIVE)
    err = run_to_the_end(ws, fake)
    trades = ws.trades()
    assert len(trades) >= 5
    assert trades == replay_of_the_run(ws)
    assert f"{LOOKBACK} history bar(s) loaded" in err
    (bars,) = ws.query("SELECT count(*) FROM equity")[0]
    assert bars == BARS - HISTORY - 1  # every live bar once; the forming one never
    assert [t["exit_reason"] for t in ws.journal("trades")] == [t[7] for t in trades]
    assert ws.data_states()[:2] == ["DELAYED", "LIVE"]
    # yfinance's own handshake ran against the fake: cookie, crumb, then charts carrying both
    charts = fake.chart_requests()
    assert charts and all(r.crumb == "fAkEcRuMb.1" and r.cookie for r in charts)
    # nights, the weekend and the holiday are the market's hours, not missed bars
    gaps = [line for line in err.splitlines() if ": gap: no bars between" in line]
    assert gaps and not [line for line in gaps if "WARNING" in line], gaps[:3]


@pytest.mark.parametrize("kind, count", [("rate_limit", 6), ("malformed", 4), ("outage", 8),
                                         ("refuse", 6)],
                         ids=["rate limited", "malformed answer", "outage (5xx)",
                              "outage (connection refused)"])
def test_a_fault_mid_run_gives_the_trades_of_a_clean_run(tmp_path, fake, kind, count):
    ws = YahooWorkspace(tmp_path, fake)
    ws.write_yahoo_config(lookback=LOOKBACK, strategy=ACTIVE)
    err = run_to_the_end(ws, fake, faults=[(150, kind, count)])
    assert ws.trades() == replay_of_the_run(ws)
    (bars,) = ws.query("SELECT count(*) FROM equity")[0]
    assert bars == BARS - HISTORY - 1  # every live bar once, the missed ones backfilled in order
    assert "trying again in" in err and "Yahoo answers again" in err
    assert "caught up" in err
    assert ws.data_states()[:5] == ["DELAYED", "LIVE", "CONNBROKEN", "DELAYED", "LIVE"]


def test_a_restart_trades_the_bars_missed_while_down_as_live_bars(tmp_path, fake):
    ws = YahooWorkspace(tmp_path, fake)
    ws.write_yahoo_config(lookback=LOOKBACK, strategy=ACTIVE)
    proc = ws.start()
    stop_at = fake.market.bars[HISTORY + 150].ts
    try:
        assert wait_until(lambda: warm_up_answered(fake), proc, timeout=30)
        # the market closes 151 bars, the bot trades them (caught up as a few answers, not one
        # poll per bar, which would take a second per ten bars) and is killed once it has
        while len(fake.closed_bars) < HISTORY + 151:
            fake.advance()
        assert wait_until(lambda: ws.checkpointed(stop_at), proc, timeout=60)
    finally:
        kill_hard(proc)
    while len(fake.closed_bars) < HISTORY + 151 + 25:  # the market moves on while the bot is down
        fake.advance()
    missed = len(fake.closed_bars) - (HISTORY + 151)
    since = len(fake.requests)
    err = run_to_the_end(ws, fake, since=since)
    assert f"{missed} bar(s) since the last traded bar" in err
    assert ws.trades() == replay_of_the_run(ws)  # as if it had never stopped
    (bars,) = ws.query("SELECT count(*) FROM equity")[0]
    assert bars == BARS - HISTORY - 1


def test_a_symbol_yahoo_does_not_know_is_a_start_up_error_naming_it(tmp_path, fake):
    ws = YahooWorkspace(tmp_path, fake)
    ws.write_yahoo_config(lookback=LOOKBACK, symbol="NOSUCH")
    result = ws.run(timeout=60)
    assert result.returncode == 1
    assert "Yahoo does not know the symbol 'NOSUCH'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (ws.root / "data").exists()  # refused before anything was written
