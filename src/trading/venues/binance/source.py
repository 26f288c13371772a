"""The ``binance`` data source: closed klines from Binance, REST history then the kline stream.

Warm-up is ``lookback_bars`` closed klines over REST (paged past 1,000), then the stream
``<symbol>@kline_<interval>``; only klines Binance marks closed (``k.x``) become bars. On any drop
(socket closed, no message for ``silence_seconds`` (two intervals by default), Binance's 24-hour
disconnect) the source reconnects with backoff capped at ``data.retry_interval`` seconds and
backfills the missed klines over REST before going live again: no gap, no duplicate, in order.
States: DELAYED (history) -> LIVE -> CONNBROKEN (drop) -> DELAYED (backfill) -> LIVE.

Market data is public: no keys are needed, so ``binance`` data with the ``paper`` broker is paper
trading on live prices.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from feeds.live import CONNBROKEN, DELAYED, LIVE, BarSink, SinkClosed
from feeds.venue_source import VenueBarSource
from trading.core.errors import VenueError
from trading.core.timeutil import iso_z
from trading.venues.binance.connection import BinanceVenue
from trading.venues.binance.klines import event_bar, fetch_closed_klines, interval_ms, row_bar

log = logging.getLogger(__name__)

SILENCE_ENV = "BINANCE_STREAM_TIMEOUT"  # seconds without a message before reconnecting


class BinanceKlineSource(VenueBarSource):
    """Closed klines of ``symbol`` at ``interval`` from ``venue`` (see the module docstring)."""

    def __init__(self, venue: BinanceVenue, symbol: str, interval: str, lookback_bars: int,
                 retry_interval: float, resume_after_ts: float | None = None,
                 silence_seconds: float | None = None) -> None:
        self.symbol = symbol.upper()
        self.interval = interval
        self.step_ms = interval_ms(interval)
        super().__init__(venue, key=f"klines {self.symbol} {interval}",
                         label=f"binance {self.symbol} {interval}", lookback_bars=lookback_bars,
                         retry_interval=retry_interval, resume_after_ts=resume_after_ts)
        env_silence = os.environ.get(SILENCE_ENV)
        self.silence_seconds = float(silence_seconds or env_silence or 2 * self.step_ms / 1000)
        self.reconnects = 0

    def describe(self) -> str:
        return (f"binance {self.symbol} {self.interval} klines ({self.lookback_bars} history, "
                f"{self.venue.endpoints.stream})")

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
            if self.last_ts is None:
                await self._warm_up(sink)
            else:  # started over after a failure: carry on after the last bar delivered
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
        rows = await fetch_closed_klines(self.venue, self.symbol, self.interval, start)
        await self.warm_up(sink, [row_bar(r) for r in rows])

    async def _stream(self, sink: BarSink, socket: Any) -> None:
        """Deliver closed klines from ``socket`` until it drops (raises ``_Dropped``)."""
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
            if message.get("e") == "error":
                raise _Dropped(f"{message.get('type')}: {message.get('m')}")
            kline = message.get("k")
            if message.get("e") != "kline" or not kline:
                continue
            if "E" in message:
                self.venue.observe_server_time(message["E"])
            if not kline.get("x"):
                continue  # the kline still forming never reaches the strategy
            bar = event_bar(kline)
            if self.last_ts is not None and bar.ts > self.last_ts + self.step_ms / 1000:
                await self._backfill(sink, before_ms=int(kline["t"]))
            await self.deliver(sink, bar)

    async def _backfill(self, sink: BarSink, before_ms: int | None = None) -> None:
        """Fetch and deliver the closed klines after the last bar delivered (up to ``before_ms``)."""
        if self.last_ts is None:
            return
        end = None if before_ms is None else before_ms - 1
        after_ms = int(round(self.last_ts * 1000)) + self.step_ms
        rows = await fetch_closed_klines(self.venue, self.symbol, self.interval, after_ms, end)
        if rows:
            log.info("%s: backfilled %d kline(s) %s to %s over REST", self.label, len(rows),
                     iso_z(rows[0][0] / 1000), iso_z(rows[-1][0] / 1000))
        for row in rows:
            await self.deliver(sink, row_bar(row))

    # -- the socket ----------------------------------------------------------------------------
    async def _open_socket(self) -> Any:
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
