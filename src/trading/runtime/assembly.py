"""Builds the pieces of a run from a BotConfig: the strategy setup and its risk manager.

Replay and the live bot both call ``strategy_setup`` so the same config gives the same strategy.
"""
from __future__ import annotations

from strategies.custom_strategy import ProtectiveRules, StrategySetup
from strategies.mixins.base import EntryMixin, ExitMixin
from strategies.mixins.registry import MixinRegistry, default_registry
from trading.config.models import BotConfig
from trading.core.client_ids import order_prefix
from trading.core.types import OpenTrade, PendingOrder
from trading.risk import RiskManager


def protective_rules(config: BotConfig) -> ProtectiveRules:
    r = config.risk
    return ProtectiveRules(stop_loss_pct=r.stop_loss_pct, take_profit_pct=r.take_profit_pct,
                           trailing_enabled=r.trailing_stop.enabled,
                           trailing_activation_pct=r.trailing_stop.activation_pct,
                           trailing_pct=r.trailing_stop.trailing_pct)


def strategy_setup(config: BotConfig, *, registry: MixinRegistry | None = None,
                   risk: RiskManager | None = None, restored_trade: OpenTrade | None = None,
                   restored_orders: tuple[PendingOrder, ...] = ()) -> StrategySetup:
    """Fresh mixins (they hold per-run state), the protective rules and a risk manager."""
    reg = registry or default_registry()
    spec = config.strategy
    entry = reg.build("entry", spec.entry.name, spec.entry.params)
    exits = tuple(reg.build("exit", x.name, x.params) for x in spec.exits)
    assert isinstance(entry, EntryMixin) and all(isinstance(x, ExitMixin) for x in exits)
    return StrategySetup(
        symbol=config.trading.symbol,
        entry=entry,
        exits=exits,  # type: ignore[arg-type]
        position_size=config.trading.position_size,
        protective=protective_rules(config),
        risk=risk if risk is not None else RiskManager(config.risk, config.trading),
        order_prefix=order_prefix(config.bot_id),
        restored_trade=restored_trade,
        restored_orders=restored_orders,
    )
