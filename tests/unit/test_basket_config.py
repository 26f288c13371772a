"""A basket in the config (issue 17): trading.symbols, {symbol} data files, align_seconds, and
the rules a basket adds, each as the 'file: json.path: message' line a user sees."""
from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from trading.config.loading import build_config, check_config
from trading.config.schema import config_schema
from trading.config.validator import validate_document
from trading.core.errors import ConfigError
from trading.core.settings import DataConfig, TradingConfig
from trading.config.basket import basket_sources, listed
from trading.venues.registry import VenueRegistry, venues

REPO = Path(__file__).resolve().parents[2]
BASKET = REPO / "config" / "trading" / "0007.json"
SHIPPED = sorted((REPO / "config" / "trading").glob("*.json"))
DOCUMENTED = REPO / "tests" / "fixtures" / "documented_config.json"
SOURCE = "0007.json"
SYMBOLS = ["ETCBTC", "XLMBTC", "TRXBTC", "ZECBTC", "DASHBTC"]


@pytest.fixture
def doc() -> dict[str, Any]:
    """The basket demo as shipped."""
    return json.loads(BASKET.read_text(encoding="utf-8"))


@pytest.fixture
def one() -> dict[str, Any]:
    """The demo trimmed to one symbol, written as a list of one."""
    doc = json.loads(BASKET.read_text(encoding="utf-8"))
    doc["trading"].update(symbols=["ETCBTC"], max_positions=1)
    return doc


def report(doc: Any):
    return validate_document(doc, SOURCE, env={})


def errors(doc: Any) -> list[str]:
    return report(doc).errors


def warnings(doc: Any) -> list[str]:
    return report(doc).warnings


# --- the shipped configs ----------------------------------------------------------------------

@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_config_still_validates(path):
    assert validate_document(json.loads(path.read_text(encoding="utf-8")), str(path),
                             path=path, env={}).errors == []


def test_the_basket_demo_validates_without_a_warning_and_builds_its_basket():
    checked = check_config(BASKET, base_dir=REPO)
    assert validate_document(checked.document, SOURCE, env={}).warnings == []
    trading, data = checked.config.trading, checked.config.data
    assert trading.symbols == tuple(SYMBOLS) and trading.symbol == "ETCBTC" and trading.is_basket
    assert (trading.max_positions, trading.position_size, trading.max_exposure) == (3, 0.3, 1.0)
    assert data.symbols == tuple(SYMBOLS) and data.symbol == "ETCBTC"
    assert data.data_source == "file" and checked.config.broker.type == "paper"
    assert data.align_seconds is None  # the file source's own wait
    for symbol in SYMBOLS:  # every symbol's file is bundled
        assert data.file_for(symbol) == REPO / "data" / "sample" / f"{symbol}-5m.csv"
        assert data.file_for(symbol).is_file()


def test_the_bundled_samples_share_the_demo_files_span_and_format():
    ethbtc = (REPO / "data" / "sample" / "ETHBTC-5m.csv").read_text().splitlines()
    for symbol in SYMBOLS:
        lines = (REPO / "data" / "sample" / f"{symbol}-5m.csv").read_text().splitlines()
        assert lines[0] == ethbtc[0] == "datetime,open,high,low,close,volume"
        assert lines[1].split(",")[0] == ethbtc[1].split(",")[0] == "2018-01-10T04:55:00Z"
        assert lines[-1].split(",")[0] in ("2018-01-30T04:45:00Z", "2018-01-30T04:50:00Z")
        assert len(lines) - 1 > 5_750


# --- one symbol or a basket ---------------------------------------------------------------------

def test_a_config_with_neither_key_names_both(doc):
    del doc["trading"]["symbols"]
    assert errors(doc) == [
        "0007.json: trading: missing required key 'symbol' (one symbol) or 'symbols' (a basket)"]


def test_symbol_and_symbols_together_must_name_the_same_one_symbol(doc, one):
    doc["trading"]["symbol"] = "ETCBTC"
    assert errors(doc) == [
        "0007.json: trading.symbols: give trading.symbol (one symbol) or trading.symbols (a "
        "basket), not both: symbol 'ETCBTC' and symbols ['ETCBTC', 'XLMBTC', 'TRXBTC', 'ZECBTC', "
        "'DASHBTC'] differ; remove one"]
    one["trading"]["symbol"] = "ETCBTC"
    assert errors(one) == []
    one["trading"]["symbol"] = "XLMBTC"
    assert errors(one)[0].startswith("0007.json: trading.symbols: give trading.symbol (one "
                                     "symbol) or trading.symbols (a basket), not both")


def test_a_symbol_listed_twice_is_named_at_its_index(doc):
    doc["trading"]["symbols"] = ["ETCBTC", "XLMBTC", "ETCBTC"]
    assert errors(doc) == ["0007.json: trading.symbols[2]: 'ETCBTC' is listed twice (also at [0]); "
                           "list each once"]


@pytest.mark.parametrize("symbols, line", [
    ([], "0007.json: trading.symbols: must not be empty"),
    (["ETCBTC", ""], "0007.json: trading.symbols[1]: must not be empty"),
    ("ETCBTC", "0007.json: trading.symbols: must be an array, got 'ETCBTC'"),
    (["ETCBTC", 7], "0007.json: trading.symbols[1]: must be a string, got 7"),
    (["X" * 33], "0007.json: trading.symbols[0]: must be at most 32 characters long, got 33"),
])
def test_malformed_symbols_get_one_clear_message(doc, symbols, line):
    doc["trading"]["symbols"] = symbols
    assert errors(doc) == [line]


def test_one_symbol_in_a_list_is_the_one_symbol_bot_it_always_was():
    doc = json.loads(DOCUMENTED.read_text(encoding="utf-8"))  # Binance data, Binance testnet
    doc["trading"]["symbols"] = [doc["trading"].pop("symbol")]
    found = report(doc)
    assert found.errors == []
    config = build_config(found.document)
    assert config.trading.symbols == ("BTCUSDT",) and config.trading.symbol == "BTCUSDT"
    assert not config.trading.is_basket and config.data.symbols == ("BTCUSDT",)


# --- the data keys agree --------------------------------------------------------------------------

def test_data_symbol_is_refused_with_a_basket(doc):
    doc["data"]["symbol"] = "ETCBTC"
    assert errors(doc) == ["0007.json: data.symbol: must not be given with a basket: the bot "
                           "watches every symbol of trading.symbols (5 symbols); remove "
                           "data.symbol"]


def test_data_symbol_of_one_symbol_written_as_a_list_must_equal_it(one):
    one["data"]["symbol"] = "ETCBTC"
    assert errors(one) == []
    one["data"]["symbol"] = "XLMBTC"
    assert errors(one) == ["0007.json: data.symbol: must equal trading.symbols ('ETCBTC'), got "
                           "'XLMBTC'; the bot trades the symbol it watches (remove data.symbol to "
                           "use trading.symbols)"]


def test_data_symbols_may_repeat_trading_symbols_in_the_same_order(doc):
    doc["data"]["symbols"] = list(SYMBOLS)
    assert errors(doc) == []
    doc["data"]["symbols"] = ["XLMBTC", "ETCBTC", "TRXBTC", "ZECBTC", "DASHBTC"]
    assert errors(doc) == [
        "0007.json: data.symbols: must equal trading.symbols (['ETCBTC', 'XLMBTC', 'TRXBTC', "
        "'ZECBTC', 'DASHBTC']), in the same order, got ['XLMBTC', 'ETCBTC', 'TRXBTC', 'ZECBTC', "
        "'DASHBTC']; remove data.symbols to use trading.symbols"]


# --- one data file per symbol ---------------------------------------------------------------------

def test_a_basket_on_the_file_source_needs_symbol_in_the_file_path(doc):
    doc["data"]["file_path"] = "data/sample/ETHBTC-5m.csv"
    assert errors(doc) == [
        "0007.json: data.file_path: a basket reads one file per symbol: put {symbol} in the path "
        "where the symbol's name goes (e.g. data/{symbol}-5m.csv); got 'data/sample/ETHBTC-5m.csv'"]


@pytest.mark.parametrize("path, what", [
    ("data/{sym}-5m.csv", "'{sym}' is not a placeholder"),
    ("data/{symbol}-{interval}.csv", "'{interval}' is not a placeholder"),
    ("data/{SYMBOL}-{}.csv", "'{SYMBOL}', '{}' are not placeholders"),
    ("data/{symbol-5m.csv", "has a '{' or '}' that opens or closes no placeholder"),
    ("data/symbol}-5m.csv", "has a '{' or '}' that opens or closes no placeholder"),
])
def test_symbol_is_the_only_placeholder(one, path, what):
    one["data"]["file_path"] = path
    assert errors(one) == [f"0007.json: data.file_path: {what}: the only one is {{symbol}}, where "
                           "each symbol's name goes (one file per symbol: data/{symbol}-5m.csv); "
                           f"got '{path}'"]


def test_one_symbol_may_name_its_file_either_way(one, tmp_path):
    for path in ("data/sample/{symbol}-5m.csv", "data/sample/ETCBTC-5m.csv"):
        one["data"]["file_path"] = path
        found = report(one)
        assert found.errors == []
        data = build_config(found.document, base_dir=tmp_path).data
        assert data.file_for("ETCBTC") == tmp_path / "data" / "sample" / "ETCBTC-5m.csv"


def test_file_for_replaces_symbol_and_keeps_a_plain_path():
    def data(file_path: Path | None) -> DataConfig:
        return DataConfig(data_source="file", symbol="ETCBTC", interval="5m", lookback_bars=0,
                          retry_interval=60, file_path=file_path, speed=0,
                          symbols=("ETCBTC", "XLMBTC"))
    assert data(Path("/d/{symbol}/{symbol}-5m.csv")).file_for("XLMBTC") == Path(
        "/d/XLMBTC/XLMBTC-5m.csv")
    assert data(Path("/d/bars.csv")).file_for("XLMBTC") == Path("/d/bars.csv")
    with pytest.raises(ConfigError, match="data.file_path: not set, so there is no data file "
                                          "for XLMBTC"):
        data(None).file_for("XLMBTC")


# --- what a basket runs on, in this version -------------------------------------------------------

def basket_data_refused(got: str) -> str:
    return (f"a basket (5 symbols) takes its bars from data_source {listed(basket_sources())} in "
            f"this version, got {got}, whose source serves one symbol per bot (until it serves "
            "baskets, one bot per symbol)")


BASKET_BROKERS = ("a basket (5 symbols) trades with broker {brokers} in this version, got {got}, "
                  "whose venue trades one symbol per bot (until then, one bot per symbol)")


BASKET_DATA = sorted(name for venue in venues() if venue.basket_data for name in venue.data_sources)


@pytest.mark.parametrize("source", BASKET_DATA)
def test_a_basket_takes_its_bars_from_a_venue_whose_source_serves_baskets(doc, source):
    doc["data"]["data_source"] = source
    doc["broker"]["type"] = "paper"
    assert errors(doc) == []
    assert source in basket_sources()


def test_a_basket_on_a_venue_whose_source_serves_one_symbol_is_refused(doc, monkeypatch):
    one_symbol = dataclasses.replace(venues().get("binance"), basket_data=False)
    registry = VenueRegistry([one_symbol])
    monkeypatch.setattr("trading.config.basket.venues", lambda: registry)
    doc["data"]["data_source"] = "binance"
    assert f"0007.json: data.data_source: {basket_data_refused(repr('binance'))}" in errors(doc)


@pytest.mark.parametrize("broker", sorted(venues().broker_types))
def test_a_basket_takes_every_shipped_venues_broker(doc, broker):
    doc["broker"]["type"] = broker
    assert [e for e in errors(doc) if e.startswith("0007.json: broker.type:")] == []


def test_a_venue_whose_broker_trades_one_symbol_is_refused_for_a_basket(doc, monkeypatch):
    from trading.config import basket
    from trading.venues.registry import Venue, VenueRegistry

    single = Venue(name="single", title="One-symbol venue", connect=lambda request: None,
                   broker_types={"single_paper": "orders at a venue of one symbol per bot"})
    monkeypatch.setattr(basket, "venues", lambda: VenueRegistry([*venues(), single]))
    doc["broker"]["type"] = "single_paper"
    problems = dict(basket.basket_venue_problems(doc))
    assert problems[("broker", "type")] == BASKET_BROKERS.format(
        brokers="'mock', 'paper', 'binance_paper', 'binance' or 'ibkr'", got="'single_paper'")


def test_a_basket_takes_either_simulated_broker(doc):
    for broker in ("mock", "paper"):
        doc["broker"]["type"] = broker
        assert errors(doc) == []


def test_one_symbol_keeps_every_venue(one):
    one["broker"]["type"] = "paper"
    one["data"].update(data_source="yahoo", interval="1h")
    assert errors(one) == []


# --- max_positions, align_seconds -----------------------------------------------------------------

def test_max_positions_above_the_number_of_symbols_warns(doc, one):
    assert warnings(doc) == []  # 3 of 5
    doc["trading"]["max_positions"] = 5
    assert warnings(doc) == []
    doc["trading"]["max_positions"] = 7
    assert warnings(doc) == ["0007.json: trading.max_positions: a bot holds at most one position "
                             "per symbol: with 5 symbols, max_positions 7 allows no more than 5 "
                             "open at once"]
    one["trading"]["max_positions"] = 3
    assert warnings(one) == ["0007.json: trading.max_positions: a bot holds at most one position "
                             "per symbol: with 1 symbol, max_positions 3 allows no more than 1 "
                             "open at once"]


def test_align_seconds_is_optional_non_negative_and_typed(doc):
    assert build_config(report(doc).document).data.align_seconds is None
    doc["data"]["align_seconds"] = 0
    assert build_config(report(doc).document).data.align_seconds == 0.0
    doc["data"]["align_seconds"] = 2.5
    assert build_config(report(doc).document).data.align_seconds == 2.5
    doc["data"]["align_seconds"] = -1
    assert errors(doc) == ["0007.json: data.align_seconds: must be >= 0, got -1"]
    doc["data"]["align_seconds"] = "2s"
    assert errors(doc) == ["0007.json: data.align_seconds: must be a number, got '2s'"]


def test_align_seconds_with_one_symbol_warns_that_it_does_nothing(one):
    one["data"]["align_seconds"] = 2
    assert warnings(one) == ["0007.json: data.align_seconds: has no effect with one symbol (it is "
                             "how long a basket's time step waits for its symbols' bars); each bar "
                             "is traded as it arrives"]


def test_the_schema_says_what_the_basket_keys_mean():
    props = config_schema()["properties"]
    trading, data = props["trading"]["properties"], props["data"]["properties"]
    tie = ("When several symbols signal an entry on the same bar and fewer position slots are "
           "free, the symbols earlier in trading.symbols win.")
    assert tie in trading["symbols"]["description"]
    assert tie in trading["max_positions"]["description"]
    assert "one position per symbol" in trading["max_positions"]["description"]
    assert "each new position" in trading["position_size"]["description"]
    assert "sum of the open positions' value over equity" in trading["max_exposure"]["description"]
    runs_on = f"data_source {listed(basket_sources())} with broker 'mock', 'paper', "
    assert runs_on in trading["symbols"]["description"]
    align = data["align_seconds"]["description"]
    assert "the file source marks each step complete" in align and "logged and dropped" in align
    for venue in venues():  # each venue's own wait, from its declaration
        for name in venue.data_sources:
            assert f"{name} {venue.align_seconds:g} s" in align
    assert "{symbol}" in data["file_path"]["description"]


def test_the_shipped_venues_declare_the_documented_waits():
    waits = {name: venue.align_seconds for venue in venues() for name in venue.data_sources}
    assert waits == {"binance": 2.0, "yahoo": 30.0, "ibkr": 5.0}


# --- the typed settings -----------------------------------------------------------------------

def test_settings_built_with_one_symbol_are_a_basket_of_one():
    trading = TradingConfig(symbol="ETHBTC", position_size=0.1, max_positions=1,
                            max_drawdown_pct=0, max_exposure=1.0)
    assert trading.symbols == ("ETHBTC",) and not trading.is_basket
    basket = TradingConfig(symbol="ETCBTC", position_size=0.3, max_positions=3,
                           max_drawdown_pct=0, max_exposure=1.0, symbols=["ETCBTC", "XLMBTC"])
    assert basket.symbols == ("ETCBTC", "XLMBTC") and basket.is_basket
    with pytest.raises(ValueError, match="must be the first of symbols"):
        TradingConfig(symbol="XLMBTC", position_size=0.1, max_positions=1, max_drawdown_pct=0,
                      max_exposure=1.0, symbols=("ETCBTC", "XLMBTC"))


def test_validation_leaves_the_document_alone(doc):
    before = copy.deepcopy(doc)
    report(doc)
    assert doc == before


# --- a basket at IB: a contract per symbol ------------------------------------------------------

@pytest.fixture
def at_ib(doc) -> dict[str, Any]:
    """The demo as a basket of two stocks and a forex pair on IB's bars."""
    doc["trading"]["symbols"] = ["AAPL", "SPY", "EURUSD"]
    doc["data"] = {"data_source": "ibkr", "interval": "5m", "lookback_bars": 60}
    doc["ibkr"] = {"exchange": "SMART", "contracts": {"EURUSD": {"sec_type": "CASH"}}}
    return doc


def test_a_symbols_entry_in_ibkr_contracts_overrides_the_section_for_it_alone(at_ib):
    from trading.venues.ibkr.contracts import ContractSpec

    assert errors(at_ib) == []
    ibkr = build_config(report(at_ib).document).venue_settings["ibkr"]
    assert ibkr.contracts["EURUSD"].sec_type == "CASH" and ibkr.contracts["EURUSD"].exchange is None
    pair = ContractSpec.from_config("EURUSD", ibkr).contract()
    assert (pair.secType, pair.symbol, pair.currency, pair.exchange) == ("CASH", "EUR", "USD",
                                                                         "IDEALPRO")
    stock = ContractSpec.from_config("SPY", ibkr).contract()
    assert (stock.secType, stock.symbol, stock.exchange) == ("STK", "SPY", "SMART")
    assert ibkr.for_symbol("AAPL") is ibkr


def test_ibkr_contracts_defaults_to_none_and_a_one_symbol_config_is_unchanged(one):
    one["data"].update(data_source="ibkr")
    ibkr = build_config(report(one).document).venue_settings["ibkr"]
    assert dict(ibkr.contracts) == {}


def test_an_ibkr_contracts_entry_for_a_symbol_not_traded_is_an_error(at_ib):
    at_ib["ibkr"]["contracts"]["MSFT"] = {"currency": "USD"}
    assert errors(at_ib) == [
        "0007.json: ibkr.contracts.MSFT: names no symbol the bot trades (AAPL, SPY, EURUSD); "
        "each key of ibkr.contracts is one of trading.symbols, spelt the same: fix the name or "
        "remove the entry"]


def test_an_ibkr_contracts_entry_is_checked_by_the_schema_with_its_path(at_ib):
    at_ib["ibkr"]["contracts"]["EURUSD"] = {"sec_type": "OPT", "exchnage": "IDEALPRO"}
    lines = errors(at_ib)
    assert any(line.startswith("0007.json: ibkr.contracts.EURUSD.sec_type: ") and "CASH" in line
               for line in lines), lines
    assert any(line.startswith("0007.json: ibkr.contracts.EURUSD") and "exchnage" in line
               for line in lines), lines


def test_the_ibkr_broker_refuses_a_future_named_in_ibkr_contracts(one):
    one["trading"]["symbols"] = ["ES 202612"]
    one["broker"]["type"] = "ibkr"
    one["data"].update(data_source="ibkr")
    one["ibkr"] = {"contracts": {"ES 202612": {"sec_type": "FUT", "exchange": "CME"}}}
    assert [line for line in errors(one) if "futures" in line] == [
        '0007.json: ibkr.contracts["ES 202612"].sec_type: the ibkr broker does not trade futures in '
        "this version (it would book a future like a stock: its full value as cash, no "
        "multiplier in the pnl); trade a STK, CASH or CRYPTO contract, or take FUT bars with "
        "broker.type paper"]
