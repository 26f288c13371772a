"""A bot workspace wired to the loopback TWS: the bot subprocess finds it through ``IBKR_PORT``, as
a user points the bot at TWS or IB Gateway; and the market the fake plays, bar by bar."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable


from binance_workspace import booked
from bot_workspace import SAMPLE, BotWorkspace, epoch_of
from fakes.tws import FakeTWS
from feeds.csv_bars import load_bars
from trading.core.types import Bar

SCALE = 1000.0  # ETHBTC's 0.05 becomes a share price of about 50
SYMBOL = "AAPL"
GATE_SECONDS = 30.0


def sample_bars(count: int) -> list[Bar]:
    """The sample's real candles, priced like a share."""
    bars = load_bars(SAMPLE)
    out = []
    for i in range(count):
        b = bars.bar(i)
        out.append(Bar(b.ts, b.open * SCALE, b.high * SCALE, b.low * SCALE, b.close * SCALE,
                       b.volume))
    return out


def opening(bar: Bar) -> Bar:
    """``bar`` as it first shows, before anything traded."""
    return Bar(bar.ts, bar.open, bar.open, bar.open, bar.open, 0.0)


class Market:
    """The bars the fake TWS plays: ``history`` closed at start, one more per ``advance``."""

    def __init__(self, tws: FakeTWS, bars: list[Bar], history: int) -> None:
        self.tws = tws
        self.bars = bars
        self.closed = history
        tws.set_bars(SYMBOL, bars[:history], forming=opening(bars[history]))
        self._stop = threading.Event()
        self._player: threading.Thread | None = None

    @property
    def last_closed(self) -> Bar:
        return self.bars[self.closed - 1]

    @property
    def done(self) -> bool:
        return self.closed >= len(self.bars) - 1

    def advance(self) -> None:
        """Close the forming bar (the next one opens)."""
        self.tws.push_bar(SYMBOL, self.bars[self.closed])
        self.closed += 1

    def play(self, gate: Callable[[], bool] = lambda: True, until: int | None = None) -> None:
        """Close bars in a background thread, each once ``gate()`` says so (bounded waits)."""
        until = len(self.bars) - 1 if until is None else until

        def run() -> None:
            while self.closed < until and not self._stop.is_set():
                deadline = time.monotonic() + GATE_SECONDS
                while not gate():
                    if self._stop.wait(0.01) or time.monotonic() > deadline:
                        return
                self.advance()
        self._stop.clear()
        self._player = threading.Thread(target=run, daemon=True, name="market")
        self._player.start()

    def stop_playing(self) -> None:
        self._stop.set()
        if self._player is not None:
            self._player.join(5)


class IbkrWorkspace(BotWorkspace):
    """A ``BotWorkspace`` whose bot reads bars (and trades) through ``tws``."""

    def __init__(self, root: Path, tws: FakeTWS, bot_id: str = "7301",
                 extra_env: dict[str, str] | None = None) -> None:
        super().__init__(root, bot_id)
        self.tws = tws
        self.extra_env = dict(extra_env or {})

    def write_ibkr_config(self, broker: str = "ibkr", lookback: int = 60, symbol: str = SYMBOL,
                          **changes: Any) -> dict[str, Any]:
        data = {"data_source": "ibkr", "symbol": symbol, "interval": "5m",
                "lookback_bars": lookback, "retry_interval": 0.5}
        doc = self.write_config(broker={"type": broker, "initial_balance": 100_000.0},
                                trading={"symbol": symbol}, data=data, **changes)
        doc["data"].pop("file_path", None)
        doc["data"].pop("speed", None)
        self.config_path.write_text(json.dumps(doc, indent=2))
        return doc

    def env(self) -> dict[str, str]:
        env = super().env()
        for name in list(env):
            if name.startswith("IBKR_"):
                del env[name]  # never the developer's own TWS
        env["IBKR_PORT"] = str(self.tws.port)
        env.update(self.extra_env)
        return env

    def last_bar_ts(self) -> float | None:
        rows = self.query("SELECT last_bar_ts FROM bots")
        return epoch_of(rows[0][0]) if rows and rows[0][0] is not None else None

    def checkpointed(self, ts: float) -> bool:
        last = self.last_bar_ts()
        return last is not None and last >= ts

    def orders(self) -> list[tuple[Any, ...]]:
        return self.query("SELECT client_order_id, purpose, side, status, size, filled_size, "
                          "fill_price, fee, venue_order_id FROM orders ORDER BY id")

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in
                self.query("SELECT payload FROM events WHERE kind = ? ORDER BY id", kind)]


# seconds an order saved as submitted may take to reach TWS before the gate takes it for one the
# bot refused itself without saying so in its log (a refusal it logs ends the wait at once, and
# every refusal in these tests is logged): far longer than the broker's next tick, so that a
# loaded machine never lets a bar close before an order on its way has arrived
LOCAL_REFUSAL_GRACE = 10.0


def lockstep(ws: IbkrWorkspace, market: Market, catch_up: bool = False) -> Callable[[], bool]:
    """A ``play`` gate: the next bar closes only once the bot has checkpointed the last one,
    booked what TWS did with its latest orders (and so placed what it places on a fill), and
    every order it decided has reached TWS, as on a market slower than the bot. Makes runs
    repeatable bar for bar. ``catch_up``: a restarted bot that checkpointed before trades the
    bars it missed before the next closes (a market that stands still while the bot is down).
    A bot with a simulated broker sends no order to TWS: its orders fill inside the bot at the
    next bar, so the checkpoint is all to wait for."""
    first = market.closed  # history is not checkpointed: the first bar may close
    if catch_up and ws.last_bar_ts() is not None:
        first = 0
    noticed: dict[str, float] = {}
    sends_orders = not ws.simulated_broker()

    def gate() -> bool:
        if market.closed > first and not ws.checkpointed(market.last_closed.ts):
            return False
        if not sends_orders:
            return True
        orders = ws.tws.orders()
        done = [o.order_ref for o in orders if o.done and o.order_ref]
        if done and not booked(ws, done[-4:]):  # a fill not booked yet (nor what it placed)
            return False
        tws = ws.tws
        if tws.book.policy.auto and not tws.fill_delay and any(
                not o.done and o.order_type.upper() == "MKT" for o in orders):
            return False  # a market order caught between its arrival and its fill
        at_tws = {o.order_ref for o in orders}
        now = time.monotonic()
        for (cid,) in ws.query("SELECT client_order_id FROM orders WHERE status = 'submitted'"):
            noticed.setdefault(cid, now)
            if cid not in at_tws and now - noticed[cid] < LOCAL_REFUSAL_GRACE \
                    and not ws.refused_locally(cid):
                return False
        return True
    return gate
