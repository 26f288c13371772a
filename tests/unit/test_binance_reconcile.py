"""Start-up reconciliation of a Binance account with the database: the exchange wins, and every
difference is reported as a status event."""
from __future__ import annotations

from decimal import Decimal

from brokers.binance_reconcile import reconcile_account
from trading.core.types import OpenTrade, PendingOrder
from trading.venues.binance.filters import SymbolRules
from trading.venues.binance.order_types import AccountState

RULES = SymbolRules(symbol="ETHBTC", base="ETH", quote="BTC", step=Decimal("0.001"),
                    min_qty=Decimal("0.001"), max_qty=Decimal("1000"), tick=Decimal("0.000001"),
                    min_notional=Decimal("0.0001"))


def account(eth: float, open_orders: tuple = ()) -> AccountState:
    return AccountState(rules=RULES, base_total=eth, quote_free=0.9, quote_locked=0.0, price=0.09,
                        open_orders=open_orders)


def trade(size: float) -> OpenTrade:
    return OpenTrade(symbol="ETHBTC", size=size, entry_price=0.095, entry_ts=1515595800.0)


def nothing(_cid: str):
    return None


def reported(result) -> list[str]:
    return [e.status["reconcile"] for e in result.events]


def test_an_account_that_agrees_changes_nothing_and_reports_nothing():
    result = reconcile_account(account(1.05), trade(1.05), (), nothing)
    assert result.position == trade(1.05) and not result.events
    assert result.summary == "the account agrees with the database"


def test_a_balance_the_database_does_not_know_is_adopted_as_the_position():
    result = reconcile_account(account(0.5), None, (), nothing)
    assert result.position is not None and result.position.size == 0.5
    assert result.position.entry_price == 0.09
    assert reported(result) == ["Binance holds 0.5 ETH the database does not know: adopted as "
                                "the open position at 0.09 (the current price)"]


def test_a_position_the_exchange_no_longer_holds_is_dropped():
    result = reconcile_account(account(0.0004), trade(1.05), (), nothing)  # dust only
    assert result.position is None
    assert "the position is closed (sold outside the bot?) and dropped" in reported(result)[0]


def test_a_different_size_takes_the_exchanges():
    result = reconcile_account(account(0.8), trade(1.05), (), nothing)
    assert result.position.size == 0.8 and result.position.entry_price == 0.095
    assert "the position is now 0.8 ETH" in reported(result)[0]


def test_a_pending_entry_the_exchange_filled_is_left_to_be_adopted_not_counted_twice():
    pending = (PendingOrder(purpose="entry", size=1.05, client_order_id="7-1-entry"),)
    found = {"7-1-entry": {"status": "FILLED", "executedQty": "1.05"}}
    result = reconcile_account(account(1.049), None, pending, found.get)
    assert result.position is None and not result.events  # the re-sent order adopts the fill
    assert result.pending_orders == pending


def test_a_protective_order_filled_while_down_keeps_the_position_for_its_fill():
    found = {"7-1515595800-sl": {"status": "FILLED", "executedQty": "1.05"}}
    result = reconcile_account(account(0.0), trade(1.05), (), found.get, order_prefix="7")
    assert result.position == trade(1.05) and not result.events


def test_an_open_order_the_database_does_not_know_is_reported_and_left_alone():
    stranger = {"clientOrderId": "manual-1", "side": "SELL", "type": "LIMIT", "origQty": "0.3"}
    result = reconcile_account(account(1.05, (stranger,)), trade(1.05), (), nothing)
    assert reported(result) == ["open SELL LIMIT order manual-1 (0.3 ETH) on Binance is not in "
                                "the database; left alone"]
