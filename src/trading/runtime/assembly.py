"""Builds the pieces of a run from a BotConfig: the strategy setup and its risk manager.

Replay and the live bot both call ``strategy_setup`` so the same config gives the same strategy.
"""
from __future__ import annotations

from typing import Mapping

from brokers.paper import BrokerSnapshot
from strategies.custom_strategy import ProtectiveRules, StrategySetup
from strategies.lane import SymbolSetup
from strategies.mixins.base import EntryMixin, ExitMixin
from strategies.mixins.registry import MixinRegistry, default_registry
from trading.config.models import BotConfig
from trading.core.client_ids import order_prefix
from trading.core.errors import ConfigError
from trading.core.types import OpenTrade, PendingOrder
from trading.persistence.snapshot import BotSnapshot
from trading.risk import RiskManager


def protective_rules(config: BotConfig) -> ProtectiveRules:
    r = config.risk
    return ProtectiveRules(stop_loss_pct=r.stop_loss_pct, take_profit_pct=r.take_profit_pct,
                           trailing_enabled=r.trailing_stop.enabled,
                           trailing_activation_pct=r.trailing_stop.activation_pct,
                           trailing_pct=r.trailing_stop.trailing_pct)


def strategy_setup(config: BotConfig, *, registry: MixinRegistry | None = None,
                   risk: RiskManager | None = None,
                   restored_positions: Mapping[str, OpenTrade] | None = None,
                   restored_orders: tuple[PendingOrder, ...] = ()) -> StrategySetup:
    """Fresh mixins for each symbol (they hold per-run state), the protective rules and a risk
    manager; what a restart restored goes to its symbol (a pending order without a symbol,
    from a one-symbol bot's older records, to the first)."""
    reg = registry or default_registry()
    spec = config.strategy
    symbols = config.trading.symbols
    positions = restored_positions or {}

    def one(symbol: str) -> SymbolSetup:
        entry = reg.build("entry", spec.entry.name, spec.entry.params)
        exits = tuple(reg.build("exit", x.name, x.params) for x in spec.exits)
        assert isinstance(entry, EntryMixin) and all(isinstance(x, ExitMixin) for x in exits)
        orders = tuple(o for o in restored_orders if (o.symbol or symbols[0]) == symbol)
        return SymbolSetup(symbol, entry, exits, positions.get(symbol), orders)  # type: ignore[arg-type]

    first, *further = [one(symbol) for symbol in symbols]
    return StrategySetup(
        symbol=first.symbol,
        entry=first.entry,
        exits=first.exits,
        position_size=config.trading.position_size,
        protective=protective_rules(config),
        risk=risk if risk is not None else RiskManager(config.risk, config.trading),
        order_prefix=order_prefix(config.bot_id),
        restored_trade=first.restored_trade,
        restored_orders=first.restored_orders,
        further_symbols=tuple(further),
    )


def check_symbols(config: BotConfig, snapshot: BotSnapshot) -> None:
    """Refuse to start when the database holds a position (or an order) in a symbol the
    config no longer trades: nothing would manage it."""
    symbols = set(config.trading.symbols)
    stray = sorted({*snapshot.positions, *(o.symbol for o in snapshot.pending_orders
                                             if o.symbol)} - symbols)
    if stray:
        raise ConfigError(
            f"bot {config.bot_id} holds an open position or order in {', '.join(stray)}, which "
            f"trading.symbols ({', '.join(config.trading.symbols)}) no longer lists: nothing "
            "would manage it; add the symbol back until the position is closed")


def broker_snapshot(config: BotConfig, snapshot: BotSnapshot) -> BrokerSnapshot:
    """What a simulated broker restores: the last checkpoint's cash and the open positions."""
    assert snapshot.cash is not None
    if not config.trading.is_basket:
        pos = snapshot.position
        return BrokerSnapshot(cash=snapshot.cash, position_size=pos.size if pos else 0.0,
                              position_price=pos.entry_price if pos else 0.0)
    return BrokerSnapshot(cash=snapshot.cash, by_symbol=tuple(
        (symbol, trade.size, trade.entry_price) for symbol, trade in snapshot.positions.items()))
