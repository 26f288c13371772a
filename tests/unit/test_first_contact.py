"""A source that never got through since the start is given up after data.connect_timeout_seconds;
one that has delivered keeps running (and retrying) as long as it likes."""
from __future__ import annotations

import asyncio

import pytest

from feeds.first_contact import NeverConnected, run_source
from feeds.live import LIVE, BarSink
from trading.core.types import Bar

BAR = Bar(ts=1_700_000_000.0, open=1.0, high=1.0, low=1.0, close=1.0, volume=1.0)


class Source:
    """Fails for ever (``last_problem``) or delivers first, then runs until ``done`` is set."""

    reaches_network = True
    label = "fake BTCUSDT 1m"

    def __init__(self, first: str | None) -> None:
        self.first = first
        self.last_problem = "Connect call failed ('127.0.0.1', 9)"
        self.done = asyncio.Event()
        self.cancelled = False

    async def run(self, sink: BarSink) -> None:
        try:
            if self.first == "bar":
                await sink.put_bar(BAR, history=True, last_history=True)
            elif self.first == "live":
                await sink.put_status(LIVE)
            await self.done.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def test_a_source_that_never_gets_through_is_given_up_with_its_last_problem():
    source = Source(first=None)

    async def main():
        await run_source(source, BarSink(), 0.2, setting="--timeout")

    with pytest.raises(NeverConnected) as caught:
        asyncio.run(main())
    assert str(caught.value).startswith("fake BTCUSDT 1m: no bar and no live connection in the "
                                        "0.2s since the start (--timeout); the last problem: "
                                        "Connect call failed ('127.0.0.1', 9).")
    assert source.cancelled


@pytest.mark.parametrize("first", ["bar", "live"])
def test_a_source_that_got_through_runs_on_past_the_timeout(first):
    source = Source(first=first)

    async def main():
        running = asyncio.ensure_future(run_source(source, BarSink(), 0.1))
        await asyncio.sleep(0.4)  # well past the timeout: still running
        assert not running.done()
        source.done.set()
        await running

    asyncio.run(main())
    assert not source.cancelled


def test_a_source_without_a_network_or_a_zero_timeout_is_not_bounded():
    for reaches_network, timeout in ((False, 0.1), (True, 0)):
        source = Source(first=None)
        source.reaches_network = reaches_network

        async def main():
            running = asyncio.ensure_future(run_source(source, BarSink(), timeout))
            await asyncio.sleep(0.3)
            assert not running.done()
            source.done.set()
            await running

        asyncio.run(main())
