"""The Binance venue's own rules: endpoints and keys, symbol filters, and the REST error policy
(429, 418, 5xx, -1021, rejections) with the real python-binance client against the loopback fake."""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from pathlib import Path

from fakes.binance import FakeBinance, Fault
from feeds.csv_bars import load_bars

from trading.core.errors import ConfigError, OrderRejected, VenueError
from trading.core.settings import VenueEndpoints
from trading.venues.binance.connection import BinanceVenue
from trading.venues.binance.endpoints import (Credentials, load_credentials, resolve_endpoints,
                                              retry_cap)
from trading.venues.binance.filters import SymbolRules

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "ETHBTC-5m.csv"


# -- endpoints and keys --------------------------------------------------------------------------
def test_endpoints_default_to_binance_and_its_testnet():
    live = resolve_endpoints(VenueEndpoints(), testnet=False, env={})
    assert (live.rest, live.stream) == ("https://api.binance.com/api", "wss://stream.binance.com:9443/")
    test = resolve_endpoints(VenueEndpoints(), testnet=True, env={})
    assert test.rest == "https://testnet.binance.vision/api"
    assert test.ws_api == "wss://ws-api.testnet.binance.vision/ws-api/v3"


def test_the_environment_wins_over_the_config_which_wins_over_the_default():
    config = VenueEndpoints(rest="https://api.binance.us", stream="wss://stream.binance.us:9443")
    chosen = resolve_endpoints(config, testnet=False, env={"BINANCE_STREAM_URL": "ws://127.0.0.1:9/"})
    assert chosen.rest == "https://api.binance.us/api"  # /api added for python-binance
    assert chosen.stream == "ws://127.0.0.1:9/"
    assert chosen.ws_api == "wss://ws-api.binance.com:443/ws-api/v3"


def test_a_missing_key_names_the_variable_and_a_secret_never_shows():
    with pytest.raises(ConfigError) as err:
        load_credentials(testnet=True, env={"BINANCE_TESTNET_API_KEY": "k" * 10})
    assert "BINANCE_TESTNET_API_SECRET" in str(err.value)
    assert "BINANCE_TESTNET_API_KEY " not in str(err.value).split("is not set")[0]
    keys = load_credentials(testnet=False, env={"BINANCE_API_KEY": "abcdefghij",
                                                "BINANCE_API_SECRET": "very-secret-value"})
    assert "very-secret-value" not in repr(keys) and "abcdefghij" not in repr(keys)


def test_the_wait_between_tries_is_capped_by_binance_retry_cap():
    assert retry_cap({}) == 10.0
    assert retry_cap({"BINANCE_RETRY_CAP": "0.5"}) == 0.5
    with pytest.raises(ConfigError, match="environment variable BINANCE_RETRY_CAP must be a "
                                          "positive number of seconds, got '-1'"):
        retry_cap({"BINANCE_RETRY_CAP": "-1"})


# -- symbol filters ------------------------------------------------------------------------------
RULES = SymbolRules(symbol="ETHBTC", base="ETH", quote="BTC", step=Decimal("0.001"),
                    min_qty=Decimal("0.001"), max_qty=Decimal("1000"), tick=Decimal("0.000001"),
                    min_notional=Decimal("0.0001"))


def test_quantities_round_down_to_the_lot_step_and_prices_to_the_tick():
    assert RULES.quantity(1.0526315789) == Decimal("1.052")
    assert RULES.quantity(0.0009) == 0
    assert RULES.price(0.0951234567) == Decimal("0.095123")
    assert RULES.price(0.0951234567, up=True) == Decimal("0.095124")


def test_an_order_under_the_minimum_notional_is_refused_with_the_reason():
    with pytest.raises(OrderRejected, match="below Binance's minimum notional 0.0001 BTC"):
        RULES.check(Decimal("0.001"), 0.05)
    with pytest.raises(OrderRejected, match="LOT_SIZE"):
        RULES.check(Decimal("0"), 0.05)
    RULES.check(Decimal("0.002"), 0.05)  # 0.0001 BTC: allowed


def test_an_unknown_symbol_is_a_clear_error():
    with pytest.raises(VenueError, match="does not list the symbol DOGEETH"):
        SymbolRules.from_exchange_info({"symbols": []}, "DOGEETH")


# -- the REST error policy ------------------------------------------------------------------------
@pytest.fixture
def fake():
    bars = load_bars(SAMPLE)
    exchange = FakeBinance([bars.bar(i) for i in range(50)], history=20).start()
    yield exchange
    exchange.stop()


def venue_run(fake: FakeBinance, scenario) -> object:
    async def main():
        venue = BinanceVenue(resolve_endpoints(VenueEndpoints(**fake.urls), testnet=False, env={}),
                             Credentials(fake.api_key, fake.api_secret), max_attempts=4)
        try:
            await venue.start()
            return await scenario(venue)
        finally:
            await venue.close()
    return asyncio.run(main())


def account_calls(fake: FakeBinance) -> list[int]:
    return [r.answered for r in fake.requests if r.path == "/api/v3/account"]


def test_429_waits_retry_after_then_slows_down_and_succeeds(fake):
    fake.inject(Fault("status", path="/api/v3/account", status=429, retry_after=0.5))

    async def scenario(venue):
        started = time.monotonic()
        answer = await venue.request("account", venue.client.get_account)
        return answer, time.monotonic() - started, venue.status()

    answer, waited, status = venue_run(fake, scenario)
    assert answer["balances"] and account_calls(fake) == [429, 200]
    assert waited >= 0.5 and status["slowed_down"] and status["counters"]["rate_limited"] == 1


def test_418_sends_nothing_until_the_ban_ends(fake):
    fake.inject(Fault("status", path="/api/v3/account", status=418, retry_after=1))

    async def scenario(venue):
        await venue.request("account", venue.client.get_account)
        return venue.counters["banned"]

    assert venue_run(fake, scenario) == 1
    calls = [r for r in fake.requests if r.path == "/api/v3/account"]
    assert [r.answered for r in calls] == [418, 200] and calls[1].at - calls[0].at >= 1.0


def test_5xx_is_retried_with_backoff_and_gives_up_with_a_clear_error(fake):
    fake.inject(Fault("status", path="/api/v3/account", status=502, count=2))

    async def recovered(venue):
        return await venue.request("account", venue.client.get_account)

    assert venue_run(fake, recovered)["balances"]
    assert account_calls(fake) == [502, 502, 200]
    fake.inject(Fault("status", path="/api/v3/account", status=503, count=10))

    async def gives_up(venue):
        with pytest.raises(VenueError, match="did not answer account after 4 attempts"):
            await venue.request("account", venue.client.get_account)
        return True

    assert venue_run(fake, gives_up)


def test_minus_1021_resyncs_the_clock_and_retries(fake):
    fake.inject(Fault("clock", path="/api/v3/account"))

    async def scenario(venue):
        venue.client.timestamp_offset -= 60_000  # a clock a minute late
        await venue.request("account", venue.client.get_account)
        return venue.counters["clock_resyncs"]

    assert venue_run(fake, scenario) == 1
    assert account_calls(fake) == [400, 200]


def test_a_rejected_order_carries_binances_message(fake):
    async def scenario(venue):
        with pytest.raises(OrderRejected, match="insufficient balance.*-2010"):
            await venue.request("order x", venue.client.create_order, symbol="ETHBTC",
                                side="SELL", type="MARKET", quantity="5", newClientOrderId="x")
        return True

    assert venue_run(fake, scenario)


def test_a_wrong_secret_is_refused_by_the_signature_check(fake):
    async def main():
        venue = BinanceVenue(resolve_endpoints(VenueEndpoints(**fake.urls), testnet=False, env={}),
                             Credentials(fake.api_key, "not-the-secret"))
        try:
            await venue.start()
            with pytest.raises(VenueError, match="Signature for this request is not valid"):
                await venue.request("account", venue.client.get_account)
        finally:
            await venue.close()
    asyncio.run(main())
