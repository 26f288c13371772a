"""``tradingbot status [BOT...] [--positions] [--json]``: every bot's status file as one table.

Reads ``logs/status/<bot_id>.json`` (written by each bot's heartbeat and when it stops, changed
by ``reset-kill-switch``, replaced by ``reset``). Below the table: why each bot in ``error``
stopped, and where a reset bot's history went. A bot that says it is running but whose file is
older than three heartbeats is marked stale: its process is hung or died without a word
(``process gone`` when its pid no longer exists here). A basket bot's row names its basket
(``ETCBTC +4``) and which symbols hold a position (``3 open: ETCBTC, XLMBTC, ZECBTC``);
``--positions`` adds a table of every open position.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from trading.cli.common import EXIT_INVALID, EXIT_OK, command_parser
from trading.core.basket_text import basket_label, is_basket, open_symbols, status_positions, \
    status_symbols
from trading.core.timeutil import utcnow
from trading.runtime.status import STALE_AFTER_HEARTBEATS, STATUS_DIR, STOPPED_STATES

COLUMNS = ("bot", "state", "symbol", "data", "last bar", "value", "position", "trades",
           "realised pnl", "entries today", "pnl today", "drawdown", "kill switch", "updated")
POSITION_COLUMNS = ("bot", "symbol", "size", "entry price", "entry time", "bars held",
                    "last price", "unrealized pnl")


def _age_seconds(status: dict[str, Any]) -> float | None:
    try:
        updated = datetime.fromisoformat(str(status["updated_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return (utcnow() - updated).total_seconds()


def _process_gone(status: dict[str, Any]) -> bool:
    if status.get("host") != socket.gethostname() or not isinstance(status.get("pid"), int):
        return False
    try:
        os.kill(status["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def describe_state(status: dict[str, Any]) -> str:
    """The state, or why it cannot be believed (``running, STALE: no heartbeat for 5m``)."""
    state = str(status.get("state", "?"))
    if state in STOPPED_STATES:
        return state
    age = _age_seconds(status)
    heartbeat = float(status.get("heartbeat_seconds") or 60)
    if age is not None and age > STALE_AFTER_HEARTBEATS * heartbeat:
        why = "process gone" if _process_gone(status) else f"no heartbeat for {_duration(age)}"
        return f"{state}, STALE: {why}"
    return state


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _number(value: Any, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _quantity(value: Any) -> str:
    """A size or price with its significant digits (``5.563e-05``, ``4206.9768``)."""
    return "-" if value is None else f"{value:.8g}"


def _held(status: dict[str, Any]) -> str:
    """The position cell: a one-symbol bot's size and entry, a basket's open symbols."""
    positions = status_positions(status)
    if is_basket(status_symbols(status)):
        return open_symbols(positions)
    return (f"{_quantity(positions[0]['size'])} @ {_quantity(positions[0]['entry_price'])}"
            if positions else "flat")


def row(status: dict[str, Any]) -> tuple[str, ...]:
    age = _age_seconds(status)
    state = describe_state(status) + (", entries PAUSED" if status.get("paused") else "")
    return (str(status.get("bot_id", "?")), state, basket_label(status_symbols(status)),
            str(status.get("data_status") or "-"), str(status.get("last_bar_time") or "-"),
            _number(status.get("value")), _held(status),
            str(status.get("trades", "-")), _number(status.get("realised_pnl")),
            str(status.get("entries_today", 0)), _number(status.get("pnl_today")),
            f"{status.get('drawdown_pct', 0.0):.2f}%",
            "ON" if status.get("kill_switch") else "off",
            f"{_duration(age)} ago" if age is not None else "?")


def note(status: dict[str, Any]) -> str | None:
    """What the table has no room for: why a bot stopped on an error, where a reset put it."""
    bot = status.get("bot_id", "?")
    if status.get("state") == "error":
        return f"bot {bot} stopped on an error: {status.get('last_error') or 'no reason recorded'}"
    if status.get("state") == "reset":
        return (f"bot {bot} was reset: its rows, journal and last status were archived as "
                f"{status.get('archived_as', '?')}; its next run starts over")
    return None


def position_rows(status: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per open position of the bot, in its basket's order."""
    bot = str(status.get("bot_id", "?"))
    return [(bot, str(p.get("symbol", "?")), _quantity(p.get("size")),
             _quantity(p.get("entry_price")), str(p.get("entry_time") or "-"),
             str(p.get("bars_held", "-")), _quantity(p.get("last_price")),
             _number(p.get("unrealized_pnl")))
            for p in status_positions(status)]


def table(rows: list[tuple[str, ...]], columns: tuple[str, ...] = COLUMNS) -> str:
    widths = [max(len(r[i]) for r in [columns, *rows]) for i in range(len(columns))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip()
                     for r in [columns, *rows])


def positions_table(statuses: list[dict[str, Any]]) -> str:
    """Every open position of the bots shown, or a line saying there is none."""
    rows = [r for s in statuses for r in position_rows(s)]
    if not rows:
        return "open positions: none"
    return "open positions:\n" + table(rows, POSITION_COLUMNS)


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None


def _wanted_files(bots: list[str], folder: Path) -> tuple[list[Path], list[str]]:
    if not bots:
        return sorted(folder.glob("*.json")), []
    found, missing = [], []
    for bot in bots:
        names = [bot.removesuffix(".json")]
        if names[0].isdigit():
            names.append(f"{int(names[0]):04d}")  # '1' is bot 0001
        path = next((folder / f"{n}.json" for n in names if (folder / f"{n}.json").exists()), None)
        if path is None:
            missing.append(bot)
        else:
            found.append(path)
    return found, missing


def main(argv: list[str] | None = None) -> int:
    """0 shown, 1 a bot asked for has no status file."""
    parser = command_parser(prog="tradingbot status",
                            description="Show every bot's status (from logs/status/); a running bot "
                                        "whose status is older than three heartbeats is STALE.")
    parser.add_argument("bots", nargs="*", metavar="BOT", help="bot ids (default: every bot)")
    parser.add_argument("--positions", action="store_true",
                        help="below the table, every open position: symbol, size, entry, bars "
                             "held, unrealized pnl")
    parser.add_argument("--json", action="store_true",
                        help="print the status files as JSON (with every open position)")
    parser.add_argument("--dir", type=Path, default=STATUS_DIR,
                        help=f"where the status files are (default: {STATUS_DIR})")
    args = parser.parse_args(argv)
    paths, missing = _wanted_files(args.bots, args.dir)
    statuses = [s for s in (read_status(p) for p in paths) if s is not None]
    for bot in missing:
        print(f"tradingbot status: no status for bot {bot} in {args.dir}/ (has it ever run "
              "from this folder?)", file=sys.stderr)
    if args.json:
        print(json.dumps([{**s, "stale": describe_state(s) != s.get("state")} for s in statuses],
                         indent=2))
    elif statuses:
        print(table([row(s) for s in statuses]))
        for line in filter(None, (note(s) for s in statuses)):
            print(line)
        if args.positions:
            print()
            print(positions_table(statuses))
    elif not missing:
        print(f"no bot has run from this folder yet (no status files in {args.dir}/)")
    return EXIT_INVALID if missing else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
