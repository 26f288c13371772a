"""A basket bot on each venue's data, as a user runs it: three symbols, the paper broker, the bot
subprocess reading every symbol's bars from the venue's loopback fake (one connection); what it
trades equals a replay of the same bars, trade for trade, a dropped connection and a restart
included."""
from __future__ import annotations

import signal

from basket_workspace import basket_trades, data_states, replayed_basket_trades, \
    write_basket_config
from binance_workspace import BinanceWorkspace
from bot_workspace import REPO, kill_hard, wait_until
from fakes.binance import FakeBinance, Fault
from fakes.tws import FakeTWS
from fakes.yahoo import FakeYahoo, Listing
from feeds.csv_bars import load_bars
from ibkr_workspace import IbkrWorkspace
from yahoo_workspace import YahooWorkspace, stock_bars, warm_up_answered
from trading.core.types import Bar

CRYPTO = ("ETCBTC", "XLMBTC", "TRXBTC")
HISTORY = 100  # bars closed when the market starts
LOOKBACK = 60
BARS = 600
GAP_AT = 300  # TRXBTC has no bar here: its step runs without it, in the bot as in the replay


def sample(symbol: str, count: int = BARS) -> list[Bar]:
    bars = load_bars(REPO / "data" / "sample" / f"{symbol}-5m.csv")
    return [bars.bar(i) for i in range(count)]


def crypto_markets() -> dict[str, list[Bar]]:
    markets = {symbol: sample(symbol) for symbol in CRYPTO}
    markets["TRXBTC"] = markets["TRXBTC"][:GAP_AT] + markets["TRXBTC"][GAP_AT + 1:]
    return markets


def seen_by_the_bot(markets: dict[str, list[Bar]], history: int, end: float) -> dict[str, list[Bar]]:
    """Each symbol's bars the bot had: ``LOOKBACK`` of history before the ``history``-th step,
    then every bar that closed before ``end``."""
    start = next(iter(markets.values()))[history].ts
    out = {}
    for symbol, bars in markets.items():
        before = sum(1 for b in bars if b.ts < start)
        out[symbol] = [b for b in bars[before - LOOKBACK:] if b.ts < end]
    return out


# --- Binance: one combined kline stream ---------------------------------------------------------

def binance_market() -> tuple[FakeBinance, dict[str, list[Bar]]]:
    markets = crypto_markets()
    first, *others = CRYPTO
    fake = FakeBinance(markets[first], symbol=first, history=HISTORY,
                       more_markets={s: markets[s] for s in others}).start()
    return fake, markets


def binance_basket(ws: BinanceWorkspace) -> None:
    write_basket_config(ws.config_path, CRYPTO, {
        "data_source": "binance", "interval": "5m", "lookback_bars": LOOKBACK,
        "retry_interval": 0.5}, broker={"type": "paper", "initial_balance": 1.0})


def reconnected(ws) -> bool:
    """The bot said its data connection broke after it went live, and is live again (a busy
    machine may take a retry or two: each says CONNBROKEN and DELAYED again)."""
    states = data_states(ws)
    return states[:3] == ["DELAYED", "LIVE", "CONNBROKEN"] and states[-2:] == ["DELAYED", "LIVE"]


def warmed_up(fake: FakeBinance, since: int = 0) -> bool:
    """Every symbol's history was served (the market may move from then on)."""
    with fake.lock:
        asked = {r.params.get("symbol") for r in fake.requests[since:]
                 if r.path == "/api/v3/klines" and r.answered == 200}
    return set(CRYPTO) <= asked


def run_binance(ws: BinanceWorkspace, fake: FakeBinance, drop_at: int | None = None) -> str:
    """Start the bot, play every bar (dropping the stream once ``drop_at`` bars were played),
    stop it once it has checkpointed the last step; returns its stderr."""
    since = len(fake.requests)
    proc = ws.start()
    try:
        assert wait_until(lambda: warmed_up(fake, since), proc, timeout=60), "no warm-up"
        if drop_at is not None:
            fake.advance(drop_at, hold=False)
            assert wait_until(lambda: ws.checkpointed(fake.closed_bars[-1].ts), proc,
                              timeout=60), "the bot fell behind before the drop"
            fake.inject(Fault("drop_streams"))
            fake.advance(3, hold=False)  # closed while the stream is down: backfilled
            assert wait_until(lambda: reconnected(ws), proc, timeout=60), "no reconnect"
        fake.play()
        last = fake.market.bars[-2].ts
        assert wait_until(lambda: ws.checkpointed(last), proc, timeout=120), "the bot fell behind"
        if drop_at is not None:  # the last bars may come by backfill: LIVE again just after
            assert wait_until(lambda: data_states(ws)[-1:] == ["LIVE"], proc, timeout=30)
    finally:
        fake.stop_playing()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return err


def test_a_basket_on_binance_prices_trades_exactly_as_replay_of_the_same_bars(tmp_path):
    fake, markets = binance_market()
    try:
        ws = BinanceWorkspace(tmp_path, fake)
        binance_basket(ws)
        err = run_binance(ws, fake, drop_at=150)
        sockets = list(fake.stream_sockets)
    finally:
        fake.stop()
    trades = basket_trades(ws)
    assert len(trades) >= 10 and len({t[0] for t in trades}) == 3, trades
    end = markets[CRYPTO[0]][-1].ts  # still forming at the end
    assert trades == replayed_basket_trades(ws.config_path,
                                            seen_by_the_bot(markets, HISTORY, end), LOOKBACK)
    assert sockets == [(CRYPTO, True)] * 2  # one combined stream, again after the drop
    for symbol in CRYPTO:
        assert f"binance {symbol} 5m: {LOOKBACK} history bar(s) loaded" in err
        assert f"binance {symbol} 5m: backfilled 3 kline(s)" in err
    assert reconnected(ws), data_states(ws)
    assert not [r for r in fake.requests if r.api_key]  # market data is public


def test_a_basket_restarted_on_binance_trades_the_steps_missed_while_down(tmp_path):
    fake, markets = binance_market()
    try:
        ws = BinanceWorkspace(tmp_path, fake)
        binance_basket(ws)
        proc = ws.start()
        stop_at = markets[CRYPTO[0]][HISTORY + 120].ts
        try:
            assert wait_until(lambda: warmed_up(fake), proc, timeout=60)
            fake.play(gate=lambda: fake.closed_bars[-1].ts < stop_at)
            assert wait_until(lambda: ws.checkpointed(stop_at), proc, timeout=90)
        finally:
            fake.stop_playing()
            kill_hard(proc)
        fake.advance(25, hold=False)  # the market moves on while the bot is down
        err = run_binance(ws, fake)
    finally:
        fake.stop()
    for symbol in CRYPTO:
        assert f"binance {symbol} 5m: 25 bar(s) since the last traded bar" in err
    end = markets[CRYPTO[0]][-1].ts
    assert basket_trades(ws) == replayed_basket_trades(
        ws.config_path, seen_by_the_bot(markets, HISTORY, end), LOOKBACK)  # as if never stopped


# --- Interactive Brokers: one keepUpToDate history request per contract ------------------------

STOCKS = ("AAPL", "SPY", "EURUSD")  # the third a forex pair among stocks (ibkr.contracts)
AT_TWS = {"AAPL": "AAPL", "SPY": "SPY", "EURUSD": "EUR.USD"}


def ibkr_markets() -> dict[str, list[Bar]]:
    """Three real series priced like shares; IB forms a bar for every period (no gap)."""
    return {stock: [Bar(b.ts, b.open * 1000, b.high * 1000, b.low * 1000, b.close * 1000,
                        b.volume) for b in sample(symbol)]
            for stock, symbol in zip(STOCKS, CRYPTO)}


def test_a_basket_on_ibkr_bars_trades_exactly_as_replay_of_the_same_bars(tmp_path):
    markets = ibkr_markets()
    tws = FakeTWS().start()
    for stock, bars in markets.items():
        tws.set_bars(AT_TWS[stock], bars[:HISTORY], forming=Bar(
            bars[HISTORY].ts, *[bars[HISTORY].open] * 4, 0.0))
    step = [HISTORY]  # the forming step

    def advance(steps: int) -> None:
        for _ in range(steps):
            for stock, bars in markets.items():
                tws.push_bar(AT_TWS[stock], bars[step[0]])  # closes it, the next one starts
            step[0] += 1

    try:
        ws = IbkrWorkspace(tmp_path, tws, bot_id="7302")
        write_basket_config(ws.config_path, STOCKS, {
            "data_source": "ibkr", "interval": "5m", "lookback_bars": LOOKBACK,
            "retry_interval": 0.5}, broker={"type": "paper", "initial_balance": 100_000.0},
            ibkr={"contracts": {"EURUSD": {"sec_type": "CASH"}}})
        proc = ws.start()
        try:
            assert wait_until(lambda: len(tws.historical) >= 3, proc, timeout=60), "no warm-up"
            advance(150)
            assert wait_until(lambda: ws.checkpointed(markets["AAPL"][step[0] - 1].ts), proc,
                              timeout=60), "the bot fell behind before the drop"
            tws.drop_connections()
            advance(3)  # closed while the connection is down: backfilled
            assert wait_until(lambda: reconnected(ws), proc, timeout=60), "no reconnect"
            advance(BARS - 1 - step[0])
            last = markets["AAPL"][-2].ts
            assert wait_until(lambda: ws.checkpointed(last), proc, timeout=120), "fell behind"
        finally:
            proc.send_signal(signal.SIGINT)
            err = proc.communicate(timeout=60)[1]
        requests = [(r.symbol, r.what_to_show, r.keep_up_to_date) for r in tws.historical]
    finally:
        tws.stop()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    trades = basket_trades(ws)
    assert len(trades) >= 10 and len({t[0] for t in trades}) == 3, trades
    end = markets["AAPL"][-1].ts  # still forming at the end
    assert trades == replayed_basket_trades(ws.config_path,
                                            seen_by_the_bot(markets, HISTORY, end), LOOKBACK)
    # one request per contract, again after the reconnect; the forex pair's are midpoints
    assert requests == [("AAPL", "TRADES", True), ("SPY", "TRADES", True),
                        ("EUR", "MIDPOINT", True)] * 2
    for stock in STOCKS:
        assert f"ibkr {stock} 5 mins: {LOOKBACK} history bar(s) loaded" in err
        assert f"ibkr {stock} 5 mins: backfilled 3 bar(s)" in err
    assert reconnected(ws), data_states(ws)


# --- Yahoo: one poll round per bar for the basket, each symbol's market hours its own -----------

AROUND_THE_CLOCK = ("ETC-BTC", "XYZ", "ABC")  # a pair that never closes, two stocks that do
PAIR_FROM = 297  # the pair's bar HISTORY bars later opens 2018-01-11 14:00 UTC, half an hour
# before the stocks' session: two sessions and their nights follow


def yahoo_markets() -> dict[str, list[Bar]]:
    """A crypto pair's real candles around the clock, and two stocks (the Yahoo fixture, the
    second at another price) with US sessions."""
    xyz = stock_bars()
    abc = [Bar(b.ts, b.open * 3, b.high * 3, b.low * 3, b.close * 3, b.volume * 2) for b in xyz]
    pair = sample("ETCBTC", PAIR_FROM + BARS)[PAIR_FROM:]
    return dict(zip(AROUND_THE_CLOCK, (pair, xyz, abc)))


def test_a_basket_on_yahoo_prices_trades_exactly_as_replay_of_the_same_bars(tmp_path):
    markets = yahoo_markets()
    first, *others = AROUND_THE_CLOCK
    fake = FakeYahoo(markets[first], symbol=first, history=HISTORY, timezone_name="UTC",
                     around_the_clock=True,
                     more_markets={s: Listing(markets[s]) for s in others}).start()
    try:
        ws = YahooWorkspace(tmp_path, fake, bot_id="7202")
        write_basket_config(ws.config_path, AROUND_THE_CLOCK, {
            "data_source": "yahoo", "interval": "5m", "lookback_bars": LOOKBACK,
            "retry_interval": 0.5, "poll_delay_seconds": 0},
            broker={"type": "paper", "initial_balance": 1.0})
        proc = ws.start()
        try:
            assert wait_until(lambda: warm_up_answered(fake), proc, timeout=60), "no warm-up"
            fake.advance(100)
            assert wait_until(lambda: ws.checkpointed(fake.closed_bars[-1].ts), proc,
                              timeout=60)
            fake.inject("outage", 3)  # a round of polls fails; the market moves on meanwhile
            fake.advance(10)
            assert wait_until(lambda: fake.faults_left == 0, proc, timeout=60), "not polled"
            fake.play(pace=0.01)
            last = markets[first][-2].ts
            assert wait_until(lambda: ws.checkpointed(last), proc, timeout=120), "fell behind"
        finally:
            fake.stop_playing()
            proc.send_signal(signal.SIGINT)
            err = proc.communicate(timeout=60)[1]
        asked = {r.path.rsplit("/", 1)[-1] for r in fake.chart_requests()}
    finally:
        fake.stop()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    trades = basket_trades(ws)
    assert len({t[0] for t in trades}) == 3 and len(trades) >= 5, trades
    end = markets[first][-1].ts  # still forming at the end
    assert trades == replayed_basket_trades(ws.config_path,
                                            seen_by_the_bot(markets, HISTORY, end), LOOKBACK)
    assert asked == set(AROUND_THE_CLOCK)
    for symbol in AROUND_THE_CLOCK:
        assert f"yahoo {symbol} 5m: {LOOKBACK} history bar(s) loaded" in err
    assert "Yahoo answers again after" in err
    assert "came after its step ran" not in err and "within data.align_seconds" not in err
