"""What the store's tests write: order events, trades and quiet bars of one bot (``BOT``),
in BTCUSDT unless a symbol is given; and Alembic's config to run the schema revisions."""
from __future__ import annotations

from datetime import datetime, timezone

from alembic.config import Config
from sqlalchemy import Connection

from strategies.mixins.base import OpenTrade
from trading.core.events import OrderEvent, TradeClosed
from trading.persistence.migrate import MIGRATIONS_DIR
from trading.risk import RiskState

BOT = "0001"
T0 = 1_704_067_200.0  # 2024-01-01 00:00 UTC


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def order(ts: float, cid: str, status: str, *, purpose: str = "entry", side: str = "buy",
          order_type: str = "market", filled: float = 0.0, fill_price: float | None = None,
          venue_id: str | None = None, reason: str = "", symbol: str = "BTCUSDT") -> OrderEvent:
    return OrderEvent(time=at(ts), symbol=symbol, client_order_id=cid, side=side,
                      order_type=order_type, size=0.5, status=status, purpose=purpose,
                      price=40_000.0 if order_type == "stop" else None, filled_size=filled,
                      fill_price=fill_price, fee=0.02 if filled else 0.0, venue_order_id=venue_id,
                      reason=reason)


def closed_trade(entry_ts: float, exit_ts: float, reason: str = "atr_stop",
                 symbol: str = "BTCUSDT") -> TradeClosed:
    return TradeClosed(entry_time=at(entry_ts), exit_time=at(exit_ts), symbol=symbol, side="long",
                       size=0.5, entry_price=42_000.5, exit_price=42_500.25, pnl=249.835,
                       pnl_pct=1.19, fees=0.04, exit_reason=reason, bars_held=3,
                       entry_mixin="RSIBBEntryMixin")


def open_trade(entry_ts: float, bars_held: int = 3, symbol: str = "BTCUSDT") -> OpenTrade:
    return OpenTrade(symbol=symbol, size=0.5, entry_price=42_000.5, entry_ts=entry_ts,
                     entry_fee=0.02, entry_reason="RSIBBEntryMixin", bars_held=bars_held,
                     highest_high=42_800.0, highest_close=42_650.0, lowest_low=41_900.0,
                     trailing_armed=True,
                     state={"ATRExitMixin": {"stop": 41_200.75, "atr": 400.0},
                            "TimeBasedExitMixin": {"bars": bars_held}})


def bar(ts: float, **changes) -> dict:
    """checkpoint() arguments for a quiet bar of a flat bot; ``changes`` override them."""
    kwargs = dict(bar_ts=ts, cash=10_000.0, value=10_000.0, orders=(), trades=(), positions={},
                  risk_state=RiskState(day=int(ts // 86400), peak_equity=10_000.0).to_dict(),
                  save_equity=True, exit_mixins="ATRExitMixin,TimeBasedExitMixin")
    kwargs.update(changes)
    return kwargs


def alembic_config(conn: Connection) -> Config:
    """Alembic's config for running the store's revisions on ``conn`` (``command.upgrade``),
    as ``trading.persistence.migrate`` runs them."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    return config
