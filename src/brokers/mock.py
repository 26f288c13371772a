"""MockBroker: Backtrader's simulated broker with the bot's commission; nothing is kept."""
from __future__ import annotations

import backtrader as bt


class MockBroker(bt.brokers.BackBroker):
    """Backtrader's BackBroker: market orders fill at the next bar's open, stop and limit orders
    inside the bar; commission is charged per fill; state lives only as long as the run.

    Build it with keywords, like every backtrader object: ``MockBroker(cash=10_000,
    commission=0.001)``. ``commission`` is a fraction of each fill's value (0.001 = 0.1%).
    """

    # BrokerBase's own ``commission`` param holds a CommInfo object; ours is the config's
    # fraction, turned into that object below so both names mean one thing.
    params = (("commission", 0.0),)

    def __init__(self) -> None:
        super().__init__()
        self.setcommission(commission=float(self.p.commission))
