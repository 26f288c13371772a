"""Archiving a bot moves every one of its rows to a time-stamped id, in one transaction."""
from __future__ import annotations

from datetime import datetime, timezone

from trading.core.events import TradeClosed
from trading.core.types import OpenTrade
from trading.persistence.repository import Store

T0 = 1_704_067_200.0


def _trade() -> TradeClosed:
    at = lambda ts: datetime.fromtimestamp(ts, tz=timezone.utc)  # noqa: E731
    return TradeClosed(entry_time=at(T0), exit_time=at(T0 + 120), symbol="X", side="long", size=1.0,
                       entry_price=100.0, exit_price=101.0, pnl=1.0, pnl_pct=1.0, fees=0.0,
                       exit_reason="x", bars_held=2, entry_mixin="E")


def test_an_archived_bot_starts_over_and_its_history_stays_under_the_archived_id(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    try:
        store.register_bot("0001", None, "demo")
        store.checkpoint("0001", bar_ts=T0 + 180, cash=900.0, value=1001.0, orders=(),
                         trades=[_trade()], save_equity=True, risk_state={"kill_switch": True},
                         positions={"X": OpenTrade(symbol="X", size=1.0, entry_price=100.0,
                                                   entry_ts=T0)},
                         holdings={"X": (1.0, 100.0)})
        store.register_bot("0002", None, "another bot, untouched")
        new_id, moved = store.archive_bot("0001")
        assert new_id.startswith("0001@") and new_id.endswith("Z")
        assert moved >= 6  # bots, trade, position, holding, risk state, equity
        fresh = store.load_snapshot("0001")
        assert (fresh.last_bar_ts, fresh.cash, fresh.position, fresh.risk_state) == (None, None,
                                                                                      None, None)
        assert store.trades("0001") == []
        archived = store.load_snapshot(new_id)
        assert archived.cash == 900.0 and archived.position is not None
        assert archived.holdings == {"X": (1.0, 100.0)} and fresh.holdings is None
        assert archived.risk_state == {"kill_switch": True}
        assert [t["exit_reason"] for t in store.trades(new_id)] == ["x"]
        assert store.archive_bot("0009")[1] == 0  # nothing to move
        assert store.load_snapshot("0002").bot_id == "0002"
    finally:
        store.close()
