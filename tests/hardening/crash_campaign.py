"""The crash campaign: a bot trading on a loopback venue is killed (SIGKILL) at random moments
around its order placements, again and again, and restarted each time; at the end it must have
lost, doubled and left unprotected nothing.

    python tests/hardening/crash_campaign.py                 # 50 kills on Binance, 50 on IBKR
    python tests/hardening/crash_campaign.py --venue binance --kills 80 --seed 7

One run of the market has room for some 40-45 kills (two order requests per kill, and the
restarts'); the campaign runs it again with the next seed until the kills asked for have landed.

Each kill happens where a crash hurts most: the venue's hook on an order request (an entry, an
exit, a stop-loss/take-profit) kills the bot a random 0-30 ms after the request arrived at the
venue, or just as the venue answers it; or, with the checkpoint held back by another connection's
write lock on the bot's SQLite database, a random moment after a bar closes while the bar's
checkpoint waits. The market then stands still (as the lockstep of the tests makes it) until the
bot, restarted, has reconciled with the venue and warmed up. Figures per venue:

- kills: SIGKILLs that landed (each followed by a restart);
- unprotected: restarts after which an open position had no stop-loss at the venue once the bot
  was ready for the next bar;
- lost: positions the venue holds that the database does not (after the last restart);
- doubled: client order ids placed twice at the venue;
- differing: the trades of the campaign are not the clean run's (entry time, exit time, sizes and
  prices, exit reason), and trades whose entry comes after their exit.

The test suite runs a few kills per venue (tests/hardening/test_crash_campaign.py); this script
runs the full campaign and prints the figures.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for path in (REPO / "src", REPO / "tests", REPO / "tests" / "integration"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bot_workspace import epoch_of, wait_until  # noqa: E402

HISTORY = 260
LOOKBACK = 250  # Wilder's RSI forgets its start slowly: a restart's warm-up gives the same values
BARS = 700
INTERVAL = 300
ACTIVE = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 40}},
          "exit_logic": {"name": "RSIOrBBExitMixin", "params": {"x_rsi_overbought": 60}}}
RISK = {"stop_loss_pct": 1.0, "take_profit_pct": 2.0, "max_daily_trades": 0,
        "max_daily_loss": 0}
KILL_DELAY = 0.03  # seconds after an order request at most
LOCK_SHARE = 0.2  # of the kills: the checkpoint held back by a lock instead
READY_SECONDS = 30.0
MAX_RUNS = 10  # runs of the market (one seed each) to reach the kills asked for


@dataclass
class Figures:
    venue: str
    kills: int = 0
    unprotected: int = 0
    lost: int = 0
    doubled: int = 0
    differing: int = 0
    entry_after_exit: int = 0
    trades: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, other: "Figures") -> None:
        """Count another run of the campaign (another seed) into these figures."""
        for name in ("kills", "unprotected", "lost", "doubled", "differing", "entry_after_exit",
                     "trades"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.notes += other.notes

    def line(self) -> str:
        return (f"{self.venue}: {self.kills} kills, {self.trades} trades; positions lost "
                f"{self.lost}, unprotected {self.unprotected}, orders doubled {self.doubled}, "
                f"trades differing from the clean run {self.differing}, entries after their "
                f"exit {self.entry_after_exit}")

    @property
    def clean(self) -> bool:
        return not (self.unprotected or self.lost or self.doubled or self.differing
                    or self.entry_after_exit)


class Killer:
    """Kills the bot's current process on a chosen order request, or while a bar's checkpoint
    waits for a lock; counts what it killed."""

    def __init__(self, rng: random.Random, kills: int, orders_per_kill: int) -> None:
        self.rng = rng
        self.left = kills
        self.every = orders_per_kill
        self.proc: subprocess.Popen | None = None
        self.seen = 0
        self.killed = threading.Event()  # a kill is decided: the market waits
        self.count = 0
        self._on_answer = False

    def arm(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.killed.clear()
        self._on_answer = False

    def on_order(self, phase: str, params: Any) -> None:
        """The venue's hook (on its own loop): maybe kill the bot around this request."""
        if phase == "answered":
            if self._on_answer:
                self._on_answer = False
                self._kill_after(0.0)
            return
        if self.left <= 0 or self.killed.is_set():
            return
        self.seen += 1
        if self.seen % self.every:
            return
        when = self.rng.choice(("at once", "later", "as answered"))
        if when == "as answered":
            self._on_answer = True
            self.killed.set()  # decided: the market waits from now on
        else:
            self._kill_after(self.rng.uniform(0.0, KILL_DELAY) if when == "later" else 0.0)

    def kill_now(self) -> None:
        self._kill_after(0.0)

    def _kill_after(self, delay: float) -> None:
        proc = self.proc
        self.killed.set()
        self.left -= 1

        def kill() -> None:
            if proc is not None and proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                self.count += 1

        if delay:
            threading.Timer(delay, kill).start()
        else:
            kill()


def hold_checkpoint(db: Path, seconds: float) -> threading.Thread:
    """Another connection holds the bot database's write lock for ``seconds``."""
    def hold() -> None:
        con = sqlite3.connect(db, timeout=30, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            time.sleep(seconds)
            con.execute("ROLLBACK")
        finally:
            con.close()
    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


# -- Binance -------------------------------------------------------------------------------------
def binance_campaign(root: Path, kills: int, seed: int, bars: int = BARS) -> Figures:
    """The campaign on the loopback Binance, over a market of ``bars`` bars."""
    figures = Figures("binance")
    clean = _binance_run(root / "clean", None, bars)[0]
    rng = random.Random(seed)
    trades, ws, fake = _binance_run(root / "killed", Killer(rng, kills, 2), bars, figures)
    _compare(figures, clean, trades)
    with fake.lock:
        sent = [r.params.get("newClientOrderId") or r.params.get("belowClientOrderId")
                for r in fake.requests if r.method == "POST" and r.answered == 200
                and r.path in ("/api/v3/order", "/api/v3/orderList/oco")]
        held = float(next((b["free"] for b in fake.account.balances() if b["asset"] == "ETH"),
                          0) or 0) + float(fake.account.locked.get("ETH", 0))
    figures.doubled = len(sent) - len(set(sent))
    _count_lost(figures, ws, "Binance", held, step=0.001)
    fake.stop()
    return figures


def _binance_run(root: Path, killer: Killer | None, bars: int, figures: Figures | None = None):
    from binance_workspace import BinanceWorkspace, klines_answered, lockstep, sample_bars
    from fakes.binance import FakeBinance

    fake = FakeBinance(sample_bars(bars), history=HISTORY).start()
    ws = BinanceWorkspace(root, fake, bot_id="7401")
    ws.write_binance_config(broker="binance_paper", lookback=LOOKBACK, strategy=ACTIVE,
                            risk_management=RISK, logging={"level": "INFO"})
    last = fake.market.bars[-2].ts
    if killer is not None:
        fake.on_order = killer.on_order

    def protected() -> bool:
        stop = _stop_loss_id(ws)
        with fake.lock:
            return stop is None or any(o.client_id == stop and o.open
                                       for o in fake.account.orders.values())

    _campaign(ws, fake, killer, figures, last, protected,
              play=lambda gate: fake.play(gate=gate, timeout=600),
              stop_playing=fake.stop_playing, ready=lambda since: klines_answered(fake, since),
              mark=lambda: len(fake.requests), gate=lambda: lockstep(ws, fake, catch_up=True),
              advance_held=lambda: fake.advance(1))
    if killer is None:
        fake.stop()
    return ws.trades(), ws, fake


# -- IBKR ----------------------------------------------------------------------------------------
def ibkr_campaign(root: Path, kills: int, seed: int, bars: int = BARS) -> Figures:
    """The campaign on the loopback TWS, over a market of ``bars`` bars."""
    figures = Figures("ibkr")
    clean = _ibkr_run(root / "clean", None, bars)[0]
    rng = random.Random(seed)
    trades, ws, tws = _ibkr_run(root / "killed", Killer(rng, kills, 2), bars, figures)
    _compare(figures, clean, trades)
    refs = [o.order_ref for o in tws.orders()]
    figures.doubled = len(refs) - len(set(refs))
    _count_lost(figures, ws, "IB", sum(p.quantity for p in tws.book.positions.values()), step=1)
    tws.stop()
    return figures


def _ibkr_run(root: Path, killer: Killer | None, bars: int, figures: Figures | None = None):
    from fakes.tws import FakeTWS
    from ibkr_workspace import IbkrWorkspace, Market, lockstep, sample_bars

    tws = FakeTWS().start()
    market = Market(tws, sample_bars(bars), HISTORY)
    ws = IbkrWorkspace(root, tws, bot_id="7402")
    ws.write_ibkr_config(lookback=LOOKBACK, strategy=ACTIVE, risk_management=RISK,
                         logging={"level": "INFO"})
    last = market.bars[-2].ts
    if killer is not None:
        tws.on_order = killer.on_order

    def protected() -> bool:
        stop = _stop_loss_id(ws)
        return stop is None or any(o.order_ref == stop and not o.done for o in tws.orders())

    _campaign(ws, tws, killer, figures, last, protected, play=lambda gate: market.play(gate=gate),
              stop_playing=market.stop_playing, ready=lambda since: len(tws.historical) > since,
              mark=lambda: len(tws.historical), gate=lambda: lockstep(ws, market, catch_up=True),
              advance_held=market.advance)
    if killer is None:
        tws.stop()
    return ws.trades(), ws, tws


def _stop_loss_id(ws: Any) -> str | None:
    """The client order id the open position's stop-loss has at the venue; None without one."""
    rows = ws.query("SELECT entry_ts FROM positions")
    return f"{ws.bot_id}-{int(epoch_of(rows[0][0]))}-sl" if rows else None


# -- the campaign --------------------------------------------------------------------------------
def _campaign(ws: Any, venue: Any, killer: Killer | None, figures: Figures | None, last: float,
              protected: Callable[[], bool], *, play: Callable, stop_playing: Callable,
              ready: Callable[[int], bool], mark: Callable[[], int], gate: Callable,
              advance_held: Callable[[], Any]) -> None:
    """Run the bot to the market's end; with ``killer``, kill and restart it on the way."""
    rng = killer.rng if killer is not None else None
    while True:
        since = mark()
        proc = ws.start()
        if killer is not None:
            killer.arm(proc)
        try:
            if not wait_until(lambda: ready(since), proc, timeout=READY_SECONDS):
                raise RuntimeError(f"the bot did not start:\n{proc.communicate(timeout=10)[1]}")
            in_step = gate()

            def lockstep_gate() -> bool:  # never a bar while the bot is (about to be) dead
                return proc.poll() is None and not (killer is not None and
                                                    killer.killed.is_set()) and in_step()
            def dying() -> bool:
                return killer is not None and killer.killed.is_set()
            ready_and_protected = wait_until(lambda: dying() or (lockstep_gate() and protected()),
                                             proc, timeout=READY_SECONDS)
            if figures is not None and not ready_and_protected and proc.poll() is None \
                    and not dying():
                figures.unprotected += 1  # ready for the next bar, and a position without a stop
                figures.notes.append(f"unprotected after a restart: {ws.query('SELECT * FROM positions')}")
            if killer is not None and killer.left > 0 and rng.random() < LOCK_SHARE:
                # the next bar's checkpoint waits for another connection's lock: kill meanwhile
                holder = hold_checkpoint(ws.db_path, 1.0)
                advance_held()
                time.sleep(rng.uniform(0.0, 0.5))
                killer.kill_now()
                holder.join(5)
            else:
                play(lockstep_gate)
                wait_until(lambda: ws.checkpointed(last) or
                           (killer is not None and killer.killed.is_set()), proc, timeout=600)
        finally:
            stop_playing()
        if proc.poll() is not None or (killer is not None and killer.killed.is_set()):
            proc.wait(timeout=30)
            if ws.checkpointed(last):
                return
            if figures is not None:
                figures.kills += 1
            continue
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
        return


def _count_lost(figures: Figures, ws: Any, venue: str, held: float, step: float) -> None:
    """A position is lost when the venue holds more than the bot's database says it holds
    (its holding: the open position and any dust below a lot its exits could not sell)."""
    holding = sum(size for (size,) in ws.query("SELECT size FROM holdings"))
    if held - holding >= step * 0.999:
        figures.lost += 1
        figures.notes.append(f"{venue} holds {held:.8g}, the database {holding:.8g}")


def _compare(figures: Figures, clean: list[tuple], trades: list[tuple]) -> None:
    figures.trades = len(trades)
    if trades != clean:
        figures.differing = max(1, sum(1 for a, b in zip(trades, clean) if a != b)
                                + abs(len(trades) - len(clean)))
        figures.notes.append(f"{len(trades)} trades against the clean run's {len(clean)}")
    figures.entry_after_exit = sum(1 for t in trades if t[0] > t[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venue", choices=("binance", "ibkr", "both"), default="both")
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    venues = ("binance", "ibkr") if args.venue == "both" else (args.venue,)
    ok = True
    for name in venues:
        run = binance_campaign if name == "binance" else ibkr_campaign
        started = time.monotonic()
        figures, seed, runs = Figures(name), args.seed, 0
        while figures.kills < args.kills and runs < MAX_RUNS:  # a market has so many orders
            with tempfile.TemporaryDirectory() as root:
                figures.add(run(Path(root), args.kills - figures.kills, seed))
            seed, runs = seed + 1, runs + 1
        print(f"{figures.line()} in {runs} run(s) of the market, seeds {args.seed}-{seed - 1} "
              f"({time.monotonic() - started:.0f} s)")
        for note in figures.notes:
            print(f"  {note}")
        ok = ok and figures.clean
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
