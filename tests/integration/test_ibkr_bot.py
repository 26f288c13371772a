"""Bots on Interactive Brokers through the loopback TWS, as a user runs them (real CLI in a
subprocess, ib_async against the fake's socket protocol): bars kept up to date, orders with the
bot's client ids as orderRef, fills and fees from TWS, every connection fault survived with the
trades of a clean run, a restart that finds its open orders at IB."""
from __future__ import annotations

import json
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot_workspace import kill_hard, replayed_trades, wait_until
from fakes.tws import LIVE_ACCOUNT, FakeTWS
from ibkr_workspace import IbkrWorkspace, Market, lockstep, sample_bars

HISTORY = 100
LOOKBACK = 60
BARS = 400
ACTIVE = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 40}},
          "exit_logic": {"name": "RSIOrBBExitMixin", "params": {"x_rsi_overbought": 60}}}


def history_answered(tws: FakeTWS, since: int = 0) -> bool:
    """True once the bot has asked for its warm-up (the market may move from then on)."""
    return len(tws.historical) > since


def run_bot(root: Path, tws: FakeTWS, market: Market, *, broker: str = "ibkr", faults=(),
            stop_at: float | None = None, bot_id: str = "7301", extra=(),
            config: dict | None = None) -> IbkrWorkspace:
    """Run a bot on ``tws`` in lockstep with ``market`` until it has checkpointed ``stop_at``
    (default: the last bar), calling each fault ((live bars played, fn)) on the way."""
    ws = IbkrWorkspace(root, tws, bot_id=bot_id)
    if not ws.config_path.exists():
        ws.write_ibkr_config(broker=broker, lookback=LOOKBACK, strategy=ACTIVE, **(config or {}))
    since = len(tws.historical)
    proc = ws.start(*extra)
    try:
        assert wait_until(lambda: history_answered(tws, since), proc, timeout=30), "no warm-up"
        gate = lockstep(ws, market)
        for at, fault in sorted(faults, key=lambda f: f[0]):
            while market.closed < HISTORY + at:
                assert wait_until(gate, proc, timeout=30), "the bot stopped following the market"
                market.advance()
            assert wait_until(gate, proc, timeout=30)
            fault()
        last = stop_at if stop_at is not None else market.bars[-2].ts
        market.play(gate=gate)
        assert wait_until(lambda: ws.checkpointed(last), proc, timeout=120), "the bot fell behind"
    finally:
        market.stop_playing()
        proc.send_signal(signal.SIGINT)
        ws.stderr = proc.communicate(timeout=30)[1]
    assert proc.returncode == 0, ws.stderr
    assert "Traceback" not in ws.stderr
    return ws


def new_market(**fake_options) -> tuple[FakeTWS, Market]:
    tws = FakeTWS(**fake_options).start()
    return tws, Market(tws, sample_bars(BARS), HISTORY)


@dataclass
class Run:
    """A finished run: its workspace, its (stopped) TWS and its trades."""

    ws: IbkrWorkspace
    tws: FakeTWS
    trades: list[tuple]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory) -> Run:
    """One undisturbed run on the ibkr broker: the reference the other runs must equal."""
    tws, market = new_market()
    try:
        ws = run_bot(tmp_path_factory.mktemp("clean"), tws, market)
    finally:
        tws.stop()
    trades = ws.trades()
    assert len(trades) >= 3
    return Run(ws, tws, trades)


@pytest.fixture(scope="module")
def clean_run(reference_run: Run) -> list[tuple]:
    return reference_run.trades


def test_paper_on_ibkr_bars_trades_exactly_as_replay_of_the_same_bars(tmp_path):
    tws, market = new_market()
    try:
        ws = run_bot(tmp_path, tws, market, broker="paper")
        orders = tws.orders()
    finally:
        tws.stop()
    trades = ws.trades()
    assert len(trades) >= 3
    bars = sample_bars(BARS)[HISTORY - LOOKBACK:BARS - 1]  # warm-up + every closed live bar
    assert trades == replayed_trades(ws.config_path, bars, LOOKBACK)
    request = tws.historical[0]
    assert (request.what_to_show, request.bar_size, request.keep_up_to_date) == \
        ("TRADES", "5 mins", True)
    assert f"{LOOKBACK} history bar(s) loaded" in ws.stderr
    assert not orders, "a paper bot sends no order to IB"


def test_a_bot_trades_through_ibkr_with_fills_and_fees_from_tws(reference_run):
    # the module's reference run (each fault test below trades the same bars again and must
    # equal it: the same bars, the same trades, every run)
    ws, executions, orders = reference_run.ws, reference_run.tws.executions(), \
        reference_run.tws.orders()
    trades = ws.trades()
    refs = [o.order_ref for o in orders]
    assert refs and len(refs) == len(set(refs)), "an order was placed twice"
    assert all(ref.startswith(f"{ws.bot_id}-") for ref in refs)  # the bot's client order ids
    filled = {o[0]: o for o in ws.orders() if o[3] == "filled"}
    assert filled and set(filled) <= set(refs)
    fees = {}
    for e in executions:
        fees[e.order.order_ref] = fees.get(e.order.order_ref, 0.0) + e.commission
    for cid, row in filled.items():  # fees as TWS's commission reports told them
        assert row[7] == pytest.approx(fees[cid])
    journal = ws.root / "logs" / "json" / ws.bot_id / "trades.jsonl"
    assert len(journal.read_text().splitlines()) == len(trades)


FAULTS = {  # a fault during the run, and what the bot's log says about it
    # reconnected, caught up on every order, and the position compared with IB's again
    "socket dropped": (lambda tws: tws.drop_connections(),
                       "after reconnecting to TWS / IB Gateway: the account agrees with the bot"),
    "1100 then 1102": (lambda tws: (tws.connectivity_lost(), tws.connectivity_restored()),
                       "TWS reconnected to IB"),
    "1100 then 1101": (lambda tws: (tws.connectivity_lost(),
                                    tws.connectivity_restored(data_lost=True)),
                       "TWS reconnected to IB"),
    "1101 alone": (lambda tws: tws.connectivity_restored(data_lost=True),
                   "TWS lost the market data subscriptions (1101)"),
}


@pytest.mark.parametrize("fault, evidence", list(FAULTS.values()), ids=list(FAULTS))
def test_each_connection_fault_mid_run_is_survived_with_the_trades_of_a_clean_run(
        tmp_path, fault, evidence, clean_run):
    tws, market = new_market()
    try:
        ws = run_bot(tmp_path, tws, market, faults=[(40, lambda: fault(tws)),
                                                    (150, lambda: fault(tws))])
        orders = tws.orders()
    finally:
        tws.stop()
    assert evidence in ws.stderr, "\n".join(  # what the log said instead
        line for line in ws.stderr.splitlines() if "WARNING" in line or "reconnect" in line)
    assert ws.trades() == clean_run
    refs = [o.order_ref for o in orders]
    assert len(refs) == len(set(refs)), "an order was placed twice"
    (bars,) = ws.query("SELECT count(*) FROM equity")[0]
    assert bars == BARS - HISTORY - 1  # every live bar once: nothing missed, nothing twice


def bars_before(entry_ts: float) -> int:
    """Live bars to play so that the bar whose close decided the entry filled at ``entry_ts``
    is the last one closed (the entry and, at its fill, its protective orders went out)."""
    index = next(i for i, b in enumerate(sample_bars(BARS)) if b.ts == entry_ts)
    return index - HISTORY


def test_an_order_ib_rejects_is_an_order_rejected_event_and_trading_goes_on(tmp_path, clean_run):
    # the stop-loss of the clean run's second trade, which left by its exit signal, is rejected
    assert clean_run[1][7] != "stop_loss"
    tws, market = new_market()
    reject = lambda: tws.reject_next("Insufficient buying power", code=201,  # noqa: E731
                                     order_type="STP")
    try:  # armed before the entry, so the stop-loss placed at its fill is the one refused
        ws = run_bot(tmp_path, tws, market, faults=[(bars_before(clean_run[1][0]) - 1, reject)])
    finally:
        tws.stop()
    events = ws.events("order_rejected")
    messages = [e["message"] for e in events]
    assert any("Insufficient buying power" in m and "201" in m for m in messages), messages
    rejected = [o for o in ws.orders() if o[3] == "rejected"]
    assert [o[1] for o in rejected] == ["stop_loss"]
    assert ws.trades() == clean_run  # the exit signal closed the trade as in the clean run


def holding_with_protection(ws: IbkrWorkspace, tws: FakeTWS):
    def check() -> bool:
        working = [o for o in tws.orders() if not o.done and o.order_type in ("STP", "LMT")]
        return ws.has_open_position() and len(working) == 2
    return check


def test_a_restart_finds_its_open_ib_orders_and_never_places_them_twice(tmp_path, clean_run):
    tws, market = new_market()
    try:
        ws = IbkrWorkspace(tmp_path, tws)
        ws.write_ibkr_config(lookback=LOOKBACK, strategy=ACTIVE)
        proc = ws.start()
        try:
            assert wait_until(lambda: history_answered(tws), proc, timeout=30)
            gate = lockstep(ws, market)
            holding = holding_with_protection(ws, tws)
            market.play(gate=lambda: gate() and not holding())
            assert wait_until(lambda: gate() and holding(), proc, timeout=60), "never got there"
        finally:
            market.stop_playing()
            kill_hard(proc)
        ws = run_bot(tmp_path, tws, market)
        orders = tws.orders()
    finally:
        tws.stop()
    assert "already at IB: following it, not placing it again" in ws.stderr
    assert ws.trades() == clean_run
    refs = [o.order_ref for o in orders]
    assert len(refs) == len(set(refs)), "an order was placed twice"


def test_a_live_account_needs_confirmation_and_live_a_paper_account_does_not(tmp_path):
    tws, market = new_market(accounts=(LIVE_ACCOUNT,))
    try:
        ws = IbkrWorkspace(tmp_path, tws)
        ws.write_ibkr_config(lookback=LOOKBACK, strategy=ACTIVE)
        refused = ws.run(timeout=60)
        ws.write_ibkr_config(lookback=LOOKBACK, strategy=ACTIVE, live_trading_confirmed=True)
        still = ws.run(timeout=60)
        orders = tws.orders()
    finally:
        tws.stop()
    for result in (refused, still):
        assert result.returncode != 0 and "Traceback" not in result.stderr
    assert f"live account {LIVE_ACCOUNT}" in refused.stderr
    assert '"live_trading_confirmed": true in the config and --live' in refused.stderr
    assert "without --live on the command line" in still.stderr
    assert not orders


def test_a_client_id_in_use_and_an_unknown_contract_are_clear_start_up_errors(tmp_path):
    tws = FakeTWS().start()
    try:
        from ib_async import IB
        holder = IB()
        holder.connect("127.0.0.1", tws.port, clientId=5, timeout=5)
        try:
            ws = IbkrWorkspace(tmp_path, tws, extra_env={"IBKR_CLIENT_ID": "5"})
            ws.write_ibkr_config(lookback=LOOKBACK)
            taken = ws.run(timeout=60)
        finally:
            holder.disconnect()
        ws = IbkrWorkspace(tmp_path, tws)
        ws.write_ibkr_config(broker="paper", lookback=LOOKBACK, symbol="DUAL")  # data only
        ambiguous = ws.run(timeout=60)
    finally:
        tws.stop()
    for result in (taken, ambiguous):
        assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "refused client id 5" in taken.stderr and "IBKR_CLIENT_ID" in taken.stderr
    assert "is ambiguous at Interactive Brokers: 2 contracts match" in ambiguous.stderr
    assert "(conId 70001)" in ambiguous.stderr and "(conId 70002)" in ambiguous.stderr


def test_config_0006_runs_against_tws_pointed_at_by_ibkr_port(tmp_path):
    """The shipped IBKR example, unchanged but for where TWS listens (``IBKR_PORT``)."""
    shipped = json.loads((Path(__file__).resolve().parents[2] / "config" / "trading" /
                          "0006.json").read_text())
    shipped.pop("$schema", None)
    lookback = shipped["data"]["lookback_bars"]
    tws = FakeTWS().start()
    try:
        market = Market(tws, sample_bars(lookback + 200), lookback + 100)
        ws = IbkrWorkspace(tmp_path, tws, bot_id="0006")
        ws.config_path.write_text(json.dumps(shipped))
        proc = ws.start()
        try:
            assert wait_until(lambda: history_answered(tws), proc, timeout=30), "no warm-up"
            gate = lockstep(ws, market)
            market.play(gate=gate)
            last = market.bars[-2].ts
            assert wait_until(lambda: ws.checkpointed(last), proc, timeout=120), "fell behind"
        finally:
            market.stop_playing()
            proc.send_signal(signal.SIGINT)
            ws.stderr = proc.communicate(timeout=30)[1]
        request = tws.historical[0]
    finally:
        tws.stop()
    assert proc.returncode == 0, ws.stderr
    assert "Traceback" not in ws.stderr
    assert f"{lookback} history bar(s) loaded" in ws.stderr
    assert (request.symbol, request.what_to_show, request.bar_size) == ("AAPL", "TRADES", "5 mins")
    (bars,) = ws.query("SELECT count(*) FROM equity")[0]
    assert bars == 99  # every live bar, traded through the ibkr broker on the paper account


def test_partial_fills_move_the_position_as_they_come(tmp_path, clean_run):
    tws, market = new_market()
    tws.set_fill_policy(parts=2)  # every fill arrives as two executions
    try:
        ws = run_bot(tmp_path, tws, market)
        executions = tws.executions()
    finally:
        tws.stop()
    journal = [json.loads(line) for line in
               (ws.root / "logs" / "json" / ws.bot_id / "orders.jsonl").read_text().splitlines()]
    entries = [o for o in journal if o["purpose"] == "entry"]
    partial = [o for o in entries if o["status"] == "partial"]
    assert partial and all(0 < o["filled_size"] < o["size"] for o in partial)
    filled = {o["client_order_id"]: o for o in entries if o["status"] == "filled"}
    for o in partial:  # the rest of the order arrives later
        assert filled[o["client_order_id"]]["filled_size"] > o["filled_size"]
    trades = ws.trades()
    assert len(trades) == len(clean_run)
    for trade, reference in zip(trades, clean_run):  # the same sizes and (average) prices
        assert trade[:3] == reference[:3] and trade[3:5] == pytest.approx(reference[3:5])
    assert len(executions) >= 4 * len(trades)  # two orders a trade, two executions an order


def test_a_fill_with_no_bar_after_it_is_protected_saved_and_announced_at_once(tmp_path,
                                                                            webhook_fake):
    """The market holds still after the first entry fills: its stop-loss / take-profit reach
    TWS, the position reaches the database and the trade_entry message reaches the webhook, all
    without another bar."""
    tws, market = new_market()
    ws = IbkrWorkspace(tmp_path, tws, bot_id="7301",
                       extra_env={"WEBHOOK_URL": webhook_fake.hook_url})
    ws.write_ibkr_config(lookback=LOOKBACK, strategy=ACTIVE,
                         risk_management={"stop_loss_pct": 5.0, "take_profit_pct": 10.0},
                         notifications={"enabled": True, "webhook": {
                             "enabled": True, "notify_on": ["trade_entry"], "format": "json"}})

    def entry_fill():
        return next((e for e in tws.executions() if e.order.order_ref.endswith("-entry")), None)

    def protection(stem: str) -> list:
        return [o for o in tws.orders() if o.order_ref in (f"{stem}-sl", f"{stem}-tp")]

    proc = ws.start()
    try:
        assert wait_until(lambda: history_answered(tws), proc, timeout=30), "no warm-up"
        gate = lockstep(ws, market)
        market.play(gate=lambda: entry_fill() is None and gate())
        assert wait_until(lambda: entry_fill() is not None, proc, timeout=60), "no entry"
        closed = market.closed
        fill = entry_fill()
        stem = f"{ws.bot_id}-{int(fill.order.order_ref.split('-')[1]) + 300}"
        assert wait_until(lambda: len(protection(stem)) == 2, proc, timeout=10), "no protection"
        assert wait_until(ws.has_open_position, proc, timeout=10), "no position saved"
        assert wait_until(lambda: webhook_fake.bodies(), proc, timeout=10), "no announcement"
        assert market.closed == closed  # all of it with the market held still
    finally:
        market.stop_playing()
        proc.send_signal(signal.SIGINT)
        ws.stderr = proc.communicate(timeout=30)[1]
        tws.stop()
    stop, take = sorted(protection(stem), key=lambda o: o.order_type)[::-1]
    assert (stop.order_type, take.order_type) == ("STP", "LMT")
    assert stop.oca_group and stop.oca_group == take.oca_group
    assert stop.placed_at - fill.at < 1.0, "the stop-loss reached TWS a second after the fill"
    entry = ws.query("SELECT status, filled_size FROM orders WHERE client_order_id = ?",
                     fill.order.order_ref)
    assert entry and entry[0][0] == "filled" and entry[0][1] > 0
    (event,) = webhook_fake.bodies()
    assert event["kind"] == "trade_entry"
