"""BrokerSnapshot: what a broker that keeps its state needs to start again where it stopped."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BrokerSnapshot:
    """Cash and the one open position (size 0 when flat) of a single-symbol bot.

    The orchestrator writes one each bar (``PaperBroker.snapshot``) and hands the last one back
    through ``build_broker(config, restore=...)`` on restart.
    """

    cash: float
    position_size: float = 0.0
    position_price: float = 0.0

    @property
    def equity_at_cost(self) -> float:
        """Cash plus the position valued at its average price."""
        return self.cash + self.position_size * self.position_price
