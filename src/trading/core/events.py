"""Domain events that flow from the strategy and brokers to the store and the notifier.

Part of the kernel: imports nothing of the project but the kernel. Times are timezone-aware UTC datetimes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from trading.core.timeutil import iso_or_value, iso_z

# values ``asdict`` would hand back unchanged (its deep copy of them is the value itself)
_AS_IS = frozenset((str, int, float, bool, type(None)))
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True)
class Event:
    """Base of every event; ``kind`` is the name channels subscribe to (``notify_on``)."""

    kind = "event"

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready payload (times as ISO "Z" text), plus ``kind``.

        The journal and the store call it for every order event of every bar: an event of
        plain values and times is read field by field, since ``asdict``'s deep copy of each
        datetime cost more than the rest of the journal write; any other value (a dict, a list)
        takes ``asdict``'s path, so the payload is the same either way.
        """
        cls = type(self)
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
        data: dict[str, Any] = {}
        for name in names:
            value = getattr(self, name)
            if type(value) in _AS_IS:
                data[name] = value
            elif type(value) is datetime:
                data[name] = iso_z(value)
            else:
                data = {k: iso_or_value(v) for k, v in asdict(self).items()}
                break
        data["kind"] = self.kind
        return data


@dataclass(frozen=True)
class OrderEvent(Event):
    """An order changed state: submitted, accepted, partial, filled, canceled, rejected, expired."""

    kind = "order"
    time: datetime
    symbol: str
    client_order_id: str
    side: str  # buy | sell
    order_type: str  # market | stop | limit | stop_trail
    size: float
    status: str
    purpose: str  # entry | exit | stop_loss | take_profit | trailing_stop
    price: float | None = None
    filled_size: float = 0.0
    fill_price: float | None = None
    fee: float = 0.0
    venue_order_id: str | None = None
    reason: str = ""  # for exit orders: the exit reason recorded on the trade
    message: str = ""


@dataclass(frozen=True)
class TradeOpened(Event):
    kind = "trade_entry"
    time: datetime
    symbol: str
    size: float
    entry_price: float
    fee: float
    entry_mixin: str
    equity: float | None = None  # the account's value at the end of the bar (set when published)


@dataclass(frozen=True)
class TradeClosed(Event):
    """A round trip; the same fields as replay's trades.csv."""

    kind = "trade_exit"
    entry_time: datetime
    exit_time: datetime
    symbol: str
    side: str
    size: float
    entry_price: float
    exit_price: float
    pnl: float
    pnl_pct: float
    fees: float
    exit_reason: str
    bars_held: int
    entry_mixin: str = ""
    equity: float | None = None  # the account's value at the end of the bar (set when published)


TRADE_FIELDS = ("entry_time", "exit_time", "symbol", "side", "size", "entry_price", "exit_price",
                "pnl", "pnl_pct", "fees", "exit_reason", "bars_held", "entry_mixin")


@dataclass(frozen=True)
class ErrorEvent(Event):
    kind = "error"
    time: datetime
    message: str
    source: str = ""


@dataclass(frozen=True)
class OrderRejectedEvent(Event):
    kind = "order_rejected"
    time: datetime
    symbol: str
    message: str


@dataclass(frozen=True)
class KillSwitchEvent(Event):
    kind = "kill_switch"
    time: datetime
    reason: str
    drawdown_pct: float


@dataclass(frozen=True)
class StatusEvent(Event):
    """The bot's own news: ``change`` is started, stopped, data (a data state change), paused,
    resumed; ``message`` says it for a person; ``status`` holds the figures that go with it."""

    kind = "status"
    time: datetime
    status: dict[str, Any] = field(default_factory=dict)
    change: str = ""
    message: str = ""


@dataclass(frozen=True)
class RemoteCommandEvent(Event):
    """A command from a remote interface (``by``: telegram) that the bot obeyed or skipped (sent
    before the run could take it); ``update_id`` is the interface's own order of messages."""

    kind = "command"
    time: datetime
    by: str
    text: str
    outcome: str  # obeyed | skipped
    update_id: int


@dataclass(frozen=True)
class DailySummaryEvent(Event):
    """One day of trading: the trades closed from ``period_start`` to ``period_end`` (UTC)."""

    kind = "daily_summary"
    day: str  # the UTC date the period starts on (the day summarised when sent at 00:00)
    trades: int
    pnl: float
    equity: float
    wins: int = 0
    fees: float = 0.0
    drawdown_pct: float = 0.0
    period_start: datetime | None = None
    period_end: datetime | None = None
    # the positions open when it was sent, each with its symbol (as the status file lists them)
    positions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def win_rate_pct(self) -> float:
        return 100.0 * self.wins / self.trades if self.trades else 0.0
