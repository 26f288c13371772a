"""IB bars: ``reqHistoricalData`` kept up to date (``keepUpToDate=True``), closed bars only.

TWS answers a history request with every bar up to now, the last one still forming, then sends
that bar again each time it changes and, once the next bar starts, the new one. So a bar is
closed exactly when a later one arrives: the last bar of an answer is held back until then (over
a night or a weekend that is the next session's first bar), and a bar is never delivered while it
forms. Times come as epoch seconds (``formatDate=2``); daily bars as dates (midnight UTC).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Callable

from trading.core.errors import VenueError
from trading.core.types import Bar
from trading.venues.ibkr.connection import IbkrVenue

log = logging.getLogger(__name__)


def to_bar(data: Any) -> Bar:
    """An ib_async ``BarData`` as a ``Bar`` (open time in epoch seconds, UTC)."""
    when = data.date
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        ts = when.timestamp()
    elif isinstance(when, dt.date):
        ts = dt.datetime(when.year, when.month, when.day, tzinfo=dt.timezone.utc).timestamp()
    else:
        ts = float(when)
    return Bar(ts, float(data.open), float(data.high), float(data.low), float(data.close),
               max(0.0, float(data.volume)))


class BarSubscription:
    """One history request kept up to date; ``on_closed(bar)`` hears each bar once it closed.

    ``open()`` returns the closed bars of the answer; ``cancel()`` ends the subscription.
    ``contract``: whose bars (default the venue's traded contract; a basket's others from
    ``venue.contracts``)."""

    def __init__(self, venue: IbkrVenue, *, duration: str, bar_size: str, what_to_show: str,
                 on_closed: Callable[[Bar], None], timeout: float = 60.0,
                 contract: Any = None) -> None:
        self.venue = venue
        self.contract = contract
        self.duration = duration
        self.bar_size = bar_size
        self.what_to_show = what_to_show
        self.on_closed = on_closed
        self.timeout = timeout
        self._bars: Any = None
        self._early: list[tuple[Any, Bar]] | None = None  # bars closed before open() returned

    async def open(self) -> list[Bar]:
        venue = self.venue
        if (self.contract or venue.contract) is None:
            raise VenueError("the Interactive Brokers connection is not started")
        # updates read in the same chunk as the answer's end come before this coroutine resumes:
        # hear them from the start, and count them out of the answer
        self._early = []
        venue.ib.barUpdateEvent += self._on_update
        try:
            bars = await self._request()
        except BaseException:
            self._stop_listening()
            raise
        finally:
            early, self._early = self._early, None
        self._bars = bars
        closed_early = [bar for of, bar in early if of is bars]
        answer = list(bars)[:len(bars) - len(closed_early)]
        for bar in closed_early:
            self.on_closed(bar)
        return [to_bar(b) for b in answer[:-1]]

    async def _request(self) -> Any:
        venue = self.venue
        try:
            return await asyncio.wait_for(venue.ib.reqHistoricalDataAsync(
                self.contract or venue.contract, "", self.duration, self.bar_size, self.what_to_show,
                useRTH=False, formatDate=2, keepUpToDate=True, timeout=0), self.timeout)
        except asyncio.TimeoutError:
            raise VenueError(f"TWS sent no history within {self.timeout:g}s") from None
        except ConnectionError as exc:
            raise VenueError(f"the connection dropped while loading history ({exc})") from exc
        except VenueError:
            raise
        except Exception as exc:  # ib_async's RequestError carries IB's code and message
            message = getattr(exc, "message", None) or str(exc)
            code = getattr(exc, "code", "")
            raise VenueError(f"IB refused the history request: {message}"
                             + (f" (code {code})" if code else "")) from exc

    def _on_update(self, bars: Any, has_new_bar: bool) -> None:
        if not has_new_bar or len(bars) < 2:
            return
        if self._early is not None:
            self._early.append((bars, to_bar(bars[-2])))
        elif bars is self._bars:
            self.on_closed(to_bar(bars[-2]))

    def _stop_listening(self) -> None:
        self.venue.ib.barUpdateEvent -= self._on_update

    def cancel(self) -> None:
        self._stop_listening()
        bars, self._bars = self._bars, None
        if bars is None:
            return
        if self.venue.connected:
            try:
                self.venue.ib.cancelHistoricalData(bars)
            except Exception as exc:  # the socket may be closing under us
                log.debug("cancelling the history subscription: %s", exc)
