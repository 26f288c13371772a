"""A bot workspace wired to the loopback Binance: the bot subprocess gets the fake's URLs and keys
through the environment, as a user would point it at a regional venue or a proxy."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any


from bot_workspace import SAMPLE, BotWorkspace
from fakes.binance import FakeBinance
from feeds.csv_bars import load_bars
from trading.core.types import Bar


def sample_bars(count: int) -> list[Bar]:
    bars = load_bars(SAMPLE)
    return [bars.bar(i) for i in range(count)]


class BinanceWorkspace(BotWorkspace):
    """A ``BotWorkspace`` whose bot trades through ``fake``."""

    def __init__(self, root: Path, fake: FakeBinance, bot_id: str = "7101",
                 extra_env: dict[str, str] | None = None) -> None:
        super().__init__(root, bot_id)
        self.fake = fake
        self.extra_env = dict(extra_env or {})

    def write_binance_config(self, broker: str = "paper", lookback: int = 60,
                             **changes: Any) -> dict[str, Any]:
        data = {"data_source": "binance", "symbol": "ETHBTC", "interval": "5m",
                "lookback_bars": lookback, "retry_interval": 0.5}
        doc = self.write_config(broker={"type": broker, "initial_balance": 1.0}, data=data,
                                **changes)
        doc["data"].pop("file_path", None)
        doc["data"].pop("speed", None)
        if broker == "binance":
            doc["live_trading_confirmed"] = True
        import json
        self.config_path.write_text(json.dumps(doc, indent=2))
        return doc

    def env(self) -> dict[str, str]:
        env = super().env()
        for name in list(env):
            if name.startswith("BINANCE_"):
                del env[name]  # never a real key or URL from the developer's shell
        env.update(self.fake.env())
        env["BINANCE_STREAM_TIMEOUT"] = "5"
        env["BINANCE_REQUEST_TIMEOUT"] = "2"
        env.update(self.extra_env)
        return env

    def orders(self) -> list[tuple[Any, ...]]:
        return self.query("SELECT client_order_id, purpose, side, status, size, filled_size, "
                          "fill_price, fee, venue_order_id FROM orders ORDER BY id")


def klines_answered(fake: FakeBinance, since: int = 0) -> bool:
    """True once the fake has served the bot's warm-up (the market may move from then on);
    ``since``: only requests after that many (``len(fake.requests)`` before a restart)."""
    with fake.lock:
        return any(r.path == "/api/v3/klines" and r.answered == 200 for r in fake.requests[since:])


# seconds an order saved as submitted may take to reach the fake before the gate takes it for one
# the bot refused itself without saying so in its log (a refusal it logs ends the wait at once,
# and every refusal in these tests is logged): far longer than the broker's next tick (Cerebro's
# qcheck, 0.5 s) and than a request waits for its turn after a 429, so that a loaded machine
# never lets a bar close before an order on its way has arrived
LOCAL_REFUSAL_GRACE = 10.0


def booked(ws: BinanceWorkspace, client_ids: list[str]) -> bool:
    """Whether the bot's database holds a final state for every one of ``client_ids`` (the bot
    saves a fill when it arrives, between bars)."""
    wanted = set(client_ids)
    marks = ",".join("?" * len(wanted))
    rows = ws.query(f"SELECT client_order_id FROM orders WHERE client_order_id IN ({marks}) "
                    "AND status NOT IN ('submitted', 'accepted', 'partial')", *wanted)
    return {cid for (cid,) in rows} >= wanted


def lockstep(ws: BinanceWorkspace, fake: FakeBinance, catch_up: bool = False):
    """A ``play`` gate for a bot trading on the fake: the next bar closes only once the bot has
    checkpointed the last one, booked every fill the fake made (and so placed what it places on
    a fill: a filled entry's stop-loss and take-profit), and every order it decided was
    answered; a bar that fills orders closes only once the bot has booked those fills. As on a
    market that moves slower than the bot. Makes runs repeatable bar for bar. ``catch_up``: a
    restarted bot that checkpointed before trades the bars it missed before the next closes (a
    market that stands still while the bot is down). A bot with a simulated broker sends no
    order: its orders fill inside the bot at the next bar, so the checkpoint is all to wait for."""
    warm_up = len(fake.closed_bars)  # history is not checkpointed: the first bar may close
    if catch_up and ws.last_bar_ts() is not None:
        warm_up = 0
    noticed: dict[str, float] = {}
    sends_orders = not ws.simulated_broker()
    fake.booked = lambda client_ids: booked(ws, client_ids)

    def gate() -> bool:
        closed = fake.closed_bars
        if len(closed) > warm_up and not ws.checkpointed(closed[-1].ts):
            return False
        with fake.lock:
            final = [o.client_id for o in fake.account.orders.values() if not o.open]
        if final and not booked(ws, final[-4:]):  # the latest: a fill not booked yet
            return False
        if not sends_orders:
            return True
        now = time.monotonic()
        waiting = []
        for (cid,) in ws.query("SELECT client_order_id FROM orders WHERE status = 'submitted'"):
            noticed.setdefault(cid, now)
            # an order the bot refused itself (its rejection is saved with the next bar) never
            # comes; one the fake has seen, even unanswered, is on its way
            if cid in fake.seen_ids:
                waiting.append(cid)
            elif not ws.refused_locally(cid) and now - noticed[cid] < LOCAL_REFUSAL_GRACE:
                waiting.append(cid)
        if not fake.settled(waiting):
            return False
        with fake.lock:  # an order that arrived and filled meanwhile is not booked yet
            return sum(1 for o in fake.account.orders.values() if not o.open) == len(final)
    return gate
