"""The broker contract: every broker the bot can run on passes this one suite.

Each broker kind is driven through a real Cerebro with a crafted bar feed and a scripted strategy
that places orders the way CustomStrategy does (market, stop, limit, stop-trail, OCO, cancel).
A new broker joins with one line in ``KINDS``; a venue broker's ``build`` can ask the request for
its loopback fake (``request.getfixturevalue(...)``).

Every broker also trades a basket of three symbols from one cash (the second half): one data per
symbol, named by it, with prices of their own; orders on each symbol fill on that symbol only,
positions and protective orders are per symbol, and a broker that takes over (a restart) finds
each symbol's position again.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

import backtrader as bt
import pandas as pd
import pytest

from brokers.factory import build_broker
from contract.binance_lockstep import BASKET as BINANCE_BASKET
from contract.binance_lockstep import build_binance
from contract.ibkr_lockstep import BASKET as IBKR_BASKET
from contract.ibkr_lockstep import build_ibkr
from brokers.paper import BrokerSnapshot
from trading.core.settings import BrokerConfig
from trading.core.errors import ConfigError
from trading.core.types import OpenTrade

CASH = 10_000.0
COMMISSION = 0.001
T0 = datetime(2024, 1, 1)

Row = tuple[float, float, float, float]  # open, high, low, close
Action = Callable[["ScriptedStrategy"], None]


# -- broker kinds -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BrokerKind:
    """One broker under contract; ``restorable``: it starts from a ``BrokerSnapshot``."""

    name: str
    build: Callable[..., bt.BrokerBase]  # (request, *, cash, commission, restore) -> broker
    restorable: bool
    trailing_stop: bool = True  # a venue broker may refuse stop-trail orders (say so at start)
    pending_buys: bool = True  # a venue broker may send only sells as limit / stop orders
    # what a buy the cash cannot pay ends as: Margin when the broker refuses it itself, Rejected
    # when the venue refuses it (and says why)
    over_cash_status: str = "Margin"
    # the cash pays the commission (every simulated and venue broker here but a Binance account
    # that pays its fees in BNB: there the BNB balance pays them; the order's commission is the same)
    commission_from_cash: bool = True
    # the symbols of its basket (as its venue spells them); empty: it trades one symbol only
    basket: tuple[str, ...] = ("AAA", "BBB", "CCC")
    # a venue broker takes over what a broker before it left by reconciling with the venue
    reconciles: bool = False

    def cash_fees(self, commission: float) -> float:
        """What the cash pays of a ``commission``."""
        return commission if self.commission_from_cash else 0.0


def from_config(kind: str) -> Callable[..., bt.BrokerBase]:
    def build(request: pytest.FixtureRequest, *, cash: float, commission: float,
              restore: BrokerSnapshot | None, **basket: object) -> bt.BrokerBase:
        config = BrokerConfig(type=kind, initial_balance=cash, commission=commission,
                              slippage_pct=0.0)
        return build_broker(config, restore=restore)
    return build


KINDS = (
    BrokerKind("mock", from_config("mock"), restorable=False),
    BrokerKind("paper", from_config("paper"), restorable=True),
    BrokerKind("ibkr", build_ibkr, restorable=False, trailing_stop=False, basket=IBKR_BASKET,
               reconciles=True),
    # Spot: limit and stop orders are the protective sells; Binance itself refuses a buy the
    # balance cannot pay (-2010 insufficient balance); fees paid in BNB (a buy's fee in the
    # base asset would shrink the position the contract counts)
    BrokerKind("binance", build_binance, restorable=False, trailing_stop=False,
               pending_buys=False, over_cash_status="Rejected", commission_from_cash=False,
               basket=BINANCE_BASKET, reconciles=True),
)
RESTORABLE = tuple(k for k in KINDS if k.restorable)


@pytest.fixture(params=KINDS, ids=lambda k: k.name)
def kind(request: pytest.FixtureRequest) -> BrokerKind:
    return request.param


@pytest.fixture
def make_broker(kind: BrokerKind, request: pytest.FixtureRequest) -> Callable[..., bt.BrokerBase]:
    def make(cash: float = CASH, commission: float = COMMISSION,
             restore: BrokerSnapshot | None = None) -> bt.BrokerBase:
        return kind.build(request, cash=cash, commission=commission, restore=restore)
    return make


# -- the scripted run ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Fill:
    price: float
    size: float
    comm: float
    pnl: float


@dataclass(frozen=True)
class BookState:
    """The broker's books as the strategy sees them after a bar."""

    cash: float
    value: float
    size: float
    price: float
    close: float


@dataclass
class Run:
    statuses: dict[str, list[str]] = field(default_factory=dict)
    fills: dict[str, Fill] = field(default_factory=dict)
    books: list[BookState] = field(default_factory=list)
    broker: bt.BrokerBase | None = None
    data: bt.AbstractDataBase | None = None

    def last_status(self, label: str) -> str:
        return self.statuses[label][-1]


class ScriptedStrategy(bt.Strategy):
    """Runs ``script[bar_index]`` actions each bar and records the books and every order."""

    params = (("script", None), ("run", None))

    def __init__(self) -> None:
        self.orders: dict[str, bt.Order] = {}
        self.labels: dict[int, str] = {}

    def track(self, label: str, order: bt.Order) -> None:
        self.orders[label] = order
        self.labels[order.ref] = label

    def next(self) -> None:
        run: Run = self.p.run
        position = self.getposition()
        run.books.append(BookState(cash=self.broker.getcash(), value=self.broker.getvalue(),
                                   size=position.size, price=position.price,
                                   close=self.data.close[0]))
        for action in self.p.script.get(len(self) - 1, ()):
            action(self)

    def notify_order(self, order: bt.Order) -> None:
        run: Run = self.p.run
        label = self.labels[order.ref]
        run.statuses.setdefault(label, []).append(order.getstatusname())
        if order.status == order.Completed:
            ex = order.executed
            run.fills[label] = Fill(price=ex.price, size=ex.size, comm=ex.comm, pnl=ex.pnl)


def market(label: str, side: str, size: float) -> Action:
    return lambda s: s.track(label, getattr(s, side)(size=size))


def pending(label: str, side: str, size: float, exectype: int, price: float | None = None,
            oco: str | None = None, **kwargs) -> Action:
    return lambda s: s.track(label, getattr(s, side)(size=size, exectype=exectype, price=price,
                                                     oco=s.orders.get(oco) if oco else None,
                                                     **kwargs))


def cancel(label: str) -> Action:
    return lambda s: s.cancel(s.orders[label])


def frame(rows: list[Row]) -> pd.DataFrame:
    index = [T0 + timedelta(hours=i) for i in range(len(rows))]
    df = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)
    df["volume"] = 100.0
    return df


def flat(price: float) -> Row:
    return (price, price, price, price)


def run(broker: bt.BrokerBase, rows: list[Row], script: dict[int, list[Action]]) -> Run:
    result = Run(broker=broker)
    cerebro = bt.Cerebro(stdstats=False)
    result.data = bt.feeds.PandasData(dataname=frame(rows))
    cerebro.adddata(result.data)
    cerebro.broker = broker
    cerebro.addstrategy(ScriptedStrategy, script=script, run=result)
    cerebro.run()
    return result


def skip_unless_pending_buys(kind: BrokerKind) -> None:
    if not kind.pending_buys:
        pytest.skip(f"broker '{kind.name}' sends limit and stop orders only as sells (the "
                    "protective orders of a long position) and refuses a limit or stop buy")


def assert_books_balance(result: Run) -> None:
    for book in result.books:
        assert book.value == pytest.approx(book.cash + book.size * book.close)


# -- the contract -------------------------------------------------------------------------------
def test_market_buy_fills_at_next_open_and_charges_commission(make_broker, kind):
    rows = [flat(100), (101, 103, 100, 102), flat(102)]
    result = run(make_broker(), rows, {0: [market("buy", "buy", 10)]})
    fill = result.fills["buy"]
    assert (fill.price, fill.size) == (101, 10)
    assert fill.comm == pytest.approx(10 * 101 * COMMISSION)
    after = result.books[1]
    assert after.cash == pytest.approx(CASH - 1010 - kind.cash_fees(1.01))
    assert after.value == pytest.approx(after.cash + 10 * 102)
    assert (after.size, after.price) == (10, 101)


def test_position_and_cash_after_buys_and_sells(make_broker, kind):
    rows = [flat(100), flat(101), flat(103), flat(104), flat(105), flat(105)]
    script = {0: [market("buy1", "buy", 10)], 1: [market("buy2", "buy", 10)],
              2: [market("sell1", "sell", 5)], 3: [market("sell2", "sell", 15)]}
    result = run(make_broker(), rows, script)
    sizes_prices = [(b.size, b.price) for b in result.books]
    assert sizes_prices == [(0, 0), (10, 101), (20, 102), (15, 102), (0, 0), (0, 0)]
    assert result.fills["sell1"].pnl == pytest.approx(5 * (104 - 102))
    assert result.fills["sell2"].pnl == pytest.approx(15 * (105 - 102))
    traded = 1010 + 1030 + 520 + 1575
    expected_cash = CASH - 1010 - 1030 + 520 + 1575 - kind.cash_fees(COMMISSION * traded)
    assert result.books[-1].cash == pytest.approx(expected_cash)
    assert result.books[-1].value == pytest.approx(expected_cash)
    assert_books_balance(result)


@pytest.mark.parametrize("side, exectype, price, bar", [
    ("buy", bt.Order.Limit, 98.0, (100, 101, 97, 99)),
    ("buy", bt.Order.Stop, 102.0, (100, 103, 99.5, 102.5)),
    ("sell", bt.Order.Limit, 104.0, (101, 105, 100, 103)),
    ("sell", bt.Order.Stop, 97.0, (100, 100.5, 96, 97.5)),
], ids=["buy-limit", "buy-stop", "sell-limit", "sell-stop"])
def test_limit_and_stop_orders_fill_inside_the_bar_at_their_price(make_broker, kind, side,
                                                                  exectype, price, bar):
    if side == "buy":
        skip_unless_pending_buys(kind)
    rows = [flat(100), flat(100), bar, flat(100)]
    script = {0: [market("setup", "buy", 10)], 1: [pending("order", side, 5, exectype, price)]}
    result = run(make_broker(), rows, script)
    fill = result.fills["order"]
    assert fill.price == pytest.approx(price)
    assert abs(fill.size) == 5
    assert fill.comm == pytest.approx(5 * price * COMMISSION)
    assert result.books[2].size == (15 if side == "buy" else 5)
    assert_books_balance(result)


@pytest.mark.parametrize("bar, filled, canceled, price", [
    ((100, 111, 99, 108), "take_profit", "stop_loss", 110.0),
    ((100, 101, 94, 95), "stop_loss", "take_profit", 95.0),
], ids=["limit-wins", "stop-wins"])
def test_oco_pair_one_fills_and_the_other_is_canceled(make_broker, bar, filled, canceled, price):
    rows = [flat(100), flat(100), bar, flat(100)]
    script = {0: [market("entry", "buy", 10)],
              1: [pending("stop_loss", "sell", 10, bt.Order.Stop, 95.0),
                  pending("take_profit", "sell", 10, bt.Order.Limit, 110.0, oco="stop_loss")]}
    result = run(make_broker(), rows, script)
    assert result.fills[filled].price == pytest.approx(price)
    assert result.last_status(canceled) == "Canceled"
    assert canceled not in result.fills
    assert result.books[-1].size == 0


def test_trailing_stop_follows_the_close_and_fills_at_its_level(make_broker, kind):
    if not kind.trailing_stop:
        pytest.skip(f"broker '{kind.name}' refuses trailing stop orders (and the bot refuses the "
                    "trailing_stop setting with it at start-up)")
    rows = [flat(100), flat(100), flat(110), (110, 110, 105, 106), flat(106)]
    script = {0: [market("entry", "buy", 10)],
              1: [pending("trail", "sell", 10, bt.Order.StopTrail, trailpercent=0.02)]}
    result = run(make_broker(), rows, script)
    # placed at 98 (2% under 100); the low of 105 only reaches it because it trailed 110
    assert result.fills["trail"].price == pytest.approx(110 * 0.98)
    assert result.books[3].size == 0


def test_canceled_pending_order_never_fills(make_broker, kind):
    skip_unless_pending_buys(kind)
    rows = [flat(100), flat(100), (95, 96, 85, 90), flat(90)]
    script = {0: [pending("limit", "buy", 10, bt.Order.Limit, 90.0)], 1: [cancel("limit")]}
    result = run(make_broker(), rows, script)
    assert result.last_status("limit") == "Canceled"
    assert "limit" not in result.fills
    assert [(b.cash, b.value, b.size) for b in result.books] == [(CASH, CASH, 0)] * 4


def test_a_canceled_resting_sell_never_fills(make_broker):
    rows = [flat(100), flat(100), flat(100), (105, 112, 104, 110), flat(110)]
    script = {0: [market("entry", "buy", 10)],
              1: [pending("limit", "sell", 10, bt.Order.Limit, 108.0)],
              2: [cancel("limit")]}  # it rested through bar 2; bar 3 would have filled it
    result = run(make_broker(), rows, script)
    assert result.last_status("limit") == "Canceled"
    assert "limit" not in result.fills
    holding = result.books[1]
    assert holding.size == 10
    assert [(b.cash, b.size) for b in result.books[1:]] == [(holding.cash, 10)] * 4
    assert_books_balance(result)


def test_an_order_canceled_in_the_bar_it_was_sent_never_fills(make_broker):
    rows = [flat(100), flat(100), (95, 96, 85, 90), flat(90)]
    script = {1: [pending("stop", "sell", 10, bt.Order.Stop, 92.0),
                  pending("limit", "sell", 10, bt.Order.Limit, 99.0, oco="stop"),
                  cancel("stop")]}
    result = run(make_broker(), rows, script)
    assert result.last_status("stop") == "Canceled"
    assert result.last_status("limit") == "Canceled"  # its OCO partner goes with it
    assert not result.fills
    assert [(b.cash, b.size) for b in result.books] == [(CASH, 0)] * 4


def test_order_larger_than_cash_is_rejected_and_nothing_changes(make_broker, kind):
    rows = [flat(100), flat(100), flat(101)]
    result = run(make_broker(), rows, {0: [market("too_big", "buy", 150)]})
    assert result.last_status("too_big") == kind.over_cash_status
    assert "too_big" not in result.fills
    assert [(b.cash, b.value, b.size) for b in result.books] == [(CASH, CASH, 0)] * 3


def test_restore_starts_with_the_snapshot_when_the_broker_is_restorable(make_broker, kind):
    snap = BrokerSnapshot(cash=5_000.0, position_size=10.0, position_price=100.0)
    rows = [flat(110), (111, 112, 110, 111), flat(111)]
    script = {0: [market("close", "sell", 10)]} if kind.restorable else {}
    result = run(make_broker(restore=snap), rows, script)
    first = result.books[0]
    if not kind.restorable:  # keeps nothing: a restart starts fresh
        assert (first.cash, first.value, first.size) == (CASH, CASH, 0)
        return
    assert (first.cash, first.size, first.price) == (5_000.0, 10.0, 100.0)
    assert first.value == pytest.approx(5_000 + 10 * 110)
    assert result.broker.startingcash == pytest.approx(5_000 + 10 * 100)
    fill = result.fills["close"]
    assert (fill.price, fill.size) == (111, -10)
    assert fill.pnl == pytest.approx(10 * (111 - 100))  # against the restored entry price
    after = result.books[1]
    assert after.size == 0
    assert after.cash == pytest.approx(5_000 + 1110 - 1110 * COMMISSION)
    assert_books_balance(result)


@pytest.mark.parametrize("kind", RESTORABLE, ids=lambda k: k.name)
def test_snapshot_of_one_run_restores_the_next(make_broker):
    first = run(make_broker(), [flat(100), flat(101), flat(102)], {0: [market("buy", "buy", 10)]})
    snap = first.broker.snapshot(first.data)
    assert snap == BrokerSnapshot(cash=first.books[-1].cash, position_size=10, position_price=101)
    second = run(make_broker(restore=snap), [flat(102), flat(103)], {})
    assert (second.books[0].cash, second.books[0].size) == (snap.cash, 10)
    assert second.books[0].value == pytest.approx(first.books[-1].value)


# -- paper broker: slippage ---------------------------------------------------------------------
def paper(slippage_pct: float) -> bt.BrokerBase:
    return build_broker(BrokerConfig("paper", CASH, COMMISSION, slippage_pct))


def test_paper_slippage_is_adverse_for_market_buys_and_sells():
    rows = [flat(100), (100, 102, 99, 101), (100, 101, 98, 100), flat(100)]
    script = {0: [market("buy", "buy", 10)], 1: [market("sell", "sell", 10)]}
    result = run(paper(0.5), rows, script)
    assert result.fills["buy"].price == pytest.approx(100.5)
    assert result.fills["sell"].price == pytest.approx(99.5)
    assert result.fills["buy"].comm == pytest.approx(10 * 100.5 * COMMISSION)
    assert result.books[-1].cash == pytest.approx(CASH - 10 - COMMISSION * 10 * (100.5 + 99.5))


def test_paper_slippage_never_leaves_the_bar():
    rows = [flat(100), (100, 100.2, 99, 100), flat(100)]
    result = run(paper(0.5), rows, {0: [market("buy", "buy", 10)]})
    assert result.fills["buy"].price == pytest.approx(100.2)  # the bar's high, not 100.5


@pytest.mark.parametrize("side, limit, bar, expected", [
    ("buy", 100.2, (100, 101, 99, 100.5), 100.2),  # 0.5% over the open would pass the limit
    ("sell", 99.8, (100, 101, 99, 99.5), 99.8),
    ("sell", 95.0, (100, 101, 99.8, 100.5), 99.8),  # floored at the bar's low, not the limit
], ids=["buy-at-limit", "sell-at-limit", "sell-inside-bar"])
def test_paper_slippage_never_pushes_a_limit_fill_past_its_limit_or_the_bar(side, limit, bar,
                                                                             expected):
    rows = [flat(100), flat(100), bar, flat(100)]
    script = {0: [market("setup", "buy", 10)],
              1: [pending("limit", side, 5, bt.Order.Limit, limit)]}
    result = run(paper(0.5), rows, script)
    assert result.fills["limit"].price == pytest.approx(expected)


def test_paper_slippage_applies_to_stop_fills():
    rows = [flat(100), flat(100), (100, 100, 95, 96), flat(96)]
    script = {0: [market("setup", "buy", 10)],
              1: [pending("stop", "sell", 10, bt.Order.Stop, 97.0)]}
    result = run(paper(0.5), rows, script)
    assert result.fills["stop"].price == pytest.approx(97 * 0.995)


# -- the factory --------------------------------------------------------------------------------
@pytest.mark.parametrize("broker_type", ["binance_paper", "binance", "ibkr", "kraken"])
def test_the_factory_builds_only_simulated_brokers_venues_build_their_own(broker_type):
    with pytest.raises(ConfigError, match=f"'{broker_type}' is not a simulated broker \\(mock, "
                                          "paper\\); a venue's broker is built by its venue"):
        build_broker(BrokerConfig(broker_type, CASH, COMMISSION, 0.0))


def test_factory_warns_that_mock_ignores_a_saved_state(caplog):
    with caplog.at_level(logging.WARNING, logger="brokers.factory"):
        build_broker(BrokerConfig("mock", CASH, COMMISSION, 0.0), restore=BrokerSnapshot(5_000.0))
    assert "starting fresh" in caplog.text


# -- a basket: three symbols, one cash ------------------------------------------------------------
@dataclass(frozen=True)
class BasketBook:
    """The books after a step: the one cash and value, each symbol's position and close."""

    cash: float
    value: float
    sizes: tuple[float, ...]
    prices: tuple[float, ...]
    closes: tuple[float, ...]


@dataclass
class BasketRun:
    statuses: dict[str, list[str]] = field(default_factory=dict)
    fills: dict[str, Fill] = field(default_factory=dict)
    books: list[BasketBook] = field(default_factory=list)
    broker: bt.BrokerBase | None = None

    def last_status(self, label: str) -> str:
        return self.statuses[label][-1]


class BasketStrategy(ScriptedStrategy):
    """``ScriptedStrategy`` over several datas: records every symbol's position each step."""

    def next(self) -> None:
        run: BasketRun = self.p.run
        run.books.append(BasketBook(
            cash=self.broker.getcash(), value=self.broker.getvalue(),
            sizes=tuple(self.getposition(d).size for d in self.datas),
            prices=tuple(self.getposition(d).price for d in self.datas),
            closes=tuple(d.close[0] for d in self.datas)))
        for action in self.p.script.get(len(self) - 1, ()):
            action(self)


def on(symbol: int, label: str, side: str, size: float, exectype: int | None = None,
       price: float | None = None, oco: str | None = None) -> Action:
    """An order on the basket's ``symbol``-th data (a market order without ``exectype``)."""
    return lambda s: s.track(label, getattr(s, side)(
        data=s.datas[symbol], size=size, exectype=exectype, price=price,
        oco=s.orders.get(oco) if oco else None))


def run_basket(broker: bt.BrokerBase, symbols: tuple[str, ...], rows: list[list[Row]],
               script: dict[int, list[Action]]) -> BasketRun:
    """``rows[i]``: the bars of ``symbols[i]``, every symbol a bar at each step."""
    result = BasketRun(broker=broker)
    cerebro = bt.Cerebro(stdstats=False)
    for symbol, bars in zip(symbols, rows):
        cerebro.adddata(bt.feeds.PandasData(dataname=frame(bars)), name=symbol)
    cerebro.broker = broker
    cerebro.addstrategy(BasketStrategy, script=script, run=result)
    cerebro.run()
    return result


@pytest.fixture
def basket_kind(kind: BrokerKind) -> BrokerKind:
    if not kind.basket:
        pytest.skip(f"broker '{kind.name}' trades one symbol per bot")
    return kind


@pytest.fixture
def make_basket_broker(basket_kind: BrokerKind, request: pytest.FixtureRequest
                       ) -> Callable[..., bt.BrokerBase]:
    def make(cash: float = CASH, commission: float = COMMISSION,
             restore: BrokerSnapshot | None = None, same_account: bool = False) -> bt.BrokerBase:
        return basket_kind.build(request, cash=cash, commission=commission, restore=restore,
                                 symbols=basket_kind.basket, same_account=same_account)
    return make


def test_basket_orders_fill_each_on_its_own_symbol_from_one_cash(make_basket_broker,
                                                                basket_kind):
    rows = [[flat(100), (101, 103, 100, 102), flat(102)],
            [flat(50), (51, 52, 50, 51.5), flat(52)],
            [flat(20), (21, 21, 20, 20.5), flat(21)]]
    script = {0: [on(0, "a", "buy", 10), on(1, "b", "buy", 20), on(2, "c", "buy", 30)]}
    result = run_basket(make_basket_broker(), basket_kind.basket, rows, script)
    assert {label: (f.price, f.size) for label, f in result.fills.items()} == \
        {"a": (101, 10), "b": (51, 20), "c": (21, 30)}
    assert result.fills["c"].comm == pytest.approx(30 * 21 * COMMISSION)
    after = result.books[1]
    assert after.sizes == (10, 20, 30) and after.prices == (101, 51, 21)
    spent = 1010 + 1020 + 630
    assert after.cash == pytest.approx(CASH - spent - basket_kind.cash_fees(spent * COMMISSION))
    assert after.value == pytest.approx(after.cash + 10 * 102 + 20 * 51.5 + 30 * 20.5)


def test_basket_positions_move_only_with_their_own_symbols_orders(make_basket_broker,
                                                                 basket_kind):
    rows = [[flat(100), flat(100), flat(104), flat(106), flat(106)],
            [flat(50), flat(50), flat(55), flat(45), flat(45)],
            [flat(20), flat(20), flat(20), flat(20), flat(20)]]
    script = {0: [on(0, "a", "buy", 10), on(1, "b", "buy", 20)],
              1: [on(0, "a-part", "sell", 4)],
              2: [on(1, "b-all", "sell", 20)]}
    result = run_basket(make_basket_broker(), basket_kind.basket, rows, script)
    assert [b.sizes for b in result.books] == [(0, 0, 0), (10, 20, 0), (6, 20, 0), (6, 0, 0),
                                               (6, 0, 0)]
    assert result.fills["a-part"].pnl == pytest.approx(4 * (104 - 100))
    assert result.fills["b-all"].pnl == pytest.approx(20 * (45 - 50))
    traded = 1000 + 1000 + 416 + 900
    assert result.books[-1].cash == pytest.approx(CASH - 1000 - 1000 + 416 + 900
                                                  - basket_kind.cash_fees(traded * COMMISSION))
    for book in result.books:
        assert book.value == pytest.approx(book.cash + sum(
            size * close for size, close in zip(book.sizes, book.closes)))


def test_basket_protective_orders_trade_on_their_own_symbols_bars(make_basket_broker,
                                                                 basket_kind):
    # the second symbol's bar reaches the first one's stop and take-profit levels: only each
    # symbol's own bar may fill its protective orders
    rows = [[flat(100), flat(100), (100, 101, 94, 95), flat(95)],
            [flat(100), flat(100), (100, 111, 94, 108), flat(108)],
            [flat(100), flat(100), (100, 101, 99, 100), flat(100)]]
    script = {0: [on(0, "a", "buy", 10), on(1, "b", "buy", 10), on(2, "c", "buy", 10)],
              1: [on(0, "a-sl", "sell", 10, bt.Order.Stop, 95.0),
                  on(0, "a-tp", "sell", 10, bt.Order.Limit, 120.0, oco="a-sl"),
                  on(1, "b-sl", "sell", 10, bt.Order.Stop, 90.0),
                  on(1, "b-tp", "sell", 10, bt.Order.Limit, 110.0, oco="b-sl"),
                  on(2, "c-sl", "sell", 10, bt.Order.Stop, 96.0),
                  on(2, "c-tp", "sell", 10, bt.Order.Limit, 104.0, oco="c-sl")]}
    result = run_basket(make_basket_broker(), basket_kind.basket, rows, script)
    assert result.fills["a-sl"].price == pytest.approx(95.0)
    assert result.fills["b-tp"].price == pytest.approx(110.0)
    assert (result.last_status("a-tp"), result.last_status("b-sl")) == ("Canceled", "Canceled")
    assert "c-sl" not in result.fills and "c-tp" not in result.fills
    assert result.books[-1].sizes == (0, 0, 10)


def test_a_basket_buy_the_cash_left_cannot_pay_is_refused(make_basket_broker, basket_kind):
    rows = [[flat(100), flat(100), flat(100)], [flat(50), flat(50), flat(50)],
            [flat(20), flat(20), flat(20)]]
    # 8,000 of the 10,000 go to the first symbol; 3,000 of the second cannot be paid for
    script = {0: [on(0, "a", "buy", 80)], 1: [on(1, "b", "buy", 60)]}
    result = run_basket(make_basket_broker(), basket_kind.basket, rows, script)
    assert result.fills["a"].size == 80
    assert result.last_status("b") == basket_kind.over_cash_status
    assert result.books[-1].sizes == (80, 0, 0)


def test_a_broker_taking_over_finds_each_symbols_position(make_basket_broker, basket_kind):
    if not (basket_kind.restorable or basket_kind.reconciles):
        pytest.skip(f"broker '{basket_kind.name}' keeps nothing: a restart starts fresh")
    symbols = basket_kind.basket
    first = run_basket(make_basket_broker(), symbols,
                       [[flat(100)] * 3, [flat(50)] * 3, [flat(20), flat(21), flat(21)]],
                       {0: [on(0, "a", "buy", 10), on(2, "c", "buy", 30)]})
    left = first.books[-1]
    assert left.sizes == (10, 0, 30)
    held = {symbols[0]: (10.0, 100.0), symbols[2]: (30.0, 21.0)}
    if basket_kind.restorable:
        second = make_basket_broker(restore=BrokerSnapshot(cash=left.cash, by_symbol=tuple(
            (s, size, price) for s, (size, price) in held.items())))
    else:  # a venue broker reconciles the saved positions with the account, symbol by symbol
        second = make_basket_broker(same_account=True)
        trades = {s: OpenTrade(symbol=s, size=size, entry_price=price, entry_ts=T0.timestamp())
                  for s, (size, price) in held.items()}
        found = second.reconcile(positions=trades, pending=(), order_prefix="contract",
                                 holdings=held)
        assert found.positions == trades and found.summary == \
            "the account agrees with the database"
    result = run_basket(second, symbols, [[flat(100)] * 2, [flat(50)] * 2,
                                          [flat(21), (22, 22, 22, 22)]],
                        {0: [on(2, "c-close", "sell", 30)]})
    start = result.books[0]
    assert start.sizes == (10, 0, 30) and start.prices == (100, 0, 21)
    assert start.cash == pytest.approx(left.cash)
    assert result.fills["c-close"].pnl == pytest.approx(30 * (22 - 21))
    assert result.books[-1].sizes == (10, 0, 0)
