"""``YahooVenue``: the bot's connection to Yahoo Finance's chart API, through yfinance.

yfinance has no base-URL setting: its requests go through a session, and ours (a curl_cffi
``Session`` subclass) rewrites every ``https://*.yahoo.com/...`` URL to ``base_url`` when one is
given (``YAHOO_BASE_URL``: tests, proxies). yfinance's own cookie and crumb handshake runs as it
does against Yahoo; its caches go to a private folder, never the user's home.

yfinance is blocking: ``fetch_chart`` runs it in a worker thread (``asyncio.to_thread``), so the
I/O loop stays free and the Cerebro thread never waits on the network. yfinance keeps one
process-wide session (``YfData`` is a singleton), so requests are serialised by a lock.

A basket is polled with ``fetch_charts``: every symbol's chart in one worker-thread hop, one
after the other on yfinance's session. Yahoo's chart API answers one symbol a request, and so
does yfinance: its multi-ticker ``download()`` sends one chart request per ticker too (from a
thread pool), then drops what the bot needs (the sessions, the server's clock) in building its
table; the spark endpoint that takes several symbols carries closes only.

The clock is Yahoo's: each answer's ``Date`` header keeps ``now()`` in step with the server, as
Binance's server time does for that venue (a local clock that is off never delivers a forming
bar).
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import re
import tempfile
import threading
import time
from email.utils import parsedate_to_datetime
from typing import Any, Sequence

from trading.core.errors import VenueError
from trading.core.timeutil import iso_z
from trading.venues.yahoo.chart import Chart, MalformedAnswer, UnknownSymbol, chart_error, \
    parse_chart
from trading.venues.yahoo.intervals import YahooInterval, yahoo_interval

log = logging.getLogger(__name__)
# yfinance logs its own retries (a crumb refused, a cookie not fetched) as warnings; this module
# says what a failure means for the bot, so yfinance's lines are shown only when debugging
_LIBRARY_LOG = logging.getLogger("yfinance")

CHART_URL = "https://query2.finance.yahoo.com/v8/finance/chart/{symbol}"
_YAHOO_URL = re.compile(r"^https?://(?:[A-Za-z0-9-]+\.)*yahoo\.com(?::\d+)?", re.IGNORECASE)
OPEN_END_SECONDS = 7 * 86400
_LOCK = threading.Lock()  # yfinance's one shared session: one request at a time
_CACHE_READY: list[str] = []


class RateLimited(VenueError):
    """Yahoo answered 429 (too many requests): wait and try again."""


class Unreachable(VenueError):
    """Yahoo could not be reached or failed (refused, timed out, HTTP 5xx)."""


def rewrite_url(url: str, base_url: str | None) -> str:
    """``url`` with its ``https://*.yahoo.com`` part replaced by ``base_url`` (when given)."""
    if not base_url:
        return url
    return _YAHOO_URL.sub(base_url.rstrip("/"), url, count=1)


def _session(base_url: str | None) -> Any:
    from curl_cffi import requests as curl_requests

    class RedirectingSession(curl_requests.Session):
        """A curl_cffi session that sends Yahoo's URLs to ``base_url``."""

        def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
            return super().request(method, rewrite_url(url, base_url), *args, **kwargs)

    return RedirectingSession(impersonate="chrome") if not base_url else RedirectingSession()


def _private_cache() -> None:
    """yfinance's sqlite caches (time zones, cookies) in a folder of ours, once per process."""
    if _CACHE_READY:
        return
    import yfinance as yf

    folder = os.path.join(tempfile.gettempdir(), f"tradingbot-yfinance-{os.getuid()}")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    yf.set_tz_cache_location(folder)  # every yfinance cache (its name is historical)
    _CACHE_READY.append(folder)


class YahooVenue:
    """One Yahoo connection: a yfinance session, the server clock, counters for the status.

    ``base_url`` (``YAHOO_BASE_URL``) replaces every Yahoo host; ``max_wait`` is the longest a
    feed sleeps between two polls (it re-reads the server clock at least that often).
    """

    def __init__(self, base_url: str | None = None, *, request_timeout: float = 10.0,
                 max_wait: float = 600.0,
                 check: tuple[str | Sequence[str], str] | None = None) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        # (symbol or a basket's symbols, interval) to look up once, when the bot starts
        self._check = check
        self.request_timeout = request_timeout
        self.max_wait = max_wait
        self._session: Any = None
        self._offset = 0.0  # server clock minus local clock, seconds
        self.last_error = ""
        self.stream_states: dict[str, str] = {}
        self.counters = {"requests": 0, "rate_limited": 0, "failed": 0, "malformed": 0}
        _LIBRARY_LOG.setLevel(logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.ERROR)

    # -- lifecycle (the calls every venue connection answers) ----------------------------------
    def bind(self, submit: Any) -> None:
        """Nothing to bind: requests run in worker threads of whichever loop awaits them."""

    async def start(self) -> None:
        """Prepare the session; the first time, check that Yahoo knows the bot's symbol
        (UnknownSymbol stops the start; Yahoo unreachable is only logged: the feed retries)."""
        self._open()
        check, self._check = self._check, None
        if check is not None:
            symbols, interval = check
            for symbol in (symbols,) if isinstance(symbols, str) else symbols:
                await asyncio.to_thread(self.check_symbol, symbol, interval)

    def _open(self) -> None:
        if self._session is None:
            _private_cache()
            self._session = _session(self.base_url)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                session.close()
            except Exception as exc:  # closing is best effort
                log.debug("closing the Yahoo session: %s", exc)

    def describe(self) -> str:
        return self.base_url or "https://query2.finance.yahoo.com"

    def now(self) -> float:
        """Epoch seconds by Yahoo's clock (the local clock until the first answer)."""
        return time.time() + self._offset

    def status(self) -> dict[str, Any]:
        return {"venue": "yahoo", "url": self.describe(), "streams": dict(self.stream_states),
                "last_error": self.last_error or None, "counters": dict(self.counters),
                "server_time": iso_z(self.now())}

    # -- requests ----------------------------------------------------------------------------
    async def fetch_chart(self, symbol: str, interval: YahooInterval, start: float,
                          end: float | None = None) -> Chart:
        """Bars of ``interval.base`` from ``start`` to ``end`` (or now), unadjusted.

        Raises UnknownSymbol, RateLimited, Unreachable, MalformedAnswer (all VenueError)."""
        await self.start()
        # open-ended: well past now, so a clock of ours that lags Yahoo's cuts no row off
        stop = end if end is not None else self.now() + OPEN_END_SECONDS
        window = {"period1": int(start), "period2": int(stop) + 1}
        return await asyncio.to_thread(self._fetch, symbol, interval, window)

    async def fetch_charts(self, requests: Sequence[tuple[str, float | None, float | None]],
                           interval: YahooInterval) -> list[Chart]:
        """A basket's poll: the chart of each ``(symbol, start, end)`` (``start`` None: a probe
        of the last few days, as ``probe``), in one worker thread, in order. The first failure
        is raised (the caller asks for all again)."""
        await self.start()
        now = self.now()

        def fetch_all() -> list[Chart]:
            charts = []
            for symbol, start, end in requests:
                if start is None:
                    window = _probe_range(interval)
                else:
                    stop = end if end is not None else now + OPEN_END_SECONDS
                    window = {"period1": int(start), "period2": int(stop) + 1}
                charts.append(self._fetch(symbol, interval, window))
            return charts
        return await asyncio.to_thread(fetch_all)

    async def probe(self, symbol: str, interval: YahooInterval) -> Chart:
        """The last few days' bars, by Yahoo's own idea of now: checks the symbol and sets the
        clock before any request that needs it."""
        await self.start()
        return await asyncio.to_thread(self._fetch, symbol, interval, _probe_range(interval))

    def check_symbol(self, symbol: str, interval: str) -> None:
        """At start-up, before anything else (blocking): UnknownSymbol when Yahoo does not know
        ``symbol``. Yahoo unreachable or failing is only logged: the feed retries on its own."""
        self._open()
        try:
            yahoo = yahoo_interval(interval)
            self._fetch(symbol, yahoo, _probe_range(yahoo))
        except UnknownSymbol:
            raise
        except VenueError as exc:
            log.warning("could not check the symbol %s at Yahoo yet (%s); the feed will keep "
                        "trying", symbol, exc)

    def _fetch(self, symbol: str, interval: YahooInterval, window: dict[str, Any]) -> Chart:
        from yfinance.data import YfData
        from yfinance.exceptions import YFRateLimitError

        params = {**window, "interval": interval.name, "includePrePost": False,
                  "events": "div,splits"}
        self.counters["requests"] += 1
        try:
            with _LOCK:
                data = YfData(session=self._session)
                response = data.get(CHART_URL.format(symbol=symbol), params=params,
                                    timeout=self.request_timeout)
        except YFRateLimitError:
            self.counters["rate_limited"] += 1
            raise self._failed(RateLimited(f"Yahoo is rate limiting requests (HTTP 429) for "
                                           f"{symbol}")) from None
        except Exception as exc:  # curl_cffi: refused, timed out, reset ...
            self.counters["failed"] += 1
            raise self._failed(Unreachable(f"cannot reach Yahoo at {self.describe()}: "
                                           f"{_short(exc)}")) from None
        server_time = self._observe_clock(response)
        status = int(response.status_code)
        if status == 429:
            self.counters["rate_limited"] += 1
            raise self._failed(RateLimited(f"Yahoo is rate limiting requests (HTTP 429) for "
                                           f"{symbol}"))
        if status >= 500:
            self.counters["failed"] += 1
            raise self._failed(Unreachable(f"Yahoo failed the chart request for {symbol} "
                                           f"(HTTP {status})"))
        try:
            body = response.json()
        except Exception:
            body = None
        if body is None and status < 400:
            self.counters["malformed"] += 1
            raise self._failed(MalformedAnswer(f"Yahoo's answer to the chart request for {symbol} "
                                               "is not JSON (cut short or an error page)"))
        error = chart_error(symbol, status, body)
        if error is not None:
            raise self._failed(error)
        try:
            chart = parse_chart(symbol, body, interval)
        except MalformedAnswer as exc:
            self.counters["malformed"] += 1
            raise self._failed(exc) from None
        self.last_error = ""
        return dataclasses.replace(chart, server_time=server_time)

    def _failed(self, error: VenueError) -> VenueError:
        self.last_error = str(error)
        return error

    def _observe_clock(self, response: Any) -> float:
        """Yahoo's time of this answer (whole seconds, never ahead of Yahoo's clock)."""
        text = response.headers.get("date") if response.headers is not None else None
        try:
            server = parsedate_to_datetime(text).timestamp() if text else None
        except (TypeError, ValueError):
            server = None
        if server is None:
            return self.now()
        # the header has whole seconds: keep the local clock within that second of the server's
        local = time.time()
        if not server <= local + self._offset < server + 1:
            self._offset = server + 0.5 - local
        return server


def _probe_range(interval: YahooInterval) -> dict[str, str]:
    """A short range back from Yahoo's now that holds a bar of ``interval`` (weekends too)."""
    return {"range": "5d" if interval.intraday else "3mo"}


def _short(exc: Exception) -> str:
    """The first sentence of a client library's error (curl appends a link to its manual)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.split(". See https://")[0][:200]


__all__ = ["YahooVenue", "RateLimited", "Unreachable", "UnknownSymbol", "MalformedAnswer",
           "rewrite_url"]
