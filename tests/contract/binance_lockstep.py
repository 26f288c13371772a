"""The binance broker under the broker contract: the real ``BinanceBroker`` and python-binance
against the loopback exchange, with the market played bar by bar.

The contract drives Cerebro through crafted bars; a real exchange trades on its own clock. So
here the fake exchange trades only when told: at each bar, before the broker reports, that bar's
market is played at the fake the way the contract's market works. The market orders the strategy
placed on the bar before reach Binance now, while the fake trades at this bar's open (Backtrader
fills a market order at the next bar's open: the broker holds it until then, nothing else); the
protective orders go out as the broker sends them (``transmit_held``, the bot's write-ahead
hold, released here at the start of the next bar); then the resting orders
trade against this bar's range (the fake fills a limit or a stop at its price, or at the open when
the bar gaps through it; an OCO's other leg expires). After each step the broker waits (bounded,
woken by the gateway's updates) until it has heard everything the fake did with its orders; a
cancel still on its way is answered before the bar's market orders go out (on a real market the
bar before's cancel is done long before the next bar opens). What the broker sends, and what it
does with Binance's answers and user-data-stream reports, is not touched. The fake may be in
another process (``fakes.binance.control.RemoteFake``: a bot run as a user runs it).

The account pays its fees with BNB (``FakeBinance(bnb_price=...)``): the contract charges the
commission in the quote currency and keeps a buy's whole size, which Binance's default (a buy's
fee taken from the base asset it bought) does not; the gateway values each BNB fee at BNB's
ticker price.

A basket plays each symbol's bar at its own market: the fake's account trades ``BASKET``'s three
symbols (one quote asset, USDT), each at the price of its own data's bar.

One fake exchange, I/O thread and connection (built through the venue registry, as the bot builds
them) serve a whole test module (``BinanceExchange``); each test gets a fresh account on it and its
own broker, built by the registry too (or, to take over what a broker before it left, the same
account).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from dataclasses import dataclass
from datetime import timezone
from decimal import Decimal
from typing import Any

import backtrader as bt

from fakes.binance import FakeBinance
from fakes.binance.account import Filters, Listing
from trading.core.settings import BrokerConfig, DataConfig
from trading.core.types import Bar
from trading.runtime.io_thread import IOThread
from trading.venues.binance.broker import BinanceBroker
from trading.venues.registry import Venue, VenueRequest, venues

SYMBOL, BASE, QUOTE = "ETHUSDT", "ETH", "USDT"
BASKET = (SYMBOL, "SOLUSDT", "LTCUSDT")  # one quote asset: one cash
BROKER_TYPE = "binance_paper"
BNB_PRICE = 250.0  # USDT per BNB: the fees' price (a BNB fee of a contract trade is exact here)
BNB_BALANCE = 100.0  # enough BNB for every fee of a contract run
# ETHUSDT's rules on Binance: prices to the cent, quantities to 0.0001 ETH, at least 5 USDT
FILTERS = Filters(tick=Decimal("0.01"), step=Decimal("0.0001"), min_qty=Decimal("0.0001"),
                  min_notional=Decimal("5"))
SETTLE_SECONDS = 10.0
# what the gateway says once it has heard an order's state at Binance (None: Binance refused it)
HEARD = {None: ("rejected",), "NEW": ("accepted",), "PARTIALLY_FILLED": ("partial",),
         "FILLED": ("filled",), "CANCELED": ("canceled",), "EXPIRED": ("expired",)}


class LockstepBinanceBroker(BinanceBroker):
    """``BinanceBroker`` whose every tick first plays the bar of each data that has a new one at
    the fake, at that data's symbol (module docstring)."""

    params = (("fake", None),)

    def __init__(self) -> None:
        super().__init__()
        self._held_market: list[bt.Order] = []
        self._played: dict[int, int] = {}  # id(data) -> its bars played at the fake
        self._heard = threading.Event()
        super().wake_with(self._heard.set)

    def wake_with(self, wake: Any) -> None:
        """The bot's wake-up (a live run) and the lockstep's own, both."""
        heard = self._heard.set
        super().wake_with(lambda: (heard(), wake()))

    def _send(self, order: bt.Order) -> None:
        """A market order reaches Binance at its symbol's next bar's open (module docstring)."""
        self._held_market.append(order)

    def next(self) -> None:
        fake: FakeBinance = self.p.fake
        fresh = [d for d in self._datas() if len(d) and self._played.get(id(d)) != len(d)]
        if fresh:
            for data in fresh:
                self._played[id(data)] = len(data)
            self.transmit_held()  # the bar before's orders: markets held here, protective sent
            self._settle()  # a cancel on its way is done before this bar opens
            playing = {id(d) for d in fresh}
            held = [o for o in self._held_market if id(o.data) in playing]
            self._held_market = [o for o in self._held_market if id(o.data) not in playing]
            for data in {id(o.data): o.data for o in held}.values():
                fake.trade_at(data.open[0], self._symbol_of(data))
            for order in held:  # a market order reaches Binance at its bar's open
                super()._send(order)
            self._settle()
            resting = {id(live.order.data) for live in self._live.values()}
            for data in fresh:
                if id(data) not in resting:
                    continue  # nothing of its symbol rests at the fake
                opened = bt.num2date(data.datetime[0]).replace(tzinfo=timezone.utc).timestamp()
                fake.match(Bar(opened, data.open[0], data.high[0], data.low[0], data.close[0],
                               data.volume[0]), self._symbol_of(data))
            self._settle()
        super().next()

    def _settle(self) -> None:
        """Wait until the gateway has heard everything the fake did with this broker's orders,
        and its updates are queued for ``next()``."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            left = deadline - time.monotonic()
            inflight = list(self._handed_over)
            if inflight:  # a placement or cancel still on its way: its answer comes first
                concurrent.futures.wait(inflight, timeout=left)
                continue
            self._heard.clear()  # before looking: an update from now on wakes the wait below
            if self._caught_up():
                # the gateway sets an order's state, then queues its update, in one step of
                # the I/O loop: once one more step has run, that update is queued
                self.venue.submit(asyncio.sleep(0), name="lockstep barrier").result(SETTLE_SECONDS)
                return
            self._heard.wait(min(left, 0.05))  # woken by the gateway's next update
        raise AssertionError("the binance broker did not hear the fake exchange's answers "
                             f"within {SETTLE_SECONDS:g}s")

    def _caught_up(self) -> bool:
        if not self._live:
            return True
        at_binance = self.p.fake.order_statuses()
        tracked = self.gateway._tracked
        for client_id in list(self._live):
            mine = tracked.get(client_id)
            if mine is None or mine.status not in HEARD[at_binance.get(client_id)]:
                return False
        return True


@dataclass
class BinanceExchange:
    """One fake exchange, I/O thread and connection, shared by the tests of a module."""

    fake: FakeBinance
    io: IOThread
    declared: Venue
    connection: Any

    @classmethod
    def open(cls) -> "BinanceExchange":
        start = 1_704_067_200.0  # the contract's first bar's day; the fake's own bars stand still
        backdrop = [Bar(start + 86_400 * i, 100.0, 100.0, 100.0, 100.0, 0.0) for i in range(3)]
        listings = [Listing(symbol, symbol[:-len(QUOTE)], QUOTE, FILTERS) for symbol in BASKET[1:]]
        fake = FakeBinance(backdrop, symbol=SYMBOL, base=BASE, quote=QUOTE, interval="1d",
                           history=2, filters=FILTERS, bnb_price=BNB_PRICE,
                           listings=listings).start()
        for listing in listings:
            fake.trade_at(100.0, listing.symbol)
        io = IOThread(name="contract-binance-io")
        try:
            io.start()
            declared = venues().for_broker(BROKER_TYPE)
            data = DataConfig(data_source="binance", symbol=SYMBOL, interval="1h",
                              lookback_bars=0, retry_interval=1, file_path=None, speed=0)
            connection = declared.connect(VenueRequest(
                broker=BrokerConfig(BROKER_TYPE, 0.0, 0.0, 0.0), data=data, settings=None,
                symbol=SYMBOL, env=fake.env()))
            connection.bind(io.submit)
        except BaseException:
            io.stop(timeout=5)
            fake.stop()
            raise
        return cls(fake, io, declared, connection)

    def close(self) -> None:
        """Close as the bot closes (about 3 s: python-binance's WebSocket API waits for its
        read loop, which the connection's close gives 3 s), then stop the exchange."""
        try:
            self.io.submit(self.connection.close(), name="close venue").result(5)
        finally:
            self.io.stop(timeout=5)
            self.fake.stop()


def build_binance(request: Any, *, cash: float, commission: float, restore: Any,
                  symbols: tuple[str, ...] = (SYMBOL,), same_account: bool = False
                  ) -> bt.BrokerBase:
    """A ``LockstepBinanceBroker`` trading ``symbols`` (``BASKET``'s) on a fresh account holding
    ``cash`` USDT at the module's fake exchange (``same_account``: the one the test's broker
    before used, as it left it), charging ``commission`` of each trade's value (paid in BNB)."""
    exchange: BinanceExchange = request.getfixturevalue("binance_exchange")
    if not same_account:
        exchange.fake.open_account({QUOTE: cash, "BNB": BNB_BALANCE}, fee_rate=commission)
    config = BrokerConfig(BROKER_TYPE, cash, commission, 0.0)
    plain = exchange.declared.broker(exchange.connection, config, symbols)
    assert isinstance(plain, BinanceBroker)  # what the registry builds is what is tested here
    broker = LockstepBinanceBroker(venue=exchange.connection, symbols=symbols,
                                   fake=exchange.fake)

    def stop_following() -> None:  # a run that failed never called broker.stop()
        exchange.connection.submit(broker.gateway.stop(), name="stop order gateway").result(5)
    request.addfinalizer(stop_following)
    return broker
