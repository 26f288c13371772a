"""The Yahoo connection: yfinance pointed at the loopback Yahoo, its answers read into bars."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fakes.yahoo import FakeYahoo
from feeds.csv_bars import load_bars
from trading.core.errors import ConfigError
from trading.core.settings import DataConfig
from trading.core.types import Bar
from trading.venues.registry import VenueRequest, venues
from trading.venues.yahoo.chart import MalformedAnswer, UnknownSymbol, parse_chart
from trading.venues.yahoo.connection import RateLimited, Unreachable, YahooVenue, rewrite_url
from trading.venues.yahoo.intervals import max_history_bars, yahoo_interval

STOCK = Path(__file__).resolve().parents[1] / "fixtures" / "yahoo" / "XYZ-5m.csv"


def stock(count: int = 300) -> list[Bar]:
    bars = load_bars(STOCK)
    return [bars.bar(i) for i in range(count)]


@pytest.fixture
def fake():
    yahoo = FakeYahoo(stock(), symbol="XYZ", history=100).start()
    yield yahoo
    yahoo.stop()


def data(source: str = "yahoo", interval: str = "5m") -> DataConfig:
    return DataConfig(data_source=source, symbol="XYZ", interval=interval, lookback_bars=10,
                      retry_interval=1, file_path=None, speed=0)


@pytest.mark.parametrize("url, expected", [
    ("https://fc.yahoo.com", "http://127.0.0.1:9"),
    ("https://query1.finance.yahoo.com/v1/test/getcrumb", "http://127.0.0.1:9/v1/test/getcrumb"),
    ("https://query2.finance.yahoo.com/v8/finance/chart/AAPL?x=1",
     "http://127.0.0.1:9/v8/finance/chart/AAPL?x=1"),
    ("https://guce.yahoo.com/consent", "http://127.0.0.1:9/consent"),
    ("https://example.com/yahoo.com", "https://example.com/yahoo.com"),
])
def test_every_yahoo_host_goes_to_the_base_url(url, expected):
    assert rewrite_url(url, "http://127.0.0.1:9/") == expected
    assert rewrite_url(url, None) == url


def build_venue(env: dict[str, str]) -> YahooVenue:
    """The connection the yahoo venue's declaration builds for a bot with a simulated broker."""
    return venues().for_data_source("yahoo").connect(VenueRequest(
        broker=None, data=data(), settings=None, symbol="XYZ", env=env))


def test_the_venue_declaration_builds_a_yahoo_connection_from_the_environment():
    venue = build_venue(env={"YAHOO_BASE_URL": "http://127.0.0.1:9"})
    assert isinstance(venue, YahooVenue) and venue.describe() == "http://127.0.0.1:9"
    assert build_venue(env={}).describe() == "https://query2.finance.yahoo.com"
    with pytest.raises(ConfigError, match="YAHOO_BASE_URL must be an http"):
        build_venue(env={"YAHOO_BASE_URL": "127.0.0.1:9"})
    with pytest.raises(ConfigError, match="YAHOO_REQUEST_TIMEOUT must be a positive number"):
        build_venue(env={"YAHOO_REQUEST_TIMEOUT": "soon"})


@pytest.mark.parametrize("interval, base, name", [
    ("1m", "1m", "1m"), ("3m", "1m", "1m"), ("1h", "1h", "1h"), ("4h", "1h", "1h"),
    ("12h", "1h", "1h"), ("1d", "1d", "1d"), ("1w", "1w", "1wk")])
def test_config_intervals_map_to_yahoos(interval, base, name):
    yahoo = yahoo_interval(interval)
    assert (yahoo.base, yahoo.name, yahoo.resampled) == (base, name, base != interval)


def test_history_limits_in_bars_of_each_interval():
    assert max_history_bars("1m") == 7 * 1440
    assert max_history_bars("15m") == 59 * 96
    assert max_history_bars("2h") == 729 * 12
    assert max_history_bars("1d") is None and max_history_bars("1w") is None


def test_a_chart_through_yfinance_carries_cookie_and_crumb_and_leaves_the_forming_bar_out(fake):
    venue = YahooVenue(fake.url)
    chart = asyncio.run(venue.fetch_chart("XYZ", yahoo_interval("5m"), fake.market.bars[0].ts))
    assert chart.server_time == int(fake.now())  # Yahoo's clock, from the Date header
    assert chart.closed(chart.server_time) == fake.closed_bars  # the forming bar is left out
    assert len(chart.bars) == len(fake.closed_bars) + 1
    assert chart.timezone == "America/New_York" and chart.sessions
    (request,) = fake.chart_requests()  # with the crumb only the fake hands out
    assert request.crumb == "fAkEcRuMb.1" and request.cookie
    assert request.query["interval"] == "5m" and request.query["includePrePost"] == "false"


@pytest.mark.parametrize("kind, error, message", [
    ("rate_limit", RateLimited, "rate limiting requests (HTTP 429) for XYZ"),
    ("malformed", MalformedAnswer, "chart request for XYZ is not JSON"),
    ("outage", Unreachable, "Yahoo failed the chart request for XYZ (HTTP 503)"),
    ("refuse", Unreachable, "cannot reach Yahoo at http://127.0.0.1:"),
])
def test_each_failure_is_a_venue_error_saying_what_happened(fake, kind, error, message):
    venue = YahooVenue(fake.url, request_timeout=2)
    fake.inject(kind, 4)  # yfinance tries a second time on an HTTP error: both fail
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        asyncio.run(venue.fetch_chart("XYZ", yahoo_interval("5m"), fake.market.bars[0].ts))
    assert venue.status()["last_error"]


def test_a_symbol_yahoo_does_not_know_is_a_config_error_naming_it(fake):
    venue = YahooVenue(fake.url)
    with pytest.raises(UnknownSymbol, match="Yahoo does not know the symbol 'NOPE'") as caught:
        venue.check_symbol("NOPE", "5m")
    assert isinstance(caught.value, ConfigError)
    venue.check_symbol("XYZ", "5m")  # known: no error


def _daily_answer(times, current):
    return {"chart": {"result": [{
        "meta": {"exchangeTimezoneName": "America/New_York",
                 "currentTradingPeriod": {"regular": {"start": current[0], "end": current[1]}}},
        "timestamp": times,
        "indicators": {"quote": [{"open": [1.0, 2.0, None], "high": [1.5, 2.5, 3.5],
                                  "low": [0.5, 1.5, 2.5], "close": [1.2, 2.2, 3.2],
                                  "volume": [10, None, 30]}],
                       "adjclose": [{"adjclose": [9.0, 9.0, 9.0]}]}}], "error": None}}


def test_daily_bars_are_dated_by_the_exchange_day_and_close_with_its_session():
    # 2024-03-07 and 2024-03-08 (Thursday, Friday) at 09:30 New York = 14:30 UTC
    thursday, friday, saturday = 1709821800, 1709908200, 1709994600
    session = (friday, friday + 23400)  # Friday 09:30 to 16:00 New York
    chart = parse_chart("XYZ", _daily_answer([thursday, friday, saturday], session),
                        yahoo_interval("1d"))
    # the row with a hole (open None) is skipped; a missing volume is 0; closes are unadjusted
    assert chart.bars == [Bar(1709769600.0, 1.0, 1.5, 0.5, 1.2, 10.0),
                          Bar(1709856000.0, 2.0, 2.5, 1.5, 2.2, 0.0)]
    assert chart.closed(friday + 23399) == chart.bars[:1]  # Friday's bar forms until 16:00
    assert chart.closed(friday + 23400 + 2) == chart.bars  # (Yahoo's Date a moment after)


@pytest.mark.parametrize("body", [None, {}, {"chart": {"result": []}},
                                  {"chart": {"result": [{"meta": {}, "timestamp": [1, 2],
                                                         "indicators": {"quote": [{"open": [1]}]}}]}}])
def test_an_answer_that_is_not_a_chart_is_malformed(body):
    with pytest.raises(MalformedAnswer):
        parse_chart("XYZ", body, yahoo_interval("5m"))


def test_a_daily_bar_of_an_exchange_ahead_of_utc_is_dated_by_its_own_day():
    # Auckland opens at 10:00 NZDT: 21:00 UTC the day before (2024-03-07 21:00Z is March 8 there)
    answer = _daily_answer([1709845200, 1709931600, 1710018000], (1709931600, 1709953200))
    answer["chart"]["result"][0]["meta"]["exchangeTimezoneName"] = "Pacific/Auckland"
    chart = parse_chart("NZX", answer, yahoo_interval("1d"))
    assert [b.ts for b in chart.bars] == [1709856000.0, 1709942400.0]  # March 8 and 9, 00:00Z
