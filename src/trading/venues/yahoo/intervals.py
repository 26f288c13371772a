"""The config's intervals in Yahoo's terms, and how much history Yahoo serves for each.

Yahoo's chart API has 1m 5m 15m 30m 1h 1d 1wk bars; the config's 3m is built from 1m bars and
2h 4h 6h 12h from 1h bars (``feeds.resample``). Yahoo refuses intraday ranges older than a
limit: 1m about a week (7 days a request, 30 days back at most; we ask for what a week holds),
other minutes about 60 days, 1h about two years. Daily and weekly bars go back decades.
"""
from __future__ import annotations

from dataclasses import dataclass

from trading.core.settings import INTERVAL_SECONDS
from trading.core.timeutil import DAY_SECONDS

YAHOO_NAMES = {"1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "1h", "1d": "1d",
               "1w": "1wk"}
RESAMPLED_FROM = {"3m": "1m", "2h": "1h", "4h": "1h", "6h": "1h", "12h": "1h"}
# days back Yahoo serves (a safety margin under its own limits); None: no practical limit
HISTORY_DAYS = {"1m": 7, "5m": 59, "15m": 59, "30m": 59, "1h": 729, "1d": None, "1w": None}
REQUEST_DAYS = {"1m": 7}  # the widest range one request may ask for (Yahoo: 8 days for 1m)


@dataclass(frozen=True)
class YahooInterval:
    """How a config interval is fetched: Yahoo's ``name`` for the ``base`` interval, combined
    into ``interval`` bars when they differ."""

    interval: str  # the config's, e.g. 4h
    base: str  # the config interval Yahoo serves directly, e.g. 1h
    name: str  # Yahoo's spelling of base, e.g. 1h (1wk for 1w)

    @property
    def seconds(self) -> int:
        return INTERVAL_SECONDS[self.interval]

    @property
    def base_seconds(self) -> int:
        return INTERVAL_SECONDS[self.base]

    @property
    def resampled(self) -> bool:
        return self.base != self.interval

    @property
    def intraday(self) -> bool:
        return self.base_seconds < DAY_SECONDS

    @property
    def history_days(self) -> int | None:
        return HISTORY_DAYS[self.base]

    @property
    def request_seconds(self) -> float | None:
        days = REQUEST_DAYS.get(self.base)
        return days * DAY_SECONDS if days else None


def yahoo_interval(interval: str) -> YahooInterval:
    """The Yahoo form of config interval ``interval`` (KeyError for one the config never has)."""
    base = RESAMPLED_FROM.get(interval, interval)
    return YahooInterval(interval=interval, base=base, name=YAHOO_NAMES[base])


def max_history_bars(interval: str) -> int | None:
    """The most ``interval`` bars Yahoo can serve (a market open around the clock; one that
    closes at night gets fewer), or None when history is practically unlimited."""
    days = yahoo_interval(interval).history_days
    if days is None:
        return None
    return int(days * DAY_SECONDS // INTERVAL_SECONDS[interval])
