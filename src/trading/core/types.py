"""The bot's domain types: a closed bar, the open trade, an order waiting to be re-sent.

Part of the kernel: imports nothing of the project but the kernel itself. Mixins, the strategy,
the store and the brokers all speak in these.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, NamedTuple

from trading.core.timeutil import utc_datetime


class Bar(NamedTuple):
    """One closed bar. ``ts`` is the bar's open time in epoch seconds (UTC)."""

    ts: float
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def time(self) -> datetime:
        return utc_datetime(self.ts)


@dataclass
class OpenTrade:
    """The open long position with the per-trade state exits need; persisted by the store.

    ``state`` holds each exit mixin's own per-trade values under its name (JSON-serialisable),
    so a restart restores exits exactly where they were. ``exits`` names the exit mixins in
    force when the position opened (empty in positions saved before it was recorded), so a
    restart can tell which exits the config added or removed since.
    """

    symbol: str
    size: float
    entry_price: float
    entry_ts: float
    entry_fee: float = 0.0
    entry_reason: str = ""
    bars_held: int = 0
    highest_high: float = 0.0
    highest_close: float = 0.0
    lowest_low: float = 0.0
    trailing_armed: bool = False
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    exits: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.highest_high:
            self.highest_high = self.entry_price
        if not self.highest_close:
            self.highest_close = self.entry_price
        if not self.lowest_low:
            self.lowest_low = self.entry_price

    @property
    def entry_time(self) -> datetime:
        return utc_datetime(self.entry_ts)

    def observe(self, bar: Bar) -> None:
        """Count one more bar held and track the extremes since entry."""
        self.bars_held += 1
        if bar.high > self.highest_high:
            self.highest_high = bar.high
        if bar.close > self.highest_close:
            self.highest_close = bar.close
        if bar.low < self.lowest_low:
            self.lowest_low = bar.low

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "size": self.size, "entry_price": self.entry_price,
            "entry_ts": self.entry_ts, "entry_fee": self.entry_fee, "entry_reason": self.entry_reason,
            "bars_held": self.bars_held, "highest_high": self.highest_high,
            "highest_close": self.highest_close, "lowest_low": self.lowest_low,
            "trailing_armed": self.trailing_armed, "state": self.state, "exits": list(self.exits),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "OpenTrade":
        return cls(**dict(data))


@dataclass(frozen=True)
class PendingOrder:
    """A market order decided but not yet filled when the bot stopped; re-sent after warm-up."""

    purpose: str  # entry | exit
    size: float
    client_order_id: str
    reason: str = ""
    symbol: str = ""  # the order's symbol ("" in a one-symbol bot's older records: that symbol)
