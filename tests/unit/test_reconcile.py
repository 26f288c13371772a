"""Start-up reconciliation, written once for every venue: the venue's account wins, every
difference is reported as a status event, and one rule tells the bot's orders from anyone
else's. The accounts here are shaped as the Binance and IB gateways report them."""
from __future__ import annotations

import pytest

from brokers.reconcile import after_reconnect, reconcile_account
from trading.core.client_ids import (client_id, is_ours, order_prefix, parse, protective_ids)
from trading.core.reports import AccountReport, OrderReport
from trading.core.types import OpenTrade, PendingOrder
from trading.venues.binance.orders import order_report


def spot(eth: float, open_orders: tuple[OrderReport, ...] = ()) -> AccountReport:
    """A Binance Spot account as its gateway reports it: ETH held, BTC cash, lot 0.001."""
    return AccountReport(symbol="ETHBTC", position=eth, price=0.09, cash=0.9, currency="BTC",
                         open_orders=open_orders, step=0.001, relative_tolerance=0.002,
                         dust=max(0.001, 0.0001 / 0.09))


def stock(shares: float, open_orders: tuple[OrderReport, ...] = ()) -> AccountReport:
    """An IB account as its gateway reports it: whole shares, IB's average cost."""
    return AccountReport(symbol="AAPL", position=shares, price=150.0, average_cost=150.0,
                         cash=10_000.0, currency="USD", account="DU1", open_orders=open_orders,
                         step=1e-6)


def eth_trade(size: float) -> OpenTrade:
    return OpenTrade(symbol="ETHBTC", size=size, entry_price=0.095, entry_ts=1515595800.0)


def nothing(_cid: str) -> OrderReport | None:
    return None


def reported(result) -> list[str]:
    return [e.status["reconcile"] for e in result.events]


def reconcile(account, position, pending=(), lookup=nothing, prefix="7", venue="Binance"):
    return reconcile_account(account, position, tuple(pending), lookup, prefix, venue)


def test_an_account_that_agrees_changes_nothing_and_reports_nothing():
    result = reconcile(spot(1.05), eth_trade(1.05))
    assert result.position == eth_trade(1.05) and not result.events
    assert result.summary == "the account agrees with the database"
    assert result.at_venue and all(is_ours(cid, "7") for cid in result.at_venue)


def test_a_base_fee_rounding_off_the_balance_still_agrees():
    result = reconcile(spot(1.048), eth_trade(1.05))  # 0.19% short: a fee in the base asset
    assert result.position == eth_trade(1.05) and not result.events


def test_a_holding_the_bots_orders_do_not_explain_is_reported_never_taken_for_the_bots():
    result = reconcile(spot(0.5), None)
    assert result.position is None
    assert reported(result) == ["Binance holds 0.5 ETHBTC, 0.5 more than this bot's orders "
                                "explain: not the bot's, left alone (the bot's position stays "
                                "none)"]
    bigger = reconcile(stock(15), OpenTrade(symbol="AAPL", size=10, entry_price=140.0,
                                            entry_ts=1.7e9), prefix="7001",
                       venue="TWS / IB Gateway")
    assert bigger.position.size == 10  # what its orders made, not the account's 15
    assert "5 more than this bot's orders explain" in reported(bigger)[0]


@pytest.mark.parametrize("account, position", [
    (spot(0.0004), eth_trade(1.05)),  # dust only
    (stock(0), OpenTrade(symbol="AAPL", size=10, entry_price=140.0, entry_ts=1.7e9)),
])
def test_a_position_the_venue_no_longer_holds_is_dropped(account, position):
    result = reconcile(account, position)
    assert result.position is None
    assert "the position is closed (outside the bot?) and dropped" in reported(result)[0]


def test_a_position_partly_sold_outside_the_bot_is_cut_to_what_is_there():
    result = reconcile(spot(0.8), eth_trade(1.05))
    assert result.position.size == pytest.approx(0.8) and result.position.entry_price == 0.095
    assert "the position is now 0.8" in reported(result)[0]
    shares = reconcile(stock(7), OpenTrade(symbol="AAPL", size=10, entry_price=140.0,
                                           entry_ts=1.7e9), prefix="7001")
    assert shares.position.size == 7 and len(shares.events) == 1


def test_a_pending_entry_the_venue_filled_is_left_to_be_adopted_not_counted_twice():
    pending = (PendingOrder(purpose="entry", size=1.05, client_order_id="7-1-entry"),)
    found = {"7-1-entry": order_report({"clientOrderId": "7-1-entry", "side": "BUY",
                                        "type": "MARKET", "origQty": "1.05",
                                        "executedQty": "1.05", "status": "FILLED",
                                        "orderId": 12})}
    result = reconcile(spot(1.049), None, pending, found.get)
    assert result.position is None and not result.events  # the re-sent order adopts the fill
    assert result.pending_orders == pending and "7-1-entry" in result.at_venue


def test_a_protective_order_filled_while_down_keeps_the_position_for_its_fill():
    stop, _, _ = protective_ids("7", 1515595800.0)
    found = {stop: OrderReport(stop, "SELL", "STOP_LOSS_LIMIT", 1.05, 1.05, "filled")}
    result = reconcile(spot(0.0), eth_trade(1.05), lookup=found.get)
    assert result.position == eth_trade(1.05) and not result.events


def test_open_orders_of_this_bot_unknown_to_the_database_are_reported_others_left_alone():
    mine = OrderReport("7001-5-sl", "SELL", "STP", 10, 0, "accepted")
    manual = OrderReport("manual-1", "BUY", "LMT", 1, 0, "accepted")
    other_bot = OrderReport("7002-5-sl", "SELL", "STP", 10, 0, "accepted")
    result = reconcile(stock(0, (mine, manual, other_bot)), None, prefix="7001",
                       venue="TWS / IB Gateway")
    assert reported(result) == ["open SELL STP order 7001-5-sl (10 AAPL) at TWS / IB Gateway is "
                                "not in the database; left alone"]


def test_one_client_order_id_scheme_made_read_and_recognised():
    assert client_id("0001", 1515595800.4, "entry") == "0001-1515595800-entry"
    assert parse("0001-1515595800-sl").protective and not parse("0001-1515595800-exit").protective
    assert parse("my-bot-1515595800-tp").prefix == "my-bot"  # a bot id with dashes
    for foreign in ("manual-1", "0001-abc-entry", "0001-1515595800-oco", "x", ""):
        assert parse(foreign) is None and not is_ours(foreign, "0001")
    assert not is_ours("0002-1515595800-entry", "0001")
    long_id = "a-rather-long-bot-identifier"
    prefix = order_prefix(long_id)
    assert len(prefix) <= 16 and prefix == order_prefix(long_id)  # deterministic
    assert len(client_id(prefix, 1515595800, "entry")) <= 36  # Binance's limit


def test_after_a_reconnect_the_same_comparison_tells_a_difference_and_nothing_else():
    assert after_reconnect(spot(1.049), 1.05, "Binance") is None  # a fee's rounding
    assert after_reconnect(spot(0.0004), 0.0, "Binance") is None  # dust is no position
    assert after_reconnect(stock(10), 10.0, "TWS / IB Gateway") is None
    assert after_reconnect(stock(12), 10.0, "TWS / IB Gateway") == (
        "after reconnecting, TWS / IB Gateway holds 12 AAPL but the bot holds 10: an order "
        "outside the bot, or a fill the venue never reported; check the account")
