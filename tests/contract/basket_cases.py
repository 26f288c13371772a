"""The feed contract's basket rows: every data source with a basket of three symbols.

A ``BasketCase`` builds its source as a (re)started bot builds it, plays its market once the
source is live and, for a venue, can break the connection once mid-stream. Adding a feed kind:
write ``kind_basket(tmp_path, closed_at_start) -> BasketCase`` and add it to ``BASKET_KINDS``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from fakes.binance import FakeBinance, Fault
from fakes.tws import FakeTWS
from fakes.yahoo import FakeYahoo, Listing
from feeds.csv_bars import load_bars
from feeds.factory import build_source
from feeds.live import BarSource
from strategies.mixins.base import Bar
from trading.core.settings import DataConfig, VenueEndpoints
from trading.core.timeutil import iso_z
from trading.venues.ibkr.settings import ContractOverride, IbkrConfig
from trading.venues.registry import VenueRequest, venues

from contract.test_feed_contract import ClosingSource, venue_source

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "sample"
CRYPTO = ("ETCBTC", "XLMBTC", "TRXBTC")
LOOKBACK = 60
BARS = 180  # per symbol: LOOKBACK closed at start, the rest closing one by one
GAP_AT = 100  # the third symbol has no bar here (nothing traded): its step runs without it
BREAK_AFTER = 30  # live steps before a case breaks its connection (once)
BREAK_MISSES = 3  # steps that close while it is broken: backfilled, not streamed
PLAY_TIMEOUT = 60.0


def sample(symbol: str, count: int = BARS) -> list[Bar]:
    bars = load_bars(SAMPLES / f"{symbol}-5m.csv")
    return [bars.bar(i) for i in range(count)]


def crypto_markets() -> dict[str, list[Bar]]:
    """The basket's bars: real candles, the third symbol with one bar missing in the live part."""
    markets = {symbol: sample(symbol) for symbol in CRYPTO}
    third = markets[CRYPTO[2]]
    markets[CRYPTO[2]] = third[:GAP_AT] + third[GAP_AT + 1:]
    return markets


@dataclass
class BasketCase:
    """One feed kind with a basket, ready to run.

    ``make_source()`` builds the source and says when the market may move on (as a bot builds
    it: call it again for a restart); ``closed`` is every closed bar each symbol has by the
    end (oldest first; the source starts with the last of them closed at its start), ``lead``
    the first symbol's whole series (a
    bar's index there is its step: ``closed_at_start`` of them closed at start);
    ``play(ready, break_after)`` closes the market's bars in the background whenever
    ``ready()``, breaking the connection once after ``break_after`` live steps (None: never);
    ``stop()`` ends that and the fake."""

    symbols: tuple[str, ...]
    make_source: Callable[[], tuple[BarSource, Callable[[], bool]]]
    closed: list[list[Bar]]
    lead: list[Bar]
    interval_seconds: float
    align_seconds: float
    ends_by_itself: bool = False
    forming: list[Bar] = field(default_factory=list)  # bars shown while forming: never delivered
    play: Callable[[Callable[[], bool], int | None], None] = lambda is_live, at: None
    can_break: bool = True
    stop: Callable[[], None] = lambda: None


def basket_config(source: str, symbols: Sequence[str], **more) -> DataConfig:
    return DataConfig(data_source=source, symbol=symbols[0], symbols=tuple(symbols),
                      interval="5m", lookback_bars=LOOKBACK, retry_interval=1, file_path=None,
                      speed=0, **more)


class Player:
    """Closes a fake market's steps in a background thread, each turn once the source is ready
    for it, and breaks the connection once when asked (bounded waits throughout).
    ``advance()`` closes one turn's steps and says how many (0: the data ended)."""

    def __init__(self, advance: Callable[[], int], breaks: Callable[[], None]) -> None:
        self.advance, self.breaks = advance, breaks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def play(self, is_live: Callable[[], bool], break_after: int | None) -> None:
        def run() -> None:
            played = 0
            waited = 0.0
            while not self._stop.is_set() and waited < PLAY_TIMEOUT:
                if not is_live():
                    self._stop.wait(0.002)
                    waited += 0.002
                    continue
                waited = 0.0
                steps = self.advance()
                if not steps:
                    return
                if break_after is not None and played < break_after <= played + steps:
                    self.breaks()
                played += steps
        self._thread = threading.Thread(target=run, daemon=True, name="basket-market")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)


def file_basket(tmp_path: Path, closed_at_start: int) -> BasketCase:
    """One CSV per symbol, replayed; it ends by itself and has no connection to break."""
    markets = crypto_markets()
    for symbol, bars in markets.items():
        lines = ["datetime,open,high,low,close,volume"] + [
            f"{iso_z(b.ts)},{b.open!r},{b.high!r},{b.low!r},{b.close!r},{b.volume!r}" for b in bars]
        (tmp_path / f"{symbol}-5m.csv").write_text("\n".join(lines) + "\n")
    config = DataConfig(data_source="file", symbol=CRYPTO[0], symbols=CRYPTO, interval="5m",
                        lookback_bars=LOOKBACK, retry_interval=1,
                        file_path=tmp_path / "{symbol}-5m.csv", speed=0)

    def make() -> tuple[BarSource, Callable[[], bool]]:
        return build_source(config, resume_after_ts=None), lambda: True

    return BasketCase(symbols=CRYPTO, make_source=make, closed=list(markets.values()),
                      lead=markets[CRYPTO[0]],
                      interval_seconds=config.interval_seconds, align_seconds=1.0,
                      ends_by_itself=True, can_break=False)


def binance_basket(tmp_path: Path, closed_at_start: int) -> BasketCase:
    """The kline source on one combined stream of the loopback exchange's three markets."""
    markets = crypto_markets()
    first, *others = CRYPTO
    fake = FakeBinance(markets[first], symbol=first, history=closed_at_start,
                       more_markets={s: markets[s] for s in others}).start()
    config = basket_config("binance", CRYPTO, endpoints=VenueEndpoints(**fake.urls))

    def make() -> tuple[BarSource, Callable[[], bool]]:
        source, venue = venue_source(config, env={})

        def ready() -> bool:  # live, and the last bar closed is in: a market slower than the bot
            return venue.stream_states.get(source.key) == "LIVE" \
                and source.last_delivered[0] == fake.closed_bars[-1].ts
        return ClosingSource(source, venue), ready

    def breaks() -> None:  # the socket drops, and the market moves on meanwhile
        fake.inject(Fault("drop_streams"))
        fake.advance(BREAK_MISSES, hold=False)

    player = Player(lambda: fake.advance(1, hold=False), breaks)

    def stop() -> None:
        player.stop()
        fake.stop()

    last = markets[first][-1].ts  # forming when the data ends
    closed = [[b for b in bars if b.ts < last] for bars in markets.values()]
    forming = [bar._replace(high=bar.open, low=bar.open, close=bar.open, volume=0.0)
               for bars in markets.values() for bar in bars]
    return BasketCase(symbols=CRYPTO, make_source=make, closed=closed, lead=markets[first],
                      interval_seconds=config.interval_seconds, align_seconds=2.0,
                      forming=forming, play=player.play, stop=stop)


STOCKS = ("AAPL", "SPY", "EURUSD")  # the third a forex pair among stocks (ibkr.contracts)
AT_TWS = {"AAPL": "AAPL", "SPY": "SPY", "EURUSD": "EUR.USD"}  # how the fake TWS names them


def opening(bar: Bar) -> Bar:
    """``bar`` as it first shows at TWS, before anything traded."""
    return Bar(bar.ts, bar.open, bar.open, bar.open, bar.open, 0.0)


def ibkr_basket(tmp_path: Path, closed_at_start: int) -> BasketCase:
    """keepUpToDate history per contract from the loopback TWS, one connection. IB forms a bar
    for every period of every contract here: a bar is closed once the next one starts."""
    markets = {symbol: sample(symbol) for symbol in CRYPTO}  # three real series, no gap
    bars = dict(zip(STOCKS, markets.values()))
    tws = FakeTWS().start()
    for symbol, one in bars.items():
        tws.set_bars(AT_TWS[symbol], one[:closed_at_start], forming=opening(one[closed_at_start]))
    config = basket_config("ibkr", STOCKS)
    settings = IbkrConfig(contracts={"EURUSD": ContractOverride(sec_type="CASH")})
    venue_decl = venues().for_data_source("ibkr")

    def make() -> tuple[BarSource, Callable[[], bool]]:
        venue = venue_decl.connect(VenueRequest(broker=None, data=config, settings=settings,
                                                symbol=STOCKS[0],
                                                env={"IBKR_PORT": str(tws.port)}))
        source = venue_decl.bar_source(venue, config, settings)

        def ready() -> bool:  # live, and the last bar closed is in: a market slower than the bot
            return venue.stream_states.get(source.key) == "LIVE" \
                and source.last_delivered[0] == bars[STOCKS[0]][step[0] - 1].ts
        return ClosingSource(source, venue), ready

    step = [closed_at_start]  # the forming step

    def advance() -> int:
        if step[0] >= len(bars[STOCKS[0]]) - 1:
            return 0
        for symbol, one in bars.items():
            tws.push_bar(AT_TWS[symbol], one[step[0]])  # closes it, the next one starts
        step[0] += 1
        return 1

    def breaks() -> None:  # the socket drops, and the market moves on meanwhile
        tws.drop_connections()
        for _ in range(BREAK_MISSES):
            advance()

    player = Player(advance, breaks)

    def stop() -> None:
        player.stop()
        tws.stop()

    closed = [one[:-1] for one in bars.values()]
    forming = [b for one in bars.values() for bar in one
               for b in (opening(bar), Bar(bar.ts + 300, bar.close, bar.close, bar.close,
                                           bar.close, 0.0))]
    return BasketCase(symbols=STOCKS, make_source=make, closed=closed, lead=bars[STOCKS[0]],
                      interval_seconds=config.interval_seconds, align_seconds=5.0,
                      forming=forming, play=player.play, stop=stop)


STOCK = Path(__file__).resolve().parents[1] / "fixtures" / "yahoo" / "XYZ-5m.csv"
AROUND_THE_CLOCK = ("ETC-BTC", "XYZ", "ABC")  # a pair that never closes, two stocks that do
PER_POLL = 6  # steps the market moves between two polls
PAIR_FROM = 337  # the pair's bar LOOKBACK bars later opens 2018-01-11 14:00 UTC: the stocks'
# session opens half an hour into the live part and closes with hours of the pair's to go


def stock_markets() -> dict[str, list[Bar]]:
    """A crypto pair's real candles around the clock, and two stocks (the Yahoo fixture, the
    second at another price) with US sessions: nights, a weekend, a holiday."""
    stock = load_bars(STOCK)
    xyz = [stock.bar(i) for i in range(len(stock))]
    abc = [Bar(b.ts, b.open * 3, b.high * 3, b.low * 3, b.close * 3, b.volume * 2) for b in xyz]
    pair = sample(CRYPTO[0], PAIR_FROM + BARS)[PAIR_FROM:]
    return dict(zip(AROUND_THE_CLOCK, (pair, xyz, abc)))


def half_way(bar: Bar) -> Bar:
    return Bar(bar.ts, bar.open, max(bar.open, bar.low), bar.low, bar.open, bar.volume / 2)


def yahoo_basket(tmp_path: Path, closed_at_start: int) -> BasketCase:
    """Chart polls of the loopback Yahoo for the three, one round per bar; each symbol's
    market hours its own (the stocks' bars stop at night, the pair's go on)."""
    markets = stock_markets()
    first, *others = AROUND_THE_CLOCK
    fake = FakeYahoo(markets[first], symbol=first, history=closed_at_start,
                     timezone_name="UTC", around_the_clock=True,
                     more_markets={s: Listing(markets[s]) for s in others}).start()
    config = basket_config("yahoo", AROUND_THE_CLOCK, poll_delay_seconds=0)

    def make() -> tuple[BarSource, Callable[[], bool]]:
        source, venue = venue_source(config, env=fake.env())
        polled = [0]

        def ready() -> bool:  # live, and polled since the market last moved
            if venue.stream_states.get(source.key) != "LIVE" or source.polls <= polled[0]:
                return False
            polled[0] = source.polls
            return True
        return ClosingSource(source, venue), ready

    def breaks() -> None:  # Yahoo fails a round of polls, and the market moves on meanwhile
        fake.inject("outage", 4)
        fake.advance(BREAK_MISSES)

    player = Player(lambda: fake.advance(PER_POLL), breaks)

    def stop() -> None:
        player.stop()
        fake.stop()

    end = markets[first][-1].ts + 150  # the clock at the end: half way into the last bar
    closed = [[b for b in bars if b.ts + 300 <= end] for bars in markets.values()]
    forming = [half_way(bar) for bars in markets.values() for bar in bars]
    forming = [f for f in forming if f not in set(b for bars in markets.values() for b in bars)]
    return BasketCase(symbols=AROUND_THE_CLOCK, make_source=make, closed=closed,
                      lead=markets[first],
                      interval_seconds=config.interval_seconds, align_seconds=30.0,
                      forming=forming, play=player.play, stop=stop)


BASKET_KINDS: dict[str, Callable[[Path, int], BasketCase]] = {
    "file": file_basket,
    "binance": binance_basket,
    "ibkr": ibkr_basket,
    "yahoo": yahoo_basket,
}
