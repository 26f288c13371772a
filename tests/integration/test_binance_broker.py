"""Bots trading on Binance through the loopback exchange, as a user runs them (real CLI in a
subprocess, python-binance against the fake's wire protocol): fills from the user data stream,
positions and trades in the database, every venue fault survived with the trades of a clean run."""
from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from binance_workspace import BinanceWorkspace, klines_answered, lockstep, sample_bars
from bot_workspace import kill_hard, stored_time, wait_until
from fakes.binance import FakeBinance, Fault

HISTORY = 100
LOOKBACK = 60
BARS = 420
ACTIVE = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 40}},
          "exit_logic": {"name": "RSIOrBBExitMixin", "params": {"x_rsi_overbought": 60}}}


def new_fake(**options) -> FakeBinance:
    return FakeBinance(sample_bars(BARS), history=HISTORY, **options).start()


def trade_bot(root: Path, fake: FakeBinance, broker: str = "binance_paper", faults=(),
              stop_at: float | None = None, bot_id: str = "7201", **config) -> BinanceWorkspace:
    """Run a bot on ``fake`` in lockstep with the market until it has checkpointed ``stop_at``
    (default: the last bar), injecting ``faults`` ((live bars played, Fault)) on the way."""
    ws = BinanceWorkspace(root, fake, bot_id=bot_id)
    if not ws.config_path.exists():
        ws.write_binance_config(broker=broker, lookback=LOOKBACK, strategy=ACTIVE, **config)
    since = len(fake.requests)
    proc = ws.start(*(["--live"] if broker == "binance" else []))
    try:
        assert wait_until(lambda: klines_answered(fake, since), proc, timeout=30), "no warm-up"
        gate = lockstep(ws, fake)
        for at, fault in sorted(faults, key=lambda f: f[0]):
            while len(fake.closed_bars) < HISTORY + at:
                assert wait_until(gate, proc, timeout=30), "the bot stopped following the market"
                fake.advance()
            fake.inject(fault)
        last = stop_at if stop_at is not None else fake.market.bars[-2].ts
        fake.play(gate=gate)
        assert wait_until(lambda: ws.checkpointed(last), proc, timeout=120), "the bot fell behind"
    finally:
        fake.stop_playing()
        proc.send_signal(signal.SIGINT)
        ws.stderr = proc.communicate(timeout=30)[1]
    assert proc.returncode == 0, ws.stderr
    assert "Traceback" not in ws.stderr
    return ws


@dataclass
class Run:
    """A finished run: its workspace, its (stopped) exchange and its trades."""

    ws: BinanceWorkspace
    fake: FakeBinance
    trades: list[tuple]


@pytest.fixture(scope="module")
def testnet_run(tmp_path_factory) -> Run:
    """One undisturbed run on the testnet broker: the reference the other runs must equal."""
    fake = new_fake()
    try:
        ws = trade_bot(tmp_path_factory.mktemp("clean"), fake)
    finally:
        fake.stop()
    trades = ws.trades()
    assert len(trades) >= 5
    return Run(ws, fake, trades)


@pytest.fixture(scope="module")
def clean_run(testnet_run: Run) -> list[tuple]:
    return testnet_run.trades


@pytest.mark.parametrize("broker", ["binance_paper", "binance"])
def test_a_bot_trades_on_binance_with_signed_rounded_orders_and_fills_from_the_user_stream(
        tmp_path, broker, testnet_run):
    if broker == "binance_paper":  # the module's reference run is this one
        ws, fake = testnet_run.ws, testnet_run.fake
    else:
        fake = new_fake()
        try:
            ws = trade_bot(tmp_path, fake, broker=broker)
        finally:
            fake.stop()
        assert ws.trades() == testnet_run.trades  # the live account and the testnet trade alike
    trades = ws.trades()
    orders = [r for r in fake.requests if r.method == "POST" and r.path == "/api/v3/order"]
    assert orders and all(r.answered == 200 and r.api_key == fake.api_key for r in orders)
    for r in orders:  # on Binance's grid, with the strategy's deterministic id
        assert Decimal(r.params["quantity"]) % Decimal("0.001") == 0
        assert r.params["newClientOrderId"].startswith(f"{ws.bot_id}-")
        assert "signature" in r.params and "timestamp" in r.params
    assert fake.user_subscriptions >= 1
    rows = ws.orders()
    entries = [o for o in rows if o[1] == "entry"]
    assert entries and all(o[3] == "filled" and o[8] for o in entries)  # with the venue's id
    # fees as Binance charged them: the base asset on buys, the quote on sells, both > 0
    assert all(t[6] > 0 for t in trades)
    assert any(o[1] in ("stop_loss", "take_profit") and o[3] == "filled" for o in rows)
    free_btc = float(next(b["free"] for b in fake.account.balances() if b["asset"] == "BTC"))
    status = json.loads((ws.root / "logs" / "status" / f"{ws.bot_id}.json").read_text())
    assert status["cash"] == pytest.approx(free_btc, abs=1e-8)
    assert status["venue"]["venue"].startswith("binance")
    assert "last_reconcile" in status["venue"] and "streams" in status["venue"]
    # the keys appear nowhere the bot writes: log, journal, status, database
    written = [p for p in ws.root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".sqlite" for p in written) and any(p.suffix == ".log" for p in written)
    for path in written:
        content = path.read_bytes()
        for secret in (fake.api_key, fake.api_secret):
            assert secret.encode() not in content, f"{secret[:4]}... found in {path}"


FAULTS = {  # the fault, and what the bot's log says about it
    "429 with Retry-After": (Fault("status", path="/api/v3/order", method="POST", status=429,
                                   retry_after=1, count=2), "rate limited (429)"),
    "418 ban": (Fault("status", path="/api/v3/order", status=418, retry_after=2, count=1),
                "IP banned by Binance (418)"),
    "5xx on an order": (Fault("status", path="/api/v3/order", method="POST", status=503, count=2),
                        "looking it up before re-sending"),
    "order timeout": (Fault("timeout", path="/api/v3/order", method="POST", delay=3.0),
                      "looking it up before re-sending"),
    "order answer lost": (Fault("lose_response", path="/api/v3/order", method="POST"),
                          "looking it up before re-sending"),
    "-1021 clock": (Fault("clock", path="/api/v3/order", method="POST", count=1),
                    "re-syncing the clock"),
    # re-subscribed, caught up on every order, and the position compared with Binance's again
    "user stream dropped": (Fault("drop_user_streams"),
                            "after reconnecting to Binance: the account agrees with the bot"),
    "kline stream dropped": (Fault("drop_streams"), "backfilled"),
}


@pytest.mark.parametrize("fault, evidence", list(FAULTS.values()), ids=list(FAULTS))
def test_each_venue_fault_mid_run_is_survived_with_the_trades_of_a_clean_run(tmp_path, fault,
                                                                            evidence, clean_run):
    fake = new_fake()
    try:
        # the first entry of the clean run is decided on live bar 18: hit it there
        ws = trade_bot(tmp_path, fake, faults=[(clean_run_entry_bar(clean_run), fault)])
    finally:
        fake.stop()
    assert evidence in ws.stderr, "\n".join(  # what the log said instead
        line for line in ws.stderr.splitlines() if "WARNING" in line or "reconnect" in line)
    assert ws.trades() == clean_run
    sent = [r.params["newClientOrderId"] for r in fake.requests
            if r.method == "POST" and r.path == "/api/v3/order" and r.answered == 200]
    assert len(sent) == len(set(sent)), "an order was placed twice"
    placed = {o.client_id for o in fake.account.orders.values()}
    assert {o[0] for o in ws.orders() if o[3] == "filled"} <= placed


def clean_run_entry_bar(trades: list[tuple]) -> int:
    """How many live bars close before the bar on which the first entry is decided."""
    first_entry = trades[0][0]
    bars = sample_bars(BARS)
    index = next(i for i, b in enumerate(bars) if b.ts == first_entry)
    return index - 1 - HISTORY


def run_until_killed(ws: BinanceWorkspace, fake: FakeBinance, condition) -> None:
    """Start the bot, play in lockstep until ``condition()`` holds between two bars, SIGKILL it."""
    proc = ws.start()
    try:
        assert wait_until(lambda: klines_answered(fake), proc, timeout=30)
        gate = lockstep(ws, fake)
        fake.play(gate=lambda: gate() and not condition())
        assert wait_until(lambda: gate() and condition(), proc, timeout=60), "never got there"
    finally:
        fake.stop_playing()
        kill_hard(proc)


def holding_with_protection(ws: BinanceWorkspace, fake: FakeBinance):
    def check() -> bool:
        with fake.lock:
            resting = [o for o in fake.account.open_orders() if o.list_id > 0]
        return ws.has_open_position() and len(resting) == 2
    return check


def test_a_restart_finds_the_open_protective_orders_on_the_exchange_and_follows_them(
        tmp_path, clean_run):
    fake = new_fake()
    try:
        ws = BinanceWorkspace(tmp_path, fake, bot_id="7201")
        ws.write_binance_config(broker="binance_paper", lookback=LOOKBACK, strategy=ACTIVE)
        run_until_killed(ws, fake, holding_with_protection(ws, fake))
        ws = trade_bot(tmp_path, fake)
    finally:
        fake.stop()
    assert "following it, not re-sending" in ws.stderr
    assert ws.trades() == clean_run
    oco = [r for r in fake.requests if r.path == "/api/v3/orderList/oco" and r.answered == 200]
    assert len(oco) == len({r.params["belowClientOrderId"] for r in oco}), "an OCO was placed twice"


def test_a_fill_made_while_the_bot_was_down_is_adopted_and_the_trade_is_right(tmp_path, clean_run):
    fake = new_fake()
    try:
        ws = BinanceWorkspace(tmp_path, fake, bot_id="7201")
        ws.write_binance_config(broker="binance_paper", lookback=LOOKBACK, strategy=ACTIVE)
        run_until_killed(ws, fake, holding_with_protection(ws, fake))
        entry = ws.open_position_entry()
        while any(o.list_id > 0 for o in fake.account.open_orders()):
            assert fake.advance(hold=False), "the protective orders never filled"  # bot down
        filled = next(o for o in fake.account.orders.values()
                      if o.list_id > 0 and o.status == "FILLED")
        ws = trade_bot(tmp_path, fake)
    finally:
        fake.stop()
    assert "adopting a fill" in ws.stderr and "filled" in ws.stderr
    trade = next(t for t in ws.trades() if t[0] == entry)
    reference = next(t for t in clean_run if t[0] == entry)
    # what the exchange did while the bot was away, recorded as the clean run recorded it
    assert trade[2:5] == reference[2:5]  # size, entry price, exit price
    assert trade[3] and trade[4] == pytest.approx(float(filled.quote / filled.executed))
    assert trade[5:8] == reference[5:8]  # pnl, fees, exit reason
    assert not ws.query("SELECT 1 FROM positions WHERE entry_ts = ?", stored_time(entry))


def test_an_order_under_the_minimum_notional_is_refused_locally_with_the_reason(tmp_path):
    from fakes.binance.account import Filters
    fake = new_fake(filters=Filters(min_notional=Decimal("0.5")))
    try:
        ws = trade_bot(tmp_path, fake, stop_at=fake.market.bars[HISTORY + 60].ts)
    finally:
        fake.stop()
    rejected = [o for o in ws.orders() if o[3] == "rejected"]
    assert rejected and not ws.trades()
    messages = [json.loads(e)["message"] for e in ws.events("order_rejected")]
    assert messages and all("minimum notional 0.5 BTC" in m for m in messages)
    assert not [r for r in fake.requests if r.path == "/api/v3/order"], "nothing may be sent"


def test_a_venue_rejection_is_recorded_with_binances_message_and_trading_goes_on(tmp_path,
                                                                               clean_run):
    fake = new_fake()
    try:
        ws = trade_bot(tmp_path, fake, faults=[(clean_run_entry_bar(clean_run),
                                                Fault("reject", path="/api/v3/order"))])
    finally:
        fake.stop()
    messages = [json.loads(e)["message"] for e in ws.events("order_rejected")]
    assert any("insufficient balance" in m and "-2010" in m for m in messages)
    assert len(ws.trades()) >= 3  # later signals trade as usual


def test_partial_fills_move_the_position_as_they_come(tmp_path):
    fake = new_fake(split_fills=2)
    try:
        ws = trade_bot(tmp_path, fake)
    finally:
        fake.stop()
    journal = [json.loads(line) for line in
               (ws.root / "logs" / "json" / ws.bot_id / "orders.jsonl").read_text().splitlines()]
    entries = [o for o in journal if o["purpose"] == "entry"]
    partial = [o for o in entries if o["status"] == "partial"]
    assert partial and all(0 < o["filled_size"] < o["size"] for o in partial)
    filled = {o["client_order_id"]: o for o in entries if o["status"] == "filled"}
    for o in partial:  # the whole order arrives later, in two trades at one price
        assert filled[o["client_order_id"]]["filled_size"] > o["filled_size"]
    trades = ws.trades()
    assert len(trades) >= 3
    trades_at_fake = len(fake.account.trades)
    assert trades_at_fake >= 2 * len(trades)


def test_a_fill_with_no_bar_after_it_is_protected_saved_and_announced_at_once(tmp_path,
                                                                            webhook_fake):
    """The market holds still after the first entry fills: its stop-loss / take-profit reach
    Binance, the position reaches the database and the trade_entry message reaches the webhook,
    all without another bar."""
    fake = new_fake()
    ws = BinanceWorkspace(tmp_path, fake, bot_id="7201",
                          extra_env={"WEBHOOK_URL": webhook_fake.hook_url})
    ws.write_binance_config(broker="binance_paper", lookback=LOOKBACK, strategy=ACTIVE,
                            notifications={"enabled": True, "webhook": {
                                "enabled": True, "notify_on": ["trade_entry"], "format": "json"}})

    def entry_filled() -> tuple[str, tuple[float, float]] | None:
        with fake.lock:
            return next(((c, at) for c, at in fake.filled_at.items() if c.endswith("-entry")),
                        None)

    proc = ws.start()
    try:
        assert wait_until(lambda: klines_answered(fake), proc, timeout=30), "no warm-up"
        gate = lockstep(ws, fake)
        fake.play(gate=lambda: entry_filled() is None and gate())
        assert wait_until(lambda: entry_filled() is not None, proc, timeout=60), "no entry"
        closed = len(fake.closed_bars)
        cid, (filled_at, _) = entry_filled()
        stem = f"{ws.bot_id}-{int(cid.split('-')[1]) + 300}"  # entered in the next bar's time

        def protected() -> float | None:
            with fake.lock:
                return next((at for c, at in fake.order_received_at if c == f"{stem}-sl"), None)

        assert wait_until(lambda: protected() is not None, proc, timeout=10), "no protection"
        assert wait_until(ws.has_open_position, proc, timeout=10), "no position saved"
        assert wait_until(lambda: webhook_fake.bodies(), proc, timeout=10), "no announcement"
        assert len(fake.closed_bars) == closed  # all of it with the market held still
    finally:
        fake.stop_playing()
        proc.send_signal(signal.SIGINT)
        ws.stderr = proc.communicate(timeout=30)[1]
        fake.stop()
    assert protected() - filled_at < 1.0, "the stop-loss reached Binance a second after the fill"
    with fake.lock:
        oco = [r for r in fake.requests if r.path == "/api/v3/orderList/oco"]
    assert [r.params["belowClientOrderId"] for r in oco] == [f"{stem}-sl"]
    assert oco[0].params["aboveClientOrderId"] == f"{stem}-tp"
    entry = ws.query("SELECT status, filled_size FROM orders WHERE client_order_id = ?", cid)
    assert entry and entry[0][0] == "filled" and entry[0][1] > 0
    (event,) = webhook_fake.bodies()
    assert event["kind"] == "trade_entry" and event["symbol"] == "ETHBTC"
