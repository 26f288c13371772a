"""What the owner reads of a basket bot on the phone and in the log: Telegram answers, the bot's
own news (start, stop, data state), event titles and the daily summary. A basket of 3 symbols
with 2 positions open names every position with its symbol; a one-symbol bot reads as before."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from notify.commands import CommandRouter, format_pnl
from notify.messages import format_event
from notify.notifier import Notifier
from trading.core.events import DailySummaryEvent, ErrorEvent, StatusEvent, TradeOpened
from trading.core.settings import DataConfig
from trading.risk import PauseSwitch
from trading.runtime.control import BotControl
from trading.runtime.daily_summary import DailySummary
from trading.runtime.notifications import data_message, start_message, stop_message

AT = datetime(2018, 1, 27, 20, 0, tzinfo=timezone.utc)
BASKET = ["ETCBTC", "XLMBTC", "ZECBTC"]
XLM = {"symbol": "XLMBTC", "size": 5147175.5, "entry_price": 5.563e-05,
       "entry_time": "2018-01-27T01:05:00Z", "bars_held": 227, "last_price": 5.424e-05,
       "unrealized_pnl": -7.15457388}
ZEC = {"symbol": "ZECBTC", "size": 7219.6448, "entry_price": 0.04014291,
       "entry_time": "2018-01-27T14:45:00Z", "bars_held": 63, "last_price": 0.0397616,
       "unrealized_pnl": -2.7529228}
ETH = {"symbol": "ETHBTC", "size": 2.0, "entry_price": 0.05, "entry_time": "2018-01-11T05:00:00Z",
       "bars_held": 3, "last_price": 0.05, "unrealized_pnl": 0.01}


def status(symbols: list[str], positions: list[dict], state: str = "running") -> dict[str, Any]:
    """A status document as ``LiveTradingBot.get_status`` builds it."""
    return {"bot_id": "0007" if len(symbols) > 1 else "0001", "symbol": symbols[0],
            "symbols": symbols, "state": state, "data_status": "LIVE",
            "last_bar_time": "2018-01-27T19:55:00Z", "value": 940.19, "cash": 88.6,
            "position": positions[0] if positions else None, "positions": positions,
            "entries_today": 3, "pnl_today": -14.26, "drawdown_pct": 7.79, "kill_switch": False,
            "paused": False}


class NoTrades:
    """The store as the control facade reads it: no closed trades."""

    def trades(self, bot_id: str) -> list[dict]:
        return []


def control(doc: dict[str, Any]) -> BotControl:
    return BotControl(bot_id=doc["bot_id"], get_status=lambda: doc, store=NoTrades(),
                      pause_switch=PauseSwitch(), stop=lambda: None)


def data_config(symbols: list[str]) -> DataConfig:
    return DataConfig(data_source="file", symbol=symbols[0], symbols=tuple(symbols),
                      interval="5m", lookback_bars=100, retry_interval=60.0, file_path=None,
                      speed=0.0)


def test_status_of_a_basket_lists_every_open_position_with_its_symbol():
    router = CommandRouter(control(status(BASKET, [XLM, ZEC])))
    lines = router.handle("/status").text.splitlines()
    assert lines[0] == "[0007 ETCBTC, XLMBTC, ZECBTC] running, data LIVE"
    assert lines[3:6] == ["positions: 2 open",
                          "XLMBTC 5147175.5 @ 5.563e-05, unrealized -7.1545739",
                          "ZECBTC 7219.6448 @ 0.04014291, unrealized -2.7529228"]
    flat = CommandRouter(control(status(BASKET, []))).handle("/status").text
    assert "positions: flat" in flat


def test_status_of_a_one_symbol_bot_reads_as_before():
    text = CommandRouter(control(status(["ETHBTC"], [ETH]))).handle("/status").text
    assert text.splitlines()[0] == "[0001 ETHBTC] running, data LIVE"
    assert "position 2 @ 0.05, unrealized +0.01" in text and "positions:" not in text


def test_positions_come_from_the_status_list_every_one_with_its_symbol():
    basket = control(status(BASKET, [XLM, ZEC]))
    assert [p["symbol"] for p in basket.positions()] == ["XLMBTC", "ZECBTC"]
    text = CommandRouter(basket).handle("/positions").text.splitlines()
    assert [line.split()[0] for line in text] == ["XLMBTC", "ZECBTC"]
    assert "(227 bars), unrealized -7.1545739" in text[0]
    assert control(status(["ETHBTC"], [ETH])).positions() == [ETH]
    assert CommandRouter(control(status(BASKET, []))).handle("/positions").text == \
        "No open position."


def test_pnl_of_a_basket_sums_the_unrealized_and_lists_each_position():
    pnl = control(status(BASKET, [XLM, ZEC])).pnl("day")
    assert round(pnl["unrealized_pnl"], 8) == round(-7.15457388 - 2.7529228, 8)
    lines = format_pnl(pnl).splitlines()
    assert lines[2] == "unrealized -9.9074967 | value 940.19"
    assert lines[3:] == ["open XLMBTC 5147175.5 @ 5.563e-05, unrealized -7.1545739",
                         "open ZECBTC 7219.6448 @ 0.04014291, unrealized -2.7529228"]
    one = format_pnl(control(status(["ETHBTC"], [ETH])).pnl("day")).splitlines()
    assert one[2:] == ["unrealized +0.01 | value 940.19"]  # as before: its one position


def test_help_and_stop_speak_of_positions():
    router = CommandRouter(control(status(BASKET, [])))
    help_text = router.handle("/help").text
    assert "/positions - every open position" in help_text and "the open position" not in help_text
    assert "open positions, if any, are kept" in router.handle("/stop").text


def test_the_start_message_names_the_basket_short_and_a_one_symbol_bot_as_before():
    assert start_message(data_config(["ETHBTC"]), "paper", False) == \
        "started: ETHBTC 5m from file, broker paper"
    five = ["ETCBTC", "XLMBTC", "TRXBTC", "ZECBTC", "DASHBTC"]
    assert start_message(data_config(five), "paper", False) == (
        "started: 5 symbols (ETCBTC, XLMBTC, TRXBTC, ZECBTC, DASHBTC) 5m from file, broker paper")
    long = start_message(data_config([f"S{i:02d}BTC" for i in range(20)]), "paper", True)
    assert long.startswith("started: 20 symbols (S00BTC, S01BTC, S02BTC, S03BTC, S04BTC +15) ")
    assert long.endswith("(entries PAUSED: /resume to trade)")


def test_the_stop_message_lists_every_position_still_open():
    assert stop_message(status(BASKET, [XLM, ZEC], "stopped"), BASKET).splitlines() == [
        "stopped: value 940.19, 2 positions still open, last bar 2018-01-27T19:55:00Z",
        "XLMBTC 5147175.5 @ 5.563e-05, unrealized -7.1545739",
        "ZECBTC 7219.6448 @ 0.04014291, unrealized -2.7529228"]
    assert stop_message(status(BASKET, [], "error"), BASKET) == \
        "stopped by an error: value 940.19, flat, last bar 2018-01-27T19:55:00Z"
    assert stop_message(status(["ETHBTC"], [ETH], "stopped"), ["ETHBTC"]) == (
        "stopped: value 940.19, position 2 @ 0.05 still open, last bar 2018-01-27T19:55:00Z")


def test_the_data_state_message_of_a_basket_names_the_basket():
    assert data_message(data_config(["ETHBTC"]), "LIVE", "DELAYED") == \
        "data 5m from file: LIVE (was DELAYED)"
    assert data_message(data_config(BASKET), "REPLAY", None) == \
        "data 3 symbols (ETCBTC, XLMBTC, ZECBTC) 5m from file: REPLAY"


def test_titles_name_the_trade_s_symbol_else_the_basket():
    entry = format_event(TradeOpened(time=AT, symbol="XLMBTC", size=5147175.5,
                                     entry_price=5.563e-05, fee=0.29, entry_mixin="RSI"),
                         "0007", "ETCBTC", BASKET)
    assert entry.title == "[0007 XLMBTC] ENTRY buy 5147175.5 @ 5.563e-05"
    assert entry.payload["symbol"] == "XLMBTC" and entry.payload["symbols"] == BASKET
    started = format_event(StatusEvent(time=AT, change="started", message="started: ..."),
                           "0007", "ETCBTC", BASKET)
    assert started.title == "[0007 ETCBTC, XLMBTC, ZECBTC] started"
    assert started.payload["symbol"] is None and started.payload["symbols"] == BASKET
    error = format_event(ErrorEvent(time=AT, message="boom"), "0007", "ETCBTC",
                         ["ETCBTC", "XLMBTC", "TRXBTC", "ZECBTC", "DASHBTC"])
    assert error.title == "[0007 ETCBTC +4] ERROR"
    one = format_event(StatusEvent(time=AT, change="started"), "0001", "ETHBTC")
    assert one.title == "[0001 ETHBTC] started" and one.payload["symbol"] == "ETHBTC"
    assert "symbols" not in one.payload


def test_the_notifier_logs_a_basket_s_news_under_the_basket(caplog):
    notifier = Notifier([], bot_id="0007", symbol="ETCBTC", symbols=BASKET)
    with caplog.at_level(logging.INFO, logger="notify.notifier"):
        notifier.publish(StatusEvent(time=AT, change="paused", message="paused by telegram"))
    assert "[0007 ETCBTC, XLMBTC, ZECBTC] paused | paused by telegram" in caplog.text


def test_the_daily_summary_lists_every_open_position_with_its_symbol():
    class Store(NoTrades):
        def events(self, bot_id: str, kind: str) -> list[dict]:
            return []

    daily = DailySummary(bot_id="0007", store=Store(), seconds_of_day=0,
                         get_status=lambda: status(BASKET, [XLM, ZEC]), publish=lambda e: None,
                         clock=lambda: AT)
    event = daily.summary(AT.replace(hour=0))
    assert [p["symbol"] for p in event.positions] == ["XLMBTC", "ZECBTC"]
    message = format_event(event, "0007", "ETCBTC", BASKET)
    assert message.title == "[0007 ETCBTC, XLMBTC, ZECBTC] daily summary 2018-01-26"
    assert message.body.splitlines()[-2:] == [
        "open XLMBTC 5147175.5 @ 5.563e-05, unrealized -7.1545739",
        "open ZECBTC 7219.6448 @ 0.04014291, unrealized -2.7529228"]
    assert message.payload["positions"][1]["symbol"] == "ZECBTC"
    flat = format_event(DailySummaryEvent(day="2018-01-26", trades=0, pnl=0.0, equity=1000.0),
                        "0001", "ETHBTC")
    assert not any(line.startswith("open ") for line in flat.body.splitlines())
