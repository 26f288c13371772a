"""A basket bot's state in the store, on SQLite and PostgreSQL: an open position and a holding
per symbol, trades of several symbols on one bar, and what a restart gets back."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from store_helpers import BOT, T0, bar, closed_trade, open_trade, order
from trading.core.errors import DamagedDatabase, StoreError
from trading.core.types import PendingOrder

ETC, XLM, TRX = "ETCBTC", "XLMBTC", "TRXBTC"


def stored_rows(engine, table: str) -> list[tuple]:
    """(symbol, size) of the bot's rows in ``table``, as another tool sees them."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            text(f"SELECT symbol, size FROM {table} WHERE bot_id = :bot ORDER BY symbol"),
            {"bot": BOT})]


def test_two_open_positions_come_back_by_symbol_after_a_restart(open_store):
    store = open_store()
    xlm, etc = open_trade(T0, symbol=XLM), open_trade(T0 + 60, bars_held=1, symbol=ETC)
    store.checkpoint(BOT, **bar(T0 + 60, positions={XLM: xlm, ETC: etc}, orders=[
        order(T0 + 60, "tb-trx-entry", "submitted", symbol=TRX)]))
    restart = open_store().load_snapshot(BOT)
    assert restart.positions == {ETC: etc, XLM: xlm}
    assert list(restart.positions) == [ETC, XLM]  # in symbol order
    assert restart.position == etc  # a one-symbol caller's view: the first by symbol
    assert restart.pending_orders == (PendingOrder("entry", 0.5, "tb-trx-entry", "", TRX),)


def test_closing_one_position_deletes_only_its_row(open_store, db_url, raw_engine):
    store = open_store()
    etc, xlm, trx = (open_trade(T0, symbol=s) for s in (ETC, XLM, TRX))
    store.checkpoint(BOT, **bar(T0, positions={ETC: etc, XLM: xlm, TRX: trx}))
    store.checkpoint("0002", **bar(T0, positions={TRX: trx}))
    xlm.bars_held = 4
    store.checkpoint(BOT, **bar(T0 + 60, positions={ETC: etc, XLM: xlm},
                                trades=[closed_trade(T0, T0 + 60, symbol=TRX)]))
    assert stored_rows(raw_engine(db_url), "positions") == [(ETC, 0.5), (XLM, 0.5)]
    assert list(store.load_snapshot("0002").positions) == [TRX]  # another bot's rows stay
    restart = open_store().load_snapshot(BOT)
    assert list(restart.positions) == [ETC, XLM] and restart.positions[XLM].bars_held == 4

    store.save_between_bars(BOT, cash=10_000.0, value=10_000.0, orders=(), trades=(),
                            positions={XLM: xlm}, risk_state={})  # ETC's stop filled
    assert list(open_store().load_snapshot(BOT).positions) == [XLM]
    store.checkpoint(BOT, **bar(T0 + 120))
    restart = open_store().load_snapshot(BOT)
    assert (restart.positions, restart.position) == ({}, None)


def test_holdings_are_kept_per_symbol_and_a_symbol_left_out_holds_nothing(open_store, db_url,
                                                                          raw_engine):
    store = open_store()
    store.checkpoint(BOT, **bar(T0, holdings={XLM: (1_000.0, 0.0000021), ETC: (3.0, 0.0003)}))
    restart = open_store().load_snapshot(BOT)
    assert restart.holdings == {ETC: (3.0, 0.0003), XLM: (1_000.0, 0.0000021)}
    assert list(restart.holdings) == [ETC, XLM] and restart.holding == (3.0, 0.0003)

    # ETC sold down to dust, XLM unchanged, TRX bought between bars
    store.save_between_bars(BOT, cash=1.0, value=1.0, orders=(), trades=(), positions={},
                            risk_state={}, holdings={ETC: (0.004, 0.0003), TRX: (50.0, 0.000001),
                                                     XLM: (1_000.0, 0.0000021)})
    assert open_store().load_snapshot(BOT).holdings == {
        ETC: (0.004, 0.0003), TRX: (50.0, 0.000001), XLM: (1_000.0, 0.0000021)}
    store.checkpoint(BOT, **bar(T0 + 60))  # holdings not kept by this caller: left alone
    assert open_store().load_snapshot(BOT).holdings[TRX] == (50.0, 0.000001)
    store.checkpoint(BOT, **bar(T0 + 120, holdings={TRX: (50.0, 0.000001)}))  # the rest sold
    assert stored_rows(raw_engine(db_url), "holdings") == [(TRX, 50.0)]
    store.checkpoint(BOT, **bar(T0 + 180, holdings={}))
    restart = open_store().load_snapshot(BOT)
    assert (restart.holdings, restart.holding) == (None, None)  # none kept


def test_a_bot_that_never_saved_a_holding_has_none(open_store):
    store = open_store()
    store.checkpoint(BOT, **bar(T0, positions={ETC: open_trade(T0, symbol=ETC)}))
    restart = open_store().load_snapshot(BOT)
    assert (restart.holdings, restart.holding) == (None, None)


def test_trades_of_two_symbols_on_one_bar_are_both_kept_and_a_replayed_one_once(open_store,
                                                                              upsert_path):
    store = open_store()
    etc, xlm = (closed_trade(T0, T0 + 300, reason="atr_stop", symbol=s) for s in (ETC, XLM))
    store.checkpoint(BOT, **bar(T0 + 300, trades=[etc, xlm]))
    store.checkpoint(BOT, **bar(T0 + 300, trades=[xlm, etc, xlm]))  # the same bar, replayed
    assert sorted((t["symbol"], t["exit_reason"]) for t in store.trades(BOT)) == [
        (ETC, "atr_stop"), (XLM, "atr_stop")]


def test_what_a_failed_checkpoint_wrote_is_not_taken_as_stored(open_store):
    # a failed transaction leaves the previous rows, which the next checkpoint must replace
    store = open_store()
    store.checkpoint(BOT, **bar(T0, positions={ETC: open_trade(T0, symbol=ETC),
                                               XLM: open_trade(T0, symbol=XLM)},
                                holdings={ETC: (1.0, 2.0), XLM: (3.0, 4.0)}))
    after_sale = dict(positions={ETC: open_trade(T0, symbol=ETC)}, holdings={ETC: (1.0, 2.5)})
    with pytest.raises(StoreError):  # the equity row, written last, is refused (NOT NULL)
        store.checkpoint(BOT, **bar(T0 + 60, **after_sale, value=None))
    store.checkpoint(BOT, **bar(T0 + 120, **after_sale))
    restart = open_store().load_snapshot(BOT)
    assert list(restart.positions) == [ETC] and restart.holdings == {ETC: (1.0, 2.5)}


def test_a_bot_archived_and_run_again_on_the_same_store_saves_its_holdings_anew(open_store):
    store = open_store()
    store.checkpoint(BOT, **bar(T0, holdings={ETC: (1.0, 2.0)}))
    archived, _ = store.archive_bot(BOT)
    store.checkpoint(BOT, **bar(T0 + 60, holdings={ETC: (1.0, 2.0)}))
    assert store.load_snapshot(BOT).holdings == {ETC: (1.0, 2.0)}
    assert store.load_snapshot(archived).holdings == {ETC: (1.0, 2.0)}


def test_a_position_given_under_another_symbol_is_refused(open_store):
    store = open_store()
    with pytest.raises(ValueError, match="the open position given for ETCBTC is a trade in XLMBTC"):
        store.checkpoint(BOT, **bar(T0, positions={ETC: open_trade(T0, symbol=XLM)}))
    assert store.load_snapshot(BOT).last_bar_ts is None  # nothing of that bar was kept


@pytest.mark.parametrize("damage, says", [
    ("trade = '{not json'", "the open position in XLMBTC is not valid JSON"),
    ("symbol = 'TRXBTC'", "the open position in TRXBTC is a trade in 'XLMBTC'"),
])
def test_a_damaged_position_is_named_by_its_symbol(open_store, db_url, raw_engine, damage, says):
    store = open_store()
    store.checkpoint(BOT, **bar(T0, positions={ETC: open_trade(T0, symbol=ETC),
                                               XLM: open_trade(T0, symbol=XLM)}))
    with raw_engine(db_url).begin() as conn:
        conn.execute(text(f"UPDATE positions SET {damage} WHERE symbol = 'XLMBTC'"))
    with pytest.raises(DamagedDatabase, match=f"does not add up: {says}"):
        open_store().load_snapshot(BOT)
