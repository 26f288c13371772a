"""``FakeYahoo``: Yahoo's cookie, crumb and chart endpoints on 127.0.0.1, with faults on request.

Paths (every Yahoo host maps onto this one server through ``YAHOO_BASE_URL``):

- ``/`` (fc.yahoo.com): sets the ``A3`` cookie; ``/consent`` (guce.yahoo.com): a page without a
  consent form, so yfinance's second cookie strategy gives up and falls back to the first;
- ``/v1/test/getcrumb``: the crumb, as text;
- ``/v8/finance/chart/{symbol}``: bars of ``period1`` to ``period2`` with the meta data yfinance
  and the bot read (``exchangeTimezoneName``, ``instrumentType``, ``currency``, ``validRanges``,
  ``currentTradingPeriod``, ``tradingPeriods`` for intraday intervals); the ``Date`` header is the
  market's clock. A symbol other than the market's (and a basket's others) is Yahoo's 404
  "Not Found".

A basket: ``more_markets`` lists further symbols (symbol -> ``Listing``: bars, time zone, whether
it trades around the clock), each served on the first market's clock with its own sessions.

``inject(kind, count)`` makes the next ``count`` chart requests fail: ``rate_limit`` (429, Yahoo's
text body), ``malformed`` (200 with a body cut short), ``outage`` (503) or ``refuse`` (the
connection closed without an answer).
"""
from __future__ import annotations

import json
import re
import socket
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from fakes.http_server import LoopbackServer, QuietHandler
from fakes.yahoo.market import FakeYahooMarket, FollowingMarket
from trading.core.types import Bar

CRUMB = "fAkEcRuMb.1"
COOKIE = "A3=d=AQABBfake&S=AQAAAfake; Expires=Fri, 01 Jan 2038 00:00:00 GMT; Path=/; HttpOnly"
YAHOO_NAMES = {60: "1m", 300: "5m", 900: "15m", 1800: "30m", 3600: "1h", 86400: "1d",
               604800: "1wk"}
FAULTS = ("rate_limit", "malformed", "outage", "refuse")


@dataclass
class Request:
    path: str
    query: dict[str, str]
    status: int
    crumb: str | None
    cookie: bool


@dataclass
class Listing:
    """A basket's other symbol: its bars, its exchange's time zone and hours."""

    bars: Sequence[Bar]
    timezone_name: str = "America/New_York"
    around_the_clock: bool = False


@dataclass
class _Faults:
    pending: list[str] = field(default_factory=list)


class _Handler(QuietHandler):
    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        fake: FakeYahoo = self.server.fake  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        cookie = "A3=" in (self.headers.get("Cookie") or "")
        if url.path in ("", "/"):
            fake.record(Request(url.path, query, 404, None, cookie))
            self._send(404, b"<html>Not found</html>", "text/html", {"Set-Cookie": COOKIE})
        elif url.path == "/consent":
            fake.record(Request(url.path, query, 200, None, cookie))
            self._send(200, b"<html><body>No consent needed</body></html>", "text/html")
        elif url.path == "/v1/test/getcrumb":
            fake.record(Request(url.path, query, 200, None, cookie))
            self._send(200, CRUMB.encode(), "text/plain")
        elif url.path.startswith("/v8/finance/chart/"):
            self._chart(fake, url.path.rsplit("/", 1)[-1], query, cookie)
        else:
            fake.record(Request(url.path, query, 404, None, cookie))
            self._send(404, b"{}", "application/json")

    def _chart(self, fake: "FakeYahoo", symbol: str, query: dict[str, str], cookie: bool) -> None:
        fault = fake.take_fault()
        crumb = query.get("crumb")
        status, body, kind, at = 200, b"", "application/json", None
        if fault == "refuse":
            fake.record(Request(f"/v8/finance/chart/{symbol}", query, 0, crumb, cookie))
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # no answer at all
            return
        if fault == "rate_limit":
            status, body, kind = 429, b"Too Many Requests\r\n", "text/plain"
        elif fault == "outage":
            status, body, kind = 503, b"<html>Will be right back...</html>", "text/html"
        elif fault == "malformed":
            body, at = fake.chart_body(symbol, query)
            body = body[:57]  # a chart cut short
        elif symbol not in fake.markets:
            status = 404
            body = json.dumps({"chart": {"result": None, "error": {
                "code": "Not Found", "description": "No data found, symbol may be delisted"}}}).encode()
        else:
            body, at = fake.chart_body(symbol, query)
        fake.record(Request(f"/v8/finance/chart/{symbol}", query, status, crumb, cookie))
        self._send(status, body, kind, at=at)

    def _send(self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None,
              at: float | None = None) -> None:
        fake: FakeYahoo = self.server.fake  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        # the market's clock (for a chart: when its rows were read, while the market may move on)
        self.send_header("Date", formatdate(fake.now() if at is None else at, usegmt=True))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def send_response(self, code: int, message: str | None = None) -> None:
        # BaseHTTPRequestHandler adds its own Date (the wall clock): ours must be the only one
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", "fake-yahoo")


class FakeYahoo(LoopbackServer):
    """Plays ``bars`` (``step`` seconds apart, with market gaps) as ``symbol``; the first
    ``history`` bars are closed at the start. Sessions are US hours in ``timezone_name``, or the
    whole UTC day with ``around_the_clock`` (a crypto pair such as BTC-USD)."""

    def __init__(self, bars: Sequence[Bar], symbol: str = "XYZ", step: int = 300,
                 history: int = 100, timezone_name: str = "America/New_York",
                 around_the_clock: bool = False,
                 more_markets: Mapping[str, Listing] | None = None) -> None:
        super().__init__(_Handler)
        self.symbol = symbol
        self.market = FakeYahooMarket(bars, step, history, around_the_clock)
        self.timezone_name = timezone_name
        # symbol -> (its market, its time zone): the first symbol's, then a basket's others
        self.markets: dict[str, tuple[Any, str]] = {symbol: (self.market, timezone_name)}
        for name, listing in (more_markets or {}).items():
            self.markets[name] = (FollowingMarket(listing.bars, step, self.market,
                                                  listing.around_the_clock),
                                  listing.timezone_name)
        self.requests: list[Request] = []
        self._faults = _Faults()
        self._player: threading.Thread | None = None
        self._stop_play = threading.Event()

    def env(self) -> dict[str, str]:
        return {"YAHOO_BASE_URL": self.url, "YAHOO_MAX_WAIT_SECONDS": "0.05"}

    # -- recording and faults ----------------------------------------------------------------
    def record(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)
            self.lock.notify_all()

    def chart_requests(self, since: int = 0) -> list[Request]:
        with self.lock:
            return [r for r in self.requests[since:] if r.path.startswith("/v8/finance/chart/")]

    def inject(self, kind: str, count: int = 1) -> None:
        """The next ``count`` chart requests fail as ``kind`` (one of FAULTS)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r} (one of {', '.join(FAULTS)})")
        with self.lock:
            self._faults.pending.extend([kind] * count)

    def take_fault(self) -> str | None:
        with self.lock:
            return self._faults.pending.pop(0) if self._faults.pending else None

    @property
    def faults_left(self) -> int:
        with self.lock:
            return len(self._faults.pending)

    # -- the market --------------------------------------------------------------------------
    def now(self) -> float:
        with self.lock:
            return self.market.now

    @property
    def closed_bars(self) -> list[Bar]:
        with self.lock:
            return self.market.closed_bars

    def closed_bars_of(self, symbol: str) -> list[Bar]:
        """The closed bars of one of the basket's markets."""
        with self.lock:
            return self.markets[symbol][0].closed_bars

    def advance(self, steps: int = 1) -> int:
        """Move the clock ``steps`` times (see FakeYahooMarket.advance); returns steps taken."""
        done = 0
        with self.lock:
            while done < steps and self.market.can_advance:
                self.market.advance()
                done += 1
            self.lock.notify_all()
        return done

    def play(self, pace: float = 0.005, gate=None) -> None:
        """Advance in a background thread every ``pace`` seconds (when ``gate()`` allows) until
        the last bar is forming; ``stop_playing`` ends it early."""
        self._stop_play.clear()

        def loop() -> None:
            while not self._stop_play.wait(pace) and self.advance_possible():
                if gate is None or gate():
                    self.advance()
        self._player = threading.Thread(target=loop, name="fake-yahoo-play", daemon=True)
        self._player.start()

    def advance_possible(self) -> bool:
        with self.lock:
            return self.market.can_advance

    def stop_playing(self) -> None:
        self._stop_play.set()
        if self._player is not None:
            self._player.join(5)
            self._player = None

    def stop(self) -> None:
        self.stop_playing()
        super().stop()

    # -- the chart answer --------------------------------------------------------------------
    def chart_body(self, symbol: str, query: dict[str, str]) -> tuple[bytes, float]:
        """The chart answer, and the market's time when its rows were read."""
        with self.lock:
            market, zone = self.markets[symbol]
            now = market.now
            if "range" in query:  # e.g. 5d, 3mo: back from now
                count, unit = re.fullmatch(r"(\d+)(d|mo)", query["range"]).groups()
                days = int(count) * (30 if unit == "mo" else 1)
                start, end = now - days * 86400, now + market.step
            else:
                start = float(query.get("period1") or 0)
                end = min(float(query.get("period2") or now), now + market.step)
            interval = query.get("interval", "")
            step_name = YAHOO_NAMES.get(market.step)
            if interval != step_name:
                return json.dumps({"chart": {"result": None, "error": {
                    "code": "Unprocessable Entity",
                    "description": f"this fake serves {step_name} bars only, not {interval}"}}}
                ).encode(), now
            rows = market.rows(start, end)
            session = market.current_session()
            periods = market.sessions_in(start, end)
        meta = self._meta(symbol, now, session, periods, interval, rows, market, zone)
        result = {"meta": meta, "timestamp": [int(b.ts) for b in rows], "indicators": {
            "quote": [{"open": [b.open for b in rows], "high": [b.high for b in rows],
                       "low": [b.low for b in rows], "close": [b.close for b in rows],
                       "volume": [b.volume for b in rows]}],
            "adjclose": [{"adjclose": [round(b.close * 0.97, 10) for b in rows]}]}}
        if not rows:
            del result["timestamp"]
            result["indicators"] = {"quote": [{}], "adjclose": [{}]}
        return json.dumps({"chart": {"result": [result], "error": None}}).encode(), now

    def _meta(self, symbol: str, now: float, session: tuple[float, float],
              periods: list[tuple[float, float]], interval: str, rows: list[Bar], market: Any,
              zone: str) -> dict[str, Any]:
        start, end = (int(x) for x in session)
        tz = {"timezone": "EST", "gmtoffset": -18000}

        def period(a: float, b: float) -> dict[str, Any]:
            return {**tz, "start": int(a), "end": int(b)}
        meta: dict[str, Any] = {
            "currency": "USD", "symbol": symbol, "exchangeName": "NMS",
            "fullExchangeName": "NasdaqGS", "instrumentType": "EQUITY",
            "firstTradeDate": int(market.bars[0].ts), "regularMarketTime": int(now),
            "hasPrePostMarketData": True, "gmtoffset": -18000, "timezone": "EST",
            "exchangeTimezoneName": zone,
            "regularMarketPrice": rows[-1].close if rows else None,
            "chartPreviousClose": rows[0].open if rows else None, "priceHint": 4,
            "currentTradingPeriod": {"pre": period(start - 19800, start),
                                     "regular": period(start, end),
                                     "post": period(end, end + 14400)},
            "dataGranularity": interval, "range": "",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd",
                            "max"],
        }
        if interval not in ("1d", "1wk", "1mo"):
            meta["tradingPeriods"] = [[period(a, b)] for a, b in periods]
        return meta
