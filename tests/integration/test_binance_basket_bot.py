"""A basket bot trading at the loopback Binance (issue 17), as a user runs it (the CLI in a
process of its own, python-binance against the fake's wire protocol): three symbols from one BTC
balance, each order at its own symbol, its trades those of a replay of the same bars; killed
(SIGKILL) with two positions open and restarted, it loses and doubles nothing.

The bot reads its bars from files and trades at the fake in lockstep with them (see
``venue_basket_bot.py``): the fake fills its market orders at their symbol's next open and its
stop-losses and take-profits inside their symbol's bars, as the replay's broker does."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from basket_venue_workspace import BASKET, CASH, BasketVenueWorkspace, cut_samples, same_trades
from binance_workspace import BinanceWorkspace
from bot_workspace import wait_until
from fakes.binance import FakeBinance
from fakes.binance.account import Filters, Listing
from trading.core.client_ids import symbol_of
from trading.core.types import Bar

RUNNER = Path(__file__).resolve().parent / "venue_basket_bot.py"
# a grid much finer than the samples' prices: the venue's rounding stays far below a replay's
FINE = Filters(tick=Decimal("1E-12"), step=Decimal("1E-8"), min_qty=Decimal("1E-8"),
               min_notional=Decimal("1E-8"))
PLACING = ("/api/v3/order", "/api/v3/orderList/oco")


class BinanceBasketWorkspace(BasketVenueWorkspace, BinanceWorkspace):
    """The basket bot, run through ``venue_basket_bot.py``, its orders at ``fake``."""

    def __init__(self, root: Path, fake: FakeBinance, bot_id: str = "7402") -> None:
        super().__init__(root, fake, bot_id=bot_id,
                         extra_env={"FAKE_BINANCE_URL": f"http://127.0.0.1:{fake.port}"})

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, str(RUNNER), f"{self.bot_id}.json", *extra]


def new_fake(rows: dict[str, list[list[str]]]) -> FakeBinance:
    """An account of ``CASH`` BTC trading the basket, without fees (as the replay), each symbol
    priced at its first bar's open."""
    first = float(rows[BASKET[0]][0][1])
    backdrop = [Bar(1_515_560_100.0 + 300 * i, first, first, first, first, 0.0) for i in range(3)]
    fake = FakeBinance(backdrop, symbol=BASKET[0], base=BASKET[0][:-3], quote="BTC", history=2,
                       balances={"BTC": CASH}, filters=FINE, fee_rate=0.0,
                       listings=[Listing(s, s[:-3], "BTC", FINE) for s in BASKET[1:]]).start()
    for symbol in BASKET:
        fake.trade_at(float(rows[symbol][0][1]), symbol)
    return fake


def placements(fake: FakeBinance) -> list[tuple[str, str]]:
    """(client id, symbol) of every order the fake took (an OCO: both its orders)."""
    with fake.lock:
        requests = [r for r in fake.requests if r.method == "POST" and r.path in PLACING
                    and r.answered == 200]
    placed = []
    for r in requests:
        for key in ("newClientOrderId", "belowClientOrderId", "aboveClientOrderId"):
            if key in r.params:
                placed.append((r.params[key], r.params["symbol"]))
    return placed


def finish(ws: BinanceBasketWorkspace, proc: subprocess.Popen[str]) -> None:
    """Wait for the run to end at the end of the files (bounded), and keep its log."""
    try:
        ws.stderr = proc.communicate(timeout=300)[1]
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        ws.stderr = proc.communicate(timeout=60)[1]
        raise AssertionError("the basket bot did not finish its files in time")
    assert proc.returncode == 0, ws.stderr
    assert "Traceback" not in ws.stderr


def check_books(ws: BinanceBasketWorkspace, fake: FakeBinance) -> None:
    """What the account holds of each symbol is what the database says the bot holds; every
    order placed once, on the symbol its id names."""
    placed = placements(fake)
    ids = [cid for cid, _ in placed]
    assert len(ids) == len(set(ids)), "an order was placed twice"
    assert all(symbol_of(cid, BASKET) == symbol for cid, symbol in placed)
    with fake.lock:
        balances = {b["asset"]: Decimal(b["free"]) + Decimal(b["locked"])
                    for b in fake.account.balances()}
    held = ws.holdings()
    for symbol in BASKET:
        assert float(balances.get(symbol[:-3], 0)) == pytest.approx(held.get(symbol, 0.0),
                                                                    abs=1e-8), symbol


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    """The basket's trades at Binance from one run never interrupted, checked against the
    replay and the account."""
    root = tmp_path_factory.mktemp("binance-basket")
    rows = cut_samples(root / "bars")
    fake = new_fake(rows)
    try:
        ws = BinanceBasketWorkspace(root, fake)
        ws.write_config()
        finish(ws, ws.start())
        check_books(ws, fake)
        trades = ws.basket_trades()
        symbols = {t[0] for t in trades}
        assert symbols == set(BASKET), symbols
        assert {t[7] for t in trades} >= {"stop_loss", "take_profit"}
        same_trades(trades, ws.replayed_trades())
        with fake.lock:
            stream_fills = fake.account.trades
        assert len(stream_fills) == 2 * len(trades) + len(ws.open_symbols())
    finally:
        fake.stop()
    return trades


def test_a_basket_bot_at_binance_trades_every_symbol_as_a_replay_of_its_bars(uninterrupted):
    assert len(uninterrupted) >= 6


class KillAtSecondProtection:
    """The fake's order hook: kills the bot as the fake answers the protective OCO of a
    position while another symbol's position is open and protected too."""

    def __init__(self, fake: FakeBinance) -> None:
        self.fake = fake
        self.proc: subprocess.Popen[str] | None = None
        self.killed_with: set[str] = set()

    def __call__(self, phase: str, params: dict[str, str]) -> None:
        if phase != "answered" or "belowClientOrderId" not in params or self.killed_with:
            return
        with self.fake.lock:
            protected = {o.symbol for o in self.fake.account.open_orders() if o.list_id > 0}
        if len(protected) >= 2 and self.proc is not None and self.proc.poll() is None:
            self.killed_with = protected
            os.kill(self.proc.pid, signal.SIGKILL)


def test_a_sigkill_with_two_positions_open_loses_and_doubles_nothing(tmp_path, uninterrupted):
    rows = cut_samples(tmp_path / "bars")
    fake = new_fake(rows)
    killer = KillAtSecondProtection(fake)
    fake.on_order = killer
    try:
        ws = BinanceBasketWorkspace(tmp_path, fake)
        ws.write_config()
        proc = ws.start()
        killer.proc = proc
        assert wait_until(lambda: bool(killer.killed_with), proc, timeout=300), \
            "two positions were never open and protected at once"
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        fake.on_order = None
        held = ws.open_symbols()
        assert killer.killed_with <= held  # each saved before its protection left
        finish(ws, ws.start())  # the restart, to the end of the files
        check_books(ws, fake)
    finally:
        fake.stop()
    for symbol in held:
        assert re.search(rf"resuming open position: [0-9.e+-]+ {symbol} @", ws.stderr), symbol
    assert "following it, not re-sending" in ws.stderr  # the protection found, not placed again
    assert ws.basket_trades() == uninterrupted
