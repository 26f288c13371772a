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

    def cancel(self, order: bt.Order, bracket: bool = False) -> bool:
        """Cancel an order, including one sent this very bar.

        BackBroker only looks among accepted orders; an order submitted in the current bar still
        waits in its ``submitted`` queue, so its cancel was silently ignored and the order went on
        to fill later (an orphan stop could sell a position the strategy no longer has).
        """
        if order in self.submitted:
            self.submitted.remove(order)
            order.cancel()
            self.notify(order)
            self._ococheck(order)
            if not bracket:
                self._bracketize(order, cancel=True)
            return True
        return super().cancel(order, bracket=bracket)

    def _ococheck(self, order: bt.Order) -> None:
        """Cancel the rest of ``order``'s OCO group, in both queues (BackBroker sweeps only the
        accepted one, so a partner sent this bar survived)."""
        leader = self._ocos.get(self._ocos[order.ref])
        group = self._ocol.pop(leader, None)
        if not group:
            return
        for waiting in (self.pending, self.submitted):
            for other in [o for o in waiting if o is not None and o.ref in group and o.ref != order.ref]:
                waiting.remove(other)
                other.cancel()
                self.notify(other)
