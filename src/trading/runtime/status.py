"""What a running bot says about itself: a snapshot taken on the Cerebro thread, published by the
heartbeat on the I/O thread, written to ``logs/status/<bot_id>.json``.

Only the Cerebro thread touches the strategy, broker and risk objects. It takes a ``BarStatus``
(plain values) at the end of every bar; the heartbeat adds what any thread may read (state, data
state, clocks) and writes the file. ``tradingbot status`` reads the files back.
"""
from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from trading.core.equity import drawdown_pct
from trading.core.redaction import known_secrets
from trading.core.timeutil import iso_z, utcnow
from trading.core.types import Bar, OpenTrade
from trading.core.errors import NO_SPACE, no_space
from trading.core.version import version

log = logging.getLogger(__name__)

STATUS_DIR = Path("logs") / "status"
STALE_AFTER_HEARTBEATS = 3
STOPPED_STATES = ("stopped", "error", "reset")  # "reset": archived by ``tradingbot reset``


@dataclass(frozen=True)
class BarStatus:
    """The bot's figures as of the end of one bar (taken on the Cerebro thread)."""

    last_bar_time: str | None = None
    bars_processed: int = 0
    cash: float | None = None
    value: float | None = None
    position: dict[str, Any] | None = None  # the first open position (a one-symbol bot's only)
    positions: list[dict[str, Any]] = field(default_factory=list)  # every open one, by symbol
    entries_today: int = 0
    pnl_today: float = 0.0
    drawdown_pct: float = 0.0
    kill_switch: bool = False
    entries_refused: dict[str, int] = field(default_factory=dict)
    trades: int = 0  # closed trades, every run's
    realised_pnl: float = 0.0  # their pnl


def position_status(trade: OpenTrade, last_close: float) -> dict[str, Any]:
    """One open position as the status file shows it, marked to ``last_close``."""
    return {"symbol": trade.symbol, "size": trade.size, "entry_price": trade.entry_price,
            "entry_time": iso_z(trade.entry_ts), "bars_held": trade.bars_held,
            "last_price": last_close,
            "unrealized_pnl": round((last_close - trade.entry_price) * trade.size, 8)}


def bar_status(*, bar: Bar, bars: int, cash: float, value: float,
               positions: Sequence[tuple[OpenTrade, float]], risk_state: Any,
               refusals: dict[str, int], closed: tuple[int, float] = (0, 0.0)) -> BarStatus:
    """A ``BarStatus`` from the values the Cerebro thread holds at the end of ``bar``
    (``positions``: each open trade with its symbol's last close, in the basket's order;
    ``closed``: how many trades were closed, every run's, and their realised pnl)."""
    shown = [position_status(trade, close) for trade, close in positions]
    s = risk_state
    return BarStatus(
        last_bar_time=iso_z(bar.ts), bars_processed=bars, cash=round(cash, 8),
        value=round(value, 8), position=shown[0] if shown else None, positions=shown,
        entries_today=s.trades_today,
        pnl_today=round(value - s.day_start_equity, 8) if s.day >= 0 else 0.0,
        drawdown_pct=round(drawdown_pct(s.peak_equity, value), 4) if s.peak_equity > 0 else 0.0,
        kill_switch=s.kill_switch, entries_refused=dict(refusals), trades=closed[0],
        realised_pnl=round(closed[1], 8))


def status_document(*, bot_id: str, symbol: str, state: str, data_status: str | None,
                    bar: BarStatus, uptime_seconds: float, last_error: str,
                    heartbeat_seconds: float, paused: bool = False,
                    symbols: Sequence[str] = ()) -> dict[str, Any]:
    """The status file's content: the last bar's figures plus what is true right now
    (``paused``: new entries are paused by the owner, as the next bar will trade; ``symbols``:
    every symbol the bot trades, in the basket's order, ``symbol`` alone when not given)."""
    if state in STOPPED_STATES:
        data_status = "DISCONNECTED"  # a stopped bot receives nothing, whatever the feed said last
    return {"bot_id": bot_id, "state": state, "symbol": symbol,
            "symbols": list(symbols) or [symbol], "data_status": data_status,
            **asdict(bar), "paused": paused, "uptime_seconds": round(uptime_seconds, 1),
            "last_error": last_error or None, "updated_at": iso_z(utcnow()), "pid": os.getpid(),
            "host": socket.gethostname(), "version": version(),
            "heartbeat_seconds": heartbeat_seconds}


def write_status_file(status: dict[str, Any], folder: Path = STATUS_DIR) -> Path | None:
    """Replace ``folder/<bot_id>.json`` atomically, without any registered secret (an error
    text may hold one); a failure is logged, and raised only when the disk is full
    (``DiskFull``: the bot stops then)."""
    path = folder / f"{status['bot_id']}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(known_secrets().scrub(status), indent=2), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise no_space(exc, "writing the status file") from exc
        log.warning("could not write the status file %s: %s", path, exc)
        return None
    return path


def amend_status_file(bot_id: str, changes: dict[str, Any], folder: Path = STATUS_DIR) -> bool:
    """Change fields of a stopped bot's status file, so that ``tradingbot status`` shows what a
    maintenance command just did (the kill switch cleared); False when there is no such file."""
    path = folder / f"{bot_id}.json"
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(status, dict):
        return False
    return write_status_file({**status, **changes, "bot_id": bot_id}, folder) is not None


def reset_status(bot_id: str, symbol: str, archived_as: str,
                 symbols: Sequence[str] = ()) -> dict[str, Any]:
    """The status file of a bot ``tradingbot reset`` archived: nothing of it is left to run on
    (``symbols``: every symbol the bot trades, ``symbol`` alone when not given)."""
    return {"bot_id": bot_id, "state": "reset", "symbol": symbol,
            "symbols": list(symbols) or [symbol], "data_status": None,
            **asdict(BarStatus()), "archived_as": archived_as, "last_error": None,
            "updated_at": iso_z(utcnow())}
