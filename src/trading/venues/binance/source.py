"""The ``binance`` data source: closed klines from Binance, REST history then the kline stream.

Warm-up is ``lookback_bars`` closed klines over REST (paged past 1,000), then the stream
``<symbol>@kline_<interval>``; only klines Binance marks closed (``k.x``) become bars. On any drop
(socket closed, no message for ``silence_seconds`` (two intervals by default), Binance's 24-hour
disconnect) the source reconnects with backoff capped at ``data.retry_interval`` seconds and
backfills the missed klines over REST before going live again: no gap, no duplicate, in order.
States: DELAYED (history) -> LIVE -> CONNBROKEN (drop) -> DELAYED (backfill) -> LIVE.

A basket (several symbols) takes every symbol's klines over ONE connection, Binance's combined
stream (``/stream?streams=a@kline_5m/b@kline_5m``, each event wrapped as ``{"stream", "data"}``);
warm-up and backfill are per symbol over REST, all fetched through one moment, so each time of
the backfill is marked complete for the basket's clock. A closed kline reaches the sink with no
more work than the one symbol's path plus a dict lookup for its symbol.

Market data is public: no keys are needed, so ``binance`` data with the ``paper`` broker is paper
trading on live prices.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any, Sequence

from feeds.live import CONNBROKEN, DELAYED, LIVE, BarSink, SinkClosed
from feeds.venue_source import VenueBarSource
from trading.core.errors import VenueError
from trading.core.timeutil import iso_z
from trading.venues.binance.connection import BinanceVenue
from trading.venues.binance.klines import Row, event_bar, fetch_closed_klines, interval_ms, \
    row_bar

log = logging.getLogger(__name__)

SILENCE_ENV = "BINANCE_STREAM_TIMEOUT"  # seconds without a message before reconnecting


class BinanceKlineSource(VenueBarSource):
    """Closed klines of ``symbols`` (one symbol, or a basket's in its order) at ``interval``
    from ``venue`` (see the module docstring)."""

    def __init__(self, venue: BinanceVenue, symbols: str | Sequence[str], interval: str,
                 lookback_bars: int, retry_interval: float,
                 resume_after_ts: float | None = None,
                 silence_seconds: float | None = None) -> None:
        names = tuple(s.upper() for s in ((symbols,) if isinstance(symbols, str) else symbols))
        if not names:
            raise ValueError("BinanceKlineSource needs at least one symbol")
        self.symbol = names[0]
        self.interval = interval
        self.step_ms = interval_ms(interval)
        self._index = {name: i for i, name in enumerate(names)}  # the stream's "s" -> symbol
        shown = ",".join(names)
        super().__init__(venue, key=f"klines {shown} {interval}",
                         label=f"binance {shown} {interval}", lookback_bars=lookback_bars,
                         retry_interval=retry_interval, resume_after_ts=resume_after_ts,
                         symbols=names)
        env_silence = os.environ.get(SILENCE_ENV)
        self.silence_seconds = float(silence_seconds or env_silence or 2 * self.step_ms / 1000)
        self.reconnects = 0

    def describe(self) -> str:
        what = "kline stream" if not self.basket else "combined kline stream"
        return (f"binance {','.join(self.symbols)} {self.interval} klines ({self.lookback_bars} "
                f"history, one {what}, {self.venue.endpoints.stream})")

    def symbol_label(self, symbol: int) -> str:
        return f"binance {self.symbols[symbol]} {self.interval}"

    # -- the run -------------------------------------------------------------------------------
    async def stream(self, sink: BarSink) -> None:
        """History, then live closed klines until cancelled or the feed stops taking bars.

        Binance unreachable (at start, or its REST API failing a backfill after the venue's own
        retries) is waited out: the source retries, capped at ``retry_interval``, forever; the
        bot bounds only the wait for the first bar (``feeds.first_contact``)."""
        attempt = 0
        while True:
            try:
                await self._run(sink)
                return
            except (SinkClosed, asyncio.CancelledError):
                raise
            except Exception as exc:  # VenueError, refused sockets, handshakes
                attempt += 1
                await self.backing_off(sink, attempt, exc)

    async def _run(self, sink: BarSink) -> None:
        await self.venue.start()
        await self.set_state(sink, DELAYED)
        socket = await self._open_socket()  # first: klines closing during warm-up wait in it
        try:
            if all(last is None for last in self.last_delivered):
                await self._warm_up(sink)
            else:  # started over after a failure: carry on after the last bars delivered
                await self._backfill(sink)
            await self.set_state(sink, LIVE)
            while True:
                try:
                    await self._stream(sink, socket)
                except _Dropped as drop:
                    log.warning("%s: stream dropped (%s); reconnecting", self.label, drop)
                await self.set_state(sink, CONNBROKEN)
                await self._close_socket(socket)
                socket = await self._reconnect()
                await self.set_state(sink, DELAYED)
                await self._backfill(sink)
                await self.set_state(sink, LIVE)
        finally:
            await self._close_socket(socket)

    async def _warm_up(self, sink: BarSink) -> None:
        now = await self.venue.server_time_ms()
        start = now - (self.lookback_bars + 1) * self.step_ms
        if self._resume_ts is not None:
            start = min(start, int(self._resume_ts * 1000) - self.lookback_bars * self.step_ms)
        through = now - self.step_ms  # the klines closed by now: one moment for every symbol
        rows = [await fetch_closed_klines(self.venue, symbol, self.interval, start, through)
                for symbol in self.symbols]
        await self.warm_up_basket(sink, [[row_bar(r) for r in one] for one in rows])

    async def _stream(self, sink: BarSink, socket: Any) -> None:
        """Deliver closed klines from ``socket`` until it drops (raises ``_Dropped``)."""
        index, last_delivered, step = self._index, self.last_delivered, self.step_ms / 1000
        while True:
            try:
                message = await asyncio.wait_for(socket.recv(), timeout=self.silence_seconds)
            except asyncio.TimeoutError:
                raise _Dropped(f"no message for {self.silence_seconds:g}s") from None
            except VenueError as exc:
                raise _Dropped(str(exc)) from exc
            except Exception as exc:  # python-binance: ReadLoopClosed and friends
                raise _Dropped(f"{type(exc).__name__}: {exc}") from exc
            if not isinstance(message, dict):
                continue
            event = message.get("data", message)  # a combined stream wraps each event
            if not isinstance(event, dict):
                continue
            if event.get("e") == "error":
                raise _Dropped(f"{event.get('type')}: {event.get('m')}")
            kline = event.get("k")
            if event.get("e") != "kline" or not kline:
                continue
            if "E" in event:
                self.venue.observe_server_time(event["E"])
            if not kline.get("x"):
                continue  # the kline still forming never reaches the strategy
            symbol = index.get(kline.get("s", self.symbol), 0 if not self.basket else None)
            if symbol is None:
                continue  # a stream the basket did not ask for
            bar = event_bar(kline)
            last = last_delivered[symbol]
            if last is not None and bar.ts > last + step:
                await self._fill_gap(sink, symbol, before_ms=int(kline["t"]))
            await self.deliver(sink, bar, symbol)

    async def _backfill(self, sink: BarSink) -> None:
        """Fetch and deliver every symbol's closed klines after its last bar delivered, all
        through one moment: each time is then complete for the basket."""
        known = [last for last in self.last_delivered if last is not None]
        if not known:
            return
        through = await self.venue.server_time_ms() - self.step_ms
        floor = int(round(min(known) * 1000))  # a symbol with no bar yet starts with the rest
        fetched: list[list[Row]] = []
        for i, symbol in enumerate(self.symbols):
            last = self.last_delivered[i]
            after = (int(round(last * 1000)) if last is not None else floor) + self.step_ms
            rows = await fetch_closed_klines(self.venue, symbol, self.interval, after, through)
            self._log_backfill(i, rows)
            fetched.append(rows)
        await self.deliver_steps(sink, [[row_bar(r) for r in rows] for rows in fetched])

    async def _fill_gap(self, sink: BarSink, symbol: int, before_ms: int) -> None:
        """The stream skipped klines of one symbol: fetch and deliver those before ``before_ms``."""
        last = self.last_delivered[symbol]
        assert last is not None
        rows = await fetch_closed_klines(self.venue, self.symbols[symbol], self.interval,
                                         int(round(last * 1000)) + self.step_ms, before_ms - 1)
        self._log_backfill(symbol, rows)
        for row in rows:
            await self.deliver(sink, row_bar(row), symbol)

    def _log_backfill(self, symbol: int, rows: list[Row]) -> None:
        if rows:
            log.info("%s: backfilled %d kline(s) %s to %s over REST", self.symbol_label(symbol),
                     len(rows), iso_z(rows[0][0] / 1000), iso_z(rows[-1][0] / 1000))

    # -- the socket ----------------------------------------------------------------------------
    async def _open_socket(self) -> Any:
        if self.basket:
            socket = self.venue.kline_streams_socket(self.symbols, self.interval)
        else:
            socket = self.venue.kline_socket(self.symbol, self.interval)
        await socket.__aenter__()
        return socket

    async def _close_socket(self, socket: Any) -> None:
        if socket is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(socket.__aexit__(None, None, None), timeout=5.0)

    async def _reconnect(self) -> Any:
        attempt = 0
        while True:
            await asyncio.sleep(self.retry_wait(attempt))
            attempt += 1
            try:
                socket = await self._open_socket()
            except Exception as exc:  # refused, DNS, handshake: keep trying, capped
                log.warning("%s: reconnect attempt %d failed (%s); next in at most %gs",
                            self.label, attempt, exc, self.retry_interval)
                continue
            self.reconnects += 1
            log.info("%s: reconnected after %d attempt(s)", self.label, attempt)
            return socket


class _Dropped(Exception):
    """The kline stream stopped delivering (closed, errored or silent)."""
