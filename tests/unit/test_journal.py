"""The journal: each bar's order events and trades are in its files when ``write`` returns,
once each, across a close and a new journal on the same folder."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from trading.core.events import OrderEvent, TradeClosed
from trading.persistence.journal import Journal

AT = datetime(2024, 1, 1, tzinfo=timezone.utc)


def order(cid: str, status: str) -> OrderEvent:
    return OrderEvent(time=AT, symbol="BTCUSDT", client_order_id=cid, side="buy",
                      order_type="market", size=0.5, status=status, purpose="entry")


def trade(reason: str) -> TradeClosed:
    return TradeClosed(entry_time=AT, exit_time=AT, symbol="BTCUSDT", side="long", size=0.5,
                       entry_price=1.0, exit_price=2.0, pnl=0.5, pnl_pct=100.0, fees=0.0,
                       exit_reason=reason, bars_held=1)


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_bars_lines_are_in_the_files_when_write_returns(tmp_path):
    journal = Journal(tmp_path, "0001")
    journal.write([order("a", "submitted"), order("a", "filled")], [trade("x")])
    assert [(r["client_order_id"], r["status"]) for r in lines(journal.orders_path)] == [
        ("a", "submitted"), ("a", "filled")]  # read while the journal still has the file open
    assert [r["exit_reason"] for r in lines(journal.trades_path)] == ["x"]
    journal.write([order("b", "submitted")], [])
    assert len(lines(journal.orders_path)) == 3
    journal.close()


def test_nothing_is_written_twice_across_a_close_and_a_restart(tmp_path):
    journal = Journal(tmp_path, "0001")
    journal.write([order("a", "submitted")], [trade("x")])
    journal.close()
    journal.write([order("a", "submitted"), order("a", "filled")], [])  # reopens its files
    journal.close()
    again = Journal(tmp_path, "0001")  # a restart re-sends the pending order
    again.write([order("a", "filled"), order("b", "submitted")], [trade("x")])
    again.close()
    assert [(r["client_order_id"], r["status"]) for r in lines(journal.orders_path)] == [
        ("a", "submitted"), ("a", "filled"), ("b", "submitted")]
    assert [r["bot_id"] for r in lines(journal.trades_path)] == ["0001"]
