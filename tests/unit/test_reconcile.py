"""Start-up reconciliation, written once for every venue: the venue's account wins, every
difference is reported as a status event, and one rule tells the bot's orders from anyone
else's. The accounts here are shaped as the Binance and IB gateways report them."""
from __future__ import annotations

import pytest

from brokers.reconcile import after_reconnect, reconcile_account, reconcile_symbols
from trading.core.client_ids import (client_id, is_ours, order_prefix, parse, protective_ids,
                                     symbol_tag)
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


# -- a basket: each symbol on its own, one cash ---------------------------------------------------
def pair(symbol: str, held: float, price: float,
         open_orders: tuple[OrderReport, ...] = ()) -> AccountReport:
    """One symbol of a BTC-quoted basket as Binance's gateway reports it (one cash for all)."""
    return AccountReport(symbol=symbol, position=held, price=price, cash=0.5, currency="BTC",
                         open_orders=open_orders, step=0.01, relative_tolerance=0.002,
                         dust=0.01)


def trade_in(symbol: str, size: float, price: float) -> OpenTrade:
    return OpenTrade(symbol=symbol, size=size, entry_price=price, entry_ts=1515595800.0)


def test_a_basket_is_reconciled_symbol_by_symbol_with_each_symbols_order_ids():
    tag = symbol_tag("XLMBTC")
    stop = client_id("7", 1515595800.0, "sl", tag)  # XLM's stop-loss, filled while away
    entry = client_id("7", 1515596100.0, "entry", symbol_tag("TRXBTC"))  # TRX's entry, filled
    found = {stop: OrderReport(stop, "SELL", "STOP_LOSS_LIMIT", 100, 100, "filled"),
             entry: OrderReport(entry, "BUY", "MARKET", 300, 300, "filled")}
    accounts = {"ETCBTC": pair("ETCBTC", 2.0, 0.0025),
                "XLMBTC": pair("XLMBTC", 0.0, 0.00004),
                "TRXBTC": pair("TRXBTC", 300.0, 0.0001)}
    positions = {"ETCBTC": trade_in("ETCBTC", 2.0, 0.0024),
                 "XLMBTC": trade_in("XLMBTC", 100.0, 0.000041)}
    pending = (PendingOrder("entry", 300, entry, symbol="TRXBTC"),)
    holdings = {"ETCBTC": (2.0, 0.0024), "XLMBTC": (100.0, 0.000041)}
    result = reconcile_symbols(accounts, positions, pending, found.get, "7", "Binance",
                               holdings=holdings)
    assert result.positions == {"ETCBTC": positions["ETCBTC"], "XLMBTC": positions["XLMBTC"]}
    # XLM's stop filled while the bot was away: its fill is adopted after warm-up, from 100;
    # TRX's entry filled: its position comes with its fill, from 0
    assert result.holdings == {"ETCBTC": (2.0, 0.0024), "XLMBTC": (100.0, 0.000041)}
    assert result.pending_orders == pending and not result.events
    assert result.summary == "the account agrees with the database"
    assert set(protective_ids("7", 1515595800.0, tag)) <= set(result.at_venue)
    assert set(protective_ids("7", 1515595800.0, symbol_tag("ETCBTC"))) <= set(result.at_venue)
    assert entry in result.at_venue


def test_a_basket_reports_each_symbols_difference_under_its_symbol():
    accounts = {"ETCBTC": pair("ETCBTC", 2.0, 0.0025), "XLMBTC": pair("XLMBTC", 250.0, 0.00004)}
    result = reconcile_symbols(accounts, {"ETCBTC": trade_in("ETCBTC", 2.0, 0.0024)}, (),
                               nothing, "7", "Binance", holdings={"ETCBTC": (2.0, 0.0024)})
    assert result.positions == {"ETCBTC": trade_in("ETCBTC", 2.0, 0.0024)}
    assert [e.status["symbol"] for e in result.events] == ["XLMBTC"]
    assert reported(result) == ["Binance holds 250 XLMBTC, 250 more than this bot's orders "
                                "explain: not the bot's, left alone (the bot's position stays "
                                "none)"]
    assert result.summary.startswith("XLMBTC: 1 difference(s) resolved: Binance holds 250")


def test_a_pending_order_of_a_symbol_the_basket_dropped_is_kept_for_the_start_to_refuse():
    dropped = PendingOrder("entry", 5, client_id("7", 1515595800.0, "entry",
                                                 symbol_tag("ZECBTC")), symbol="ZECBTC")
    result = reconcile_symbols({"ETCBTC": pair("ETCBTC", 0.0, 0.0025),
                                "XLMBTC": pair("XLMBTC", 0.0, 0.00004)}, {}, (dropped,),
                               nothing, "7", "Binance")
    assert result.pending_orders == (dropped,) and dropped.client_order_id not in result.at_venue


def test_one_symbols_pending_order_saved_without_a_symbol_is_its_first():
    old = PendingOrder("entry", 1.05, client_id("7", 1515595800.0, "entry"))
    filled = OrderReport(old.client_order_id, "BUY", "MARKET", 1.05, 1.05, "filled")
    result = reconcile_symbols({"ETHBTC": spot(1.05)}, {}, (old,),
                               {old.client_order_id: filled}.get, "7", "Binance")
    assert result.pending_orders == (old,) and not result.events  # found, its fill explained
    assert result.holdings == {}  # the position comes with the fill, adopted after warm-up
