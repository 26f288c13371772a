"""MockBroker: Backtrader's simulated broker with the bot's commission; nothing is kept."""
from __future__ import annotations

import logging

import backtrader as bt

log = logging.getLogger(__name__)


class MockBroker(bt.brokers.BackBroker):
    """Backtrader's BackBroker: market orders fill at the next bar's open, stop and limit orders
    inside the bar; commission is charged per fill; state lives only as long as the run.

    Build it with keywords, like every backtrader object: ``MockBroker(cash=10_000,
    commission=0.001)``. ``commission`` is a fraction of each fill's value (0.001 = 0.1%).
    """

    # BrokerBase's own ``commission`` param holds a CommInfo object; ours is the config's
    # fraction, turned into that object below so both names mean one thing.
    params = (("commission", 0.0),)

    FORGET_EVERY = 1000  # bars between sweeps of finished orders

    def __init__(self) -> None:
        super().__init__()
        self.setcommission(commission=float(self.p.commission))
        self._bars_since_sweep = 0
        self._simulated_at: tuple[float, ...] | None = None  # the bar(s) last filled against
        self._moved: set[int] | None = None  # the datas a basket's step moved (None: all)
        self._index_of: dict[int, int] | None = None  # id(data) -> its place in cerebro.datas

    def restore(self, snapshot: object | None) -> None:
        """The mock broker keeps nothing: a saved state is ignored, with a warning."""
        if snapshot is not None:
            log.warning("broker.type 'mock' keeps nothing: starting fresh with %.8g cash, not from "
                        "the saved state (use 'paper' to keep it)", self.startingcash)

    def next(self) -> None:
        # A live Cerebro also calls this between bars (its loop wakes for other news): the
        # simulated market only moves with a new bar, so orders placed on the last one (a fresh
        # stop-loss) must wait for the next, as in a replay, not fill against the bar they
        # were placed on.
        clock = self._clock()
        before = self._simulated_at
        if clock == before:
            return
        self._simulated_at = clock
        # a basket's step moves only the symbols whose bar came: orders on the others wait
        self._moved = None if before is None or len(clock) < 2 else {
            i for i, (now, then) in enumerate(zip(clock, before)) if now != then}
        if not self._quiet():
            super().next()
        elif self._holding():
            self._value_holding()
        else:
            self._value_flat()
        self._bars_since_sweep += 1
        if self._bars_since_sweep >= self.FORGET_EVERY:
            self._forget_finished_orders()

    def _try_exec(self, order: bt.Order) -> None:
        moved = self._moved
        if moved is not None and self._data_index(order.data) not in moved:
            return  # its symbol has no new bar in this step: nothing to fill against yet
        super()._try_exec(order)

    def _data_index(self, data: bt.AbstractDataBase) -> int:
        index = self._index_of
        if index is None:
            index = self._index_of = {id(d): i for i, d in enumerate(self.cerebro.datas)}
        return index.get(id(data), -1)

    def _clock(self) -> tuple[float, ...]:
        """The time of every data's current bar (what a new bar changes)."""
        datas = getattr(getattr(self, "cerebro", None), "datas", None) or ()
        return tuple(d.datetime[0] if len(d) else 0.0 for d in datas)

    def _quiet(self) -> bool:
        """No order waiting, no cash or fund history to apply, no interest ever charged."""
        if (self.pending or self.submitted or self._toactivate or self._cash_addition
                or self._fundhist or self._userhist):
            return False
        for info in self.comminfo.values():
            if info.p.interest:
                return False
        return True

    def _holding(self) -> bool:
        """A position is open."""
        for position in self.positions.values():
            if position.size:
                return True
        return False

    def _value_holding(self) -> None:
        """BackBroker.next when quiet: with no interest the credit is 0 (and the position's
        credit date is never read), the order loop has nothing to do; what is left is the
        futures cash adjustment and the valuation. Spares a date conversion per bar held."""
        for data, position in self.positions.items():
            if position:
                close = data.close[0]
                info = self.getcommissioninfo(data)
                self.cash += info.cashadjust(position.size, position.adjbase, close)
                position.adjbase = close
        self._get_value()

    def _value_flat(self) -> None:
        """BackBroker.next's end result when quiet and flat: the account is its cash. Most bars
        of a replay are flat ones; skipping the order loop and the per-position valuation for
        them makes a replay ~5% faster with identical values."""
        self._value = self._valuelever = cash = self.cash
        self._fundval = cash / self._fundshares
        self._valuemkt = self._valuemktlever = self._leverage = self._unrealized = 0.0

    def _forget_finished_orders(self) -> None:
        """BackBroker keeps every order it was ever sent (in its order list, its parent/child
        map and its OCO map); a bot that runs for months must not grow with them."""
        self._bars_since_sweep = 0
        self.orders = [order for order in self.orders if order.alive()]
        alive = {order.ref for order in self.orders}
        for ref in [r for r, family in self._pchildren.items()
                    if not any(o.ref in alive for o in family)]:
            del self._pchildren[ref]
        for ref in [r for r in self._ocos if r not in alive]:
            del self._ocos[ref]

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
