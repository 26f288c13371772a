"""The IB venue's own rules, without TWS: where it connects (the environment wins), which contract
the config names and how an unknown or ambiguous one is told, what IB's message codes mean, how
bars are read, the start-up reconciliation and the live-money guard."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from ib_async import BarData, Contract, ContractDetails

from trading.core.errors import ConfigError
from trading.runtime.venue_link import check_live_money
from trading.venues.ibkr import codes
from trading.venues.ibkr.bars import to_bar
from trading.venues.ibkr.contracts import (ContractSpec, bar_size, choose, history_duration,
                                           what_to_show)
from trading.venues.ibkr.orders import round_price, round_quantity
from trading.venues.ibkr.settings import (IbkrConfig, is_paper_account, resolve_address,
                                          retry_cap)


# -- where it connects ---------------------------------------------------------------------------
def test_the_environment_wins_over_the_ibkr_section():
    section = IbkrConfig(host="10.0.0.5", port=4002, client_id=7)
    assert resolve_address(section, {}).describe() == "10.0.0.5:4002 (client id 7)"
    chosen = resolve_address(section, {"IBKR_HOST": "127.0.0.1", "IBKR_PORT": "7497",
                                       "IBKR_CLIENT_ID": "12"})
    assert (chosen.host, chosen.port, chosen.client_id) == ("127.0.0.1", 7497, 12)


@pytest.mark.parametrize("name, value", [("IBKR_PORT", "seventy"), ("IBKR_PORT", "70000"),
                                         ("IBKR_CLIENT_ID", "-1")])
def test_a_bad_environment_value_is_a_clear_error_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=f"environment variable {name} must be a whole number"):
        resolve_address(IbkrConfig(), {name: value})


def test_the_wait_between_tries_to_connect_is_capped_by_ibkr_retry_cap():
    assert retry_cap({}) == 30.0
    assert retry_cap({"IBKR_RETRY_CAP": "0.5"}) == 0.5
    with pytest.raises(ConfigError, match="environment variable IBKR_RETRY_CAP must be a "
                                          "positive number of seconds, got 'soon'"):
        retry_cap({"IBKR_RETRY_CAP": "soon"})


def test_paper_accounts_start_with_du():
    assert is_paper_account("DU1234567") and is_paper_account("du42")
    assert not is_paper_account("U1234567")


# -- the contract --------------------------------------------------------------------------------
def test_each_sec_type_becomes_the_contract_ib_expects():
    stock = ContractSpec.from_config("aapl", IbkrConfig(primary_exchange="NASDAQ")).contract()
    assert (stock.secType, stock.symbol, stock.exchange, stock.primaryExchange, stock.currency) \
        == ("STK", "AAPL", "SMART", "NASDAQ", "USD")
    fx = ContractSpec.from_config("EUR/USD", IbkrConfig(sec_type="CASH")).contract()
    assert (fx.secType, fx.symbol, fx.currency, fx.exchange) == ("CASH", "EUR", "USD", "IDEALPRO")
    fut = ContractSpec.from_config("ES 202612", IbkrConfig(sec_type="FUT", exchange="CME")).contract()
    assert (fut.symbol, fut.lastTradeDateOrContractMonth, fut.exchange) == ("ES", "202612", "CME")
    crypto = ContractSpec.from_config("BTC", IbkrConfig(sec_type="CRYPTO")).contract()
    assert (crypto.secType, crypto.exchange) == ("CRYPTO", "PAXOS")


def test_an_unsupported_sec_type_or_a_bad_pair_is_a_config_error():
    with pytest.raises(ConfigError, match="ibkr.sec_type: 'OPT' is not supported"):
        ContractSpec.from_config("AAPL", IbkrConfig(sec_type="OPT")).contract()
    with pytest.raises(ConfigError, match="six letters like EURUSD"):
        ContractSpec.from_config("EURO", IbkrConfig(sec_type="CASH")).contract()


def details(con_id: int, symbol: str = "AAPL", primary: str = "NASDAQ", currency: str = "USD",
            month: str = "") -> ContractDetails:
    return ContractDetails(contract=Contract(conId=con_id, symbol=symbol, secType="STK",
                                             exchange="SMART", primaryExchange=primary,
                                             currency=currency, localSymbol=symbol,
                                             lastTradeDateOrContractMonth=month), minTick=0.01)


def test_qualifying_picks_the_one_match_and_keeps_smart_routing():
    spec = ContractSpec("AAPL")
    chosen = choose(spec, spec.contract(), [details(265598)])
    assert (chosen.conId, chosen.exchange) == (265598, "SMART")


def test_an_unknown_contract_is_a_clear_start_up_error():
    spec = ContractSpec("NOSUCH")
    with pytest.raises(ConfigError, match="Interactive Brokers knows no contract STK NOSUCH USD"):
        choose(spec, spec.contract(), [])


def test_an_ambiguous_contract_lists_every_candidate_and_what_to_set():
    spec = ContractSpec("SHOP")
    with pytest.raises(ConfigError) as err:
        choose(spec, spec.contract(), [details(1, "SHOP", "NYSE"), details(2, "SHOP", "TSE")])
    message = str(err.value)
    assert "is ambiguous at Interactive Brokers: 2 contracts match" in message
    assert "SHOP STK USD on SMART/NYSE (conId 1)" in message
    assert "SHOP STK USD on SMART/TSE (conId 2)" in message
    assert "ibkr.primary_exchange" in message
    picked = ContractSpec("SHOP", primary_exchange="TSE")
    assert choose(picked, picked.contract(),
                  [details(1, "SHOP", "NYSE"), details(2, "SHOP", "TSE")]).conId == 2


def test_in_a_basket_a_contract_problem_names_the_symbol_and_its_ibkr_contracts_entry():
    spec = ContractSpec("SHOP")
    with pytest.raises(ConfigError, match=r"^trading.symbols: Interactive Brokers knows no "
                       r"contract STK SHOP USD on SMART; check trading.symbols and the ibkr "
                       r"section or its ibkr.contracts entry for SHOP \(sec_type"):
        choose(spec, spec.contract(), [], key="trading.symbols")
    with pytest.raises(ConfigError, match=r"ibkr.primary_exchange \(or ibkr.currency\) to the "
                       r"one you mean \(for SHOP alone: in its entry of ibkr.contracts\)"):
        choose(spec, spec.contract(), [details(1, "SHOP", "NYSE"), details(2, "SHOP", "TSE")],
               key="trading.symbols")


def test_bar_sizes_what_to_show_and_durations():
    assert bar_size(300) == "5 mins" and bar_size(3600) == "1 hour" and bar_size(86400) == "1 day"
    with pytest.raises(ConfigError, match="Interactive Brokers has no 6h bars"):
        bar_size(21600)
    assert (what_to_show("STK"), what_to_show("FUT"), what_to_show("CASH")) == \
        ("TRADES", "TRADES", "MIDPOINT")
    assert history_duration(60, 60, "CRYPTO") == "3720 S"
    # 500 5-minute stock bars need about 7 trading days: calendar days with nights and weekends
    days = int(history_duration(500, 300, "STK").split()[0])
    assert history_duration(500, 300, "STK").endswith(" D") and days >= 10


# -- message codes -------------------------------------------------------------------------------
@pytest.mark.parametrize("code, req_id, kind", [
    (2104, -1, "farm"), (2158, -1, "farm"), (2106, -1, "farm"), (1100, -1, "lost"),
    (1101, -1, "restored"), (1102, -1, "restored"), (326, -1, "client_id_in_use"),
    (201, 12, "order"), (399, 12, "warning"), (162, 4, "error"), (504, -1, "error")])
def test_message_codes_are_sorted_by_what_they_mean(code, req_id, kind):
    assert codes.classify(code, req_id) == kind


# -- bars ----------------------------------------------------------------------------------------
def test_bars_are_read_as_utc_open_times():
    aware = BarData(date=dt.datetime(2024, 1, 2, 14, 30, tzinfo=dt.timezone.utc), open=1, high=2,
                    low=0.5, close=1.5, volume=100)
    assert to_bar(aware) == (1704205800.0, 1.0, 2.0, 0.5, 1.5, 100.0)
    daily = BarData(date=dt.date(2024, 1, 2), open=1, high=1, low=1, close=1, volume=-1)
    assert to_bar(daily).ts == 1704153600.0 and to_bar(daily).volume == 0.0  # IB's -1: none


def test_quantities_and_prices_are_rounded_the_safe_way():
    assert round_quantity(66.67, "STK") == 66 and round_quantity(0.123456789, "CRYPTO") == 0.12345678
    assert round_price(101.237, 0.01) == 101.23 and round_price(101.231, 0.01, up=True) == 101.24
    assert round_price(101.237, 0.0) == 101.237


# -- live money ----------------------------------------------------------------------------------
def ibkr_bot(confirmed: bool) -> SimpleNamespace:
    return SimpleNamespace(broker=SimpleNamespace(type="ibkr"),
                           data=SimpleNamespace(data_source="ibkr"),
                           live_trading_confirmed=confirmed)


def connected(account: str) -> SimpleNamespace:
    return SimpleNamespace(account=account)


def test_a_paper_account_needs_no_confirmation_a_live_one_needs_both():
    check_live_money(ibkr_bot(False), False)  # before connecting: decided on the account
    check_live_money(ibkr_bot(False), False, connected("DU1234567"))
    with pytest.raises(ConfigError) as err:
        check_live_money(ibkr_bot(False), False, connected("U7654321"))
    assert "logged in to the live account U7654321, which trades real money" in str(err.value)
    assert '"live_trading_confirmed": true in the config and --live' in str(err.value)
    with pytest.raises(ConfigError, match="without --live on the command line"):
        check_live_money(ibkr_bot(True), False, connected("U7654321"))
    check_live_money(ibkr_bot(True), True, connected("U7654321"))
