"""The template venue's bars: a ``VenueBarSource`` (feeds.venue_source) delivers each closed
bar once, in order, with the warm-up split after a restart and the data states; a venue's
source only says how bars arrive (here: the file's bars, one after the other)."""
from __future__ import annotations

import asyncio

from feeds.live import DELAYED, LIVE, BarSink
from feeds.venue_source import VenueBarSource

from .connection import TemplateVenue


class TemplateBarSource(VenueBarSource):
    """History first, then each later bar of the market as it "closes"."""

    def __init__(self, venue: TemplateVenue, lookback_bars: int, retry_interval: float) -> None:
        super().__init__(venue, key=f"bars {venue.symbol}", label=f"template {venue.symbol}",
                         lookback_bars=lookback_bars, retry_interval=retry_interval)

    async def stream(self, sink: BarSink) -> None:
        venue = self.venue
        await venue.start()
        await self.set_state(sink, DELAYED)
        await self.warm_up(sink, venue.bars[:venue.history])  # what had closed at start
        await self.set_state(sink, LIVE)
        for bar in venue.bars[venue.history:]:
            venue.price = bar.close  # the market moves ...
            await self.deliver(sink, bar)  # ... and the bar closes
            await asyncio.sleep(0)
        await sink.end()
