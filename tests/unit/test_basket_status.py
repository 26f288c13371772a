"""What ``tradingbot status`` and the status file say of a bot: a one-symbol bot as it always
was, a basket (3 symbols, 2 positions open) by its symbols and every open position."""
from __future__ import annotations

from trading.cli.status import position_rows, positions_table, row
from trading.core.basket_text import basket_label, basket_listing, open_symbols
from trading.runtime.status import BarStatus, reset_status, status_document

BASKET = ["ETCBTC", "XLMBTC", "ZECBTC"]
XLM = {"symbol": "XLMBTC", "size": 5147175.5, "entry_price": 5.563e-05,
       "entry_time": "2018-01-27T01:05:00Z", "bars_held": 227, "last_price": 5.424e-05,
       "unrealized_pnl": -7.15457388}
ZEC = {"symbol": "ZECBTC", "size": 7219.6448, "entry_price": 0.04014291,
       "entry_time": "2018-01-27T14:45:00Z", "bars_held": 63, "last_price": 0.0397616,
       "unrealized_pnl": -2.7529228}
ETH = {"symbol": "ETHBTC", "size": 2.0, "entry_price": 0.05, "entry_time": "2018-01-11T05:00:00Z",
       "bars_held": 3, "last_price": 0.051, "unrealized_pnl": 0.002}


def document(symbol: str, positions: list[dict], symbols: list[str] | None = None) -> dict:
    bar = BarStatus(last_bar_time="2018-01-27T19:55:00Z", bars_processed=10, cash=88.6,
                    value=940.19, position=positions[0] if positions else None,
                    positions=positions)
    return status_document(bot_id="0007", symbol=symbol, state="running", data_status="LIVE",
                           bar=bar, uptime_seconds=5.0, last_error="", heartbeat_seconds=60.0,
                           **({"symbols": symbols} if symbols is not None else {}))


def test_a_basket_is_named_by_its_symbols_when_short_and_by_its_first_and_a_count_when_long():
    assert basket_label(["ETHBTC"]) == "ETHBTC"
    assert basket_label(BASKET) == "ETCBTC, XLMBTC, ZECBTC"
    assert basket_label(["ETCBTC", "XLMBTC", "TRXBTC", "ZECBTC", "DASHBTC"]) == "ETCBTC +4"
    assert basket_listing(["ETHBTC"]) == "ETHBTC"
    assert (basket_listing(["ETCBTC", "XLMBTC", "TRXBTC", "ZECBTC", "DASHBTC"])
            == "5 symbols (ETCBTC, XLMBTC, TRXBTC, ZECBTC, DASHBTC)")
    assert basket_listing([f"S{i}" for i in range(12)]) == "12 symbols (S0, S1, S2, S3, S4 +7)"
    assert open_symbols([]) == "flat"
    assert open_symbols([XLM, ZEC]) == "2 open: XLMBTC, ZECBTC"
    assert open_symbols([XLM, ZEC, ETH, XLM, ZEC]) == "5 open: XLMBTC, ZECBTC, ETHBTC +2"


def test_the_status_document_lists_every_symbol_and_a_one_symbol_bot_its_one():
    one = document("ETHBTC", [ETH])
    assert one["symbol"] == "ETHBTC" and one["symbols"] == ["ETHBTC"]
    assert one["position"] == ETH and one["positions"] == [ETH]
    basket = document("ETCBTC", [XLM, ZEC], symbols=BASKET)
    assert basket["symbol"] == "ETCBTC" and basket["symbols"] == BASKET
    assert [p["symbol"] for p in basket["positions"]] == ["XLMBTC", "ZECBTC"]


def test_a_reset_status_carries_the_basket():
    assert reset_status("0001", "ETHBTC", "0001@x")["symbols"] == ["ETHBTC"]
    reset = reset_status("0007", "ETCBTC", "0007@x", symbols=BASKET)
    assert reset["symbol"] == "ETCBTC" and reset["symbols"] == BASKET and reset["positions"] == []


def test_a_one_symbol_bot_s_row_is_unchanged():
    cells = row(document("ETHBTC", [ETH]))
    assert cells[2] == "ETHBTC" and cells[6] == "2 @ 0.05"
    assert row(document("ETHBTC", []))[6] == "flat"
    # a status file written before ``symbols`` and ``positions`` existed reads the same
    old = {k: v for k, v in document("ETHBTC", [ETH]).items() if k not in ("symbols", "positions")}
    assert row(old)[2] == "ETHBTC" and row(old)[6] == "2 @ 0.05"


def test_a_basket_s_row_names_the_basket_and_which_symbols_hold_a_position():
    cells = row(document("ETCBTC", [XLM, ZEC], symbols=BASKET))
    assert cells[2] == "ETCBTC, XLMBTC, ZECBTC"
    assert cells[6] == "2 open: XLMBTC, ZECBTC"
    assert row(document("ETCBTC", [], symbols=BASKET))[6] == "flat"
    five = document("ETCBTC", [XLM], symbols=["ETCBTC", "XLMBTC", "TRXBTC", "ZECBTC", "DASHBTC"])
    assert row(five)[2] == "ETCBTC +4" and row(five)[6] == "1 open: XLMBTC"


def test_the_positions_table_lists_each_open_position_with_size_entry_bars_and_pnl():
    basket = document("ETCBTC", [XLM, ZEC], symbols=BASKET)
    assert position_rows(basket) == [
        ("0007", "XLMBTC", "5147175.5", "5.563e-05", "2018-01-27T01:05:00Z", "227", "5.424e-05",
         "-7.1546"),
        ("0007", "ZECBTC", "7219.6448", "0.04014291", "2018-01-27T14:45:00Z", "63", "0.0397616",
         "-2.7529")]
    shown = positions_table([basket, document("ETHBTC", [ETH])]).splitlines()
    assert shown[0] == "open positions:"
    assert shown[1].split()[:4] == ["bot", "symbol", "size", "entry"]
    assert [line.split()[1] for line in shown[2:]] == ["XLMBTC", "ZECBTC", "ETHBTC"]
    assert positions_table([document("ETHBTC", [])]) == "open positions: none"
