"""The fake's market: bars of one symbol played against a clock that tests move.

The clock does not run by itself: ``advance()`` moves it into the next bar (half way, at most
15 minutes in, so a daily bar is still in its session), which is then forming, or first into the middle of a market-closed gap (night, weekend, holiday) when one
lies before it. Bars whose time is past are closed; the bar the clock stands in is forming and is
served with the values it had half way (close = open, half the volume), as Yahoo serves its live
row; later bars do not exist yet.

A basket's other symbols are ``FollowingMarket``s on that clock: each with its own bars and
sessions (US hours, or around the clock for a crypto pair), its bar the clock stands in forming.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence

from trading.core.types import Bar

SESSION_OPEN = (14, 30)  # UTC, US regular hours in winter (EST)
SESSION_CLOSE = (21, 0)
FORMING_FOR = 900  # seconds into the forming bar the clock stands, at most


def regular_sessions(bars: Sequence[Bar], around_the_clock: bool = False
                     ) -> list[tuple[float, float]]:
    """The regular session (start, end) of every day that has bars, epoch seconds: US hours,
    or the whole UTC day for a market that never closes (crypto)."""
    days = sorted({datetime.fromtimestamp(b.ts, tz=timezone.utc).date() for b in bars})
    out = []
    for day in days:
        midnight = datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()
        if around_the_clock:
            out.append((midnight, midnight + 86400))
            continue
        start = datetime(day.year, day.month, day.day, *SESSION_OPEN, tzinfo=timezone.utc)
        end = datetime(day.year, day.month, day.day, *SESSION_CLOSE, tzinfo=timezone.utc)
        out.append((start.timestamp(), end.timestamp()))
    return out


class _Served:
    """What a chart answer reads of a market: its rows and sessions at the clock's time."""

    bars: list[Bar]
    sessions: list[tuple[float, float]]
    now: float

    @property
    def closed_bars(self) -> list[Bar]:
        raise NotImplementedError

    def forming(self) -> Bar | None:
        raise NotImplementedError

    def rows(self, start: float, end: float) -> list[Bar]:
        """Closed bars in [start, end), then the forming one if it lies in the range."""
        rows = [b for b in self.closed_bars if start <= b.ts < end]
        forming = self.forming()
        if forming is not None and start <= forming.ts < end:
            rows.append(forming)
        return rows

    def current_session(self) -> tuple[float, float]:
        """Yahoo's ``currentTradingPeriod.regular``: today's session, or the next one when
        today has none (a weekend, a holiday) or it is over."""
        for start, end in self.sessions:
            if self.now < end:
                return start, end
        return self.sessions[-1]

    def sessions_in(self, start: float, end: float) -> list[tuple[float, float]]:
        return [(s, e) for s, e in self.sessions if e > start and s < end]


def half_way(bar: Bar) -> Bar:
    """``bar`` as Yahoo serves it while it forms: the values it had half way."""
    return Bar(bar.ts, bar.open, max(bar.open, bar.low), bar.low, bar.open, bar.volume / 2)


class FakeYahooMarket(_Served):
    def __init__(self, bars: Sequence[Bar], step: int, history: int,
                 around_the_clock: bool = False) -> None:
        if not 0 < history < len(bars):
            raise ValueError(f"history must be within the {len(bars)} bars, got {history}")
        self.bars = list(bars)
        self.step = step
        self.sessions = regular_sessions(self.bars, around_the_clock)
        self.cursor = history  # the next bar to form (or forming, when in_gap is False)
        self.in_gap = False
        self.now = self._inside(self.bars[history])

    # -- the clock ---------------------------------------------------------------------------
    def _inside(self, bar: Bar) -> float:
        return bar.ts + min(self.step / 2, FORMING_FOR)

    @property
    def can_advance(self) -> bool:
        return self.cursor < len(self.bars) - 1 or self.in_gap

    def advance(self) -> None:
        """One step: the forming bar closes; the clock goes to the next bar's middle, or into the
        closed market first when a gap (more than one bar) separates them."""
        if self.in_gap:
            self.in_gap = False
            self.now = self._inside(self.bars[self.cursor])
            return
        if self.cursor >= len(self.bars) - 1:
            raise ValueError("the market has no more bars")
        closing = self.bars[self.cursor]
        self.cursor += 1
        following = self.bars[self.cursor]
        if following.ts - closing.ts > self.step:
            self.in_gap = True
            self.now = (closing.ts + self.step + following.ts) / 2
        else:
            self.now = self._inside(following)

    def jump_to(self, index: int) -> None:
        """Stand in the middle of bar ``index`` (bars before it are closed)."""
        self.cursor, self.in_gap = index, False
        self.now = self._inside(self.bars[index])

    # -- what is served ----------------------------------------------------------------------
    @property
    def closed_bars(self) -> list[Bar]:
        return self.bars[:self.cursor]

    def forming(self) -> Bar | None:
        if self.in_gap:
            return None
        return half_way(self.bars[self.cursor])


class FollowingMarket(_Served):
    """A basket's other symbol: its own ``bars`` and sessions on the ``lead`` market's clock.
    Its bar the clock stands in is forming, the ones before are closed."""

    def __init__(self, bars: Sequence[Bar], step: int, lead: FakeYahooMarket,
                 around_the_clock: bool = False) -> None:
        self.bars = list(bars)
        self.step = step
        self.lead = lead
        self.sessions = regular_sessions(self.bars, around_the_clock)

    @property
    def now(self) -> float:
        return self.lead.now

    @property
    def closed_bars(self) -> list[Bar]:
        return [b for b in self.bars if b.ts + self.step <= self.now]

    def forming(self) -> Bar | None:
        now = self.now
        for bar in self.bars:
            if bar.ts <= now < bar.ts + self.step:
                return half_way(bar)
        return None
