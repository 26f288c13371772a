"""PaperBroker: simulated fills on live prices, with slippage, whose state survives restarts."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import backtrader as bt
from backtrader.position import Position

from brokers.mock import MockBroker
from trading.core.errors import TradingBotError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerSnapshot:
    """Cash and the one open position (size 0 when flat) of a single-symbol bot.

    The orchestrator checkpoints one each bar and hands the last one back through
    ``build_broker(config, restore=...)`` on restart.
    """

    cash: float
    position_size: float = 0.0
    position_price: float = 0.0

    @property
    def equity_at_cost(self) -> float:
        """Cash plus the position valued at its average price."""
        return self.cash + self.position_size * self.position_price


class PaperBroker(MockBroker):
    """The simulated broker of ``MockBroker``, plus slippage and a restorable state.

    ``PaperBroker(cash=..., commission=..., slippage_pct=0.0, restore=None)`` (keywords):

    - fills: market orders at the next bar's open, stop and limit orders inside the bar;
    - ``commission``: fraction of each fill's value, charged per side;
    - ``slippage_pct``: adverse slippage in percent on every fill (buys pay more, sells get
      less), never beyond the bar's high/low and never past a limit order's limit;
    - ``restore``: a ``BrokerSnapshot``; the run starts with its cash and its position on the
      bot's data (the first data added to Cerebro), so the position can be sold as usual.

    ``snapshot(data)`` gives what the orchestrator checkpoints each bar.
    """

    params = (("slippage_pct", 0.0), ("restore", None))

    def __init__(self) -> None:
        super().__init__()
        if self.p.slippage_pct:
            self.set_slippage_perc(self.p.slippage_pct / 100.0, slip_open=True, slip_limit=True,
                                   slip_match=True, slip_out=False)

    def start(self) -> None:
        super().start()  # BackBroker.init() resets cash and positions: restore after it
        if self.p.restore is not None:
            self._restore(self.p.restore)

    def restore(self, snapshot: BrokerSnapshot | None) -> None:
        """Before the run: start from ``snapshot`` (the last checkpoint) instead of the initial cash."""
        self.p.restore = snapshot

    def snapshot(self, data: bt.AbstractDataBase) -> BrokerSnapshot:
        """Cash and the position on ``data`` now, to be handed back as ``restore=``."""
        position = self.getposition(data)
        return BrokerSnapshot(cash=self.getcash(), position_size=position.size,
                              position_price=position.price)

    def _restore(self, snap: BrokerSnapshot) -> None:
        self.cash = snap.cash
        if snap.position_size:
            self.positions[self._bot_data()] = Position(snap.position_size, snap.position_price)
        # This run begins at the restored equity, as a live broker's begins at the account's
        # balance: value, starting cash and the fund value (at its start value) all agree.
        equity = snap.equity_at_cost
        self.startingcash = self._value = self._valuelever = equity
        self._valuemkt = self._valuemktlever = snap.position_size * snap.position_price
        if equity > 0:  # an emptied account keeps the initial shares (backtrader divides by them)
            self._fundshares = equity / self._fundval
        log.info("paper broker restored: cash %.8g, position %.8g @ %.8g",
                 snap.cash, snap.position_size, snap.position_price)

    def _bot_data(self) -> bt.AbstractDataBase:
        # Cerebro sets ``broker.cerebro`` when the broker is installed and has every data
        # before it starts the broker; the bot trades one symbol, its data is the first one.
        datas = getattr(getattr(self, "cerebro", None), "datas", None)
        if not datas:
            raise TradingBotError("PaperBroker cannot restore a position: install it with "
                                  "cerebro.broker = ... and add the bot's data before run()")
        return datas[0]

    def _try_exec_limit(self, order: bt.Order, popen: float, phigh: float, plow: float,
                        plimit: float) -> None:
        if order.issell() and plimit <= popen:
            # BackBroker floors a slipped sell at the limit instead of max(low, limit), which
            # can fill below the bar's low; floor it inside the bar, as it does for buys.
            price = self._slip_down(max(plow, plimit), popen, doslip=self.p.slip_open, lim=True)
            self._execute(order, ago=0, price=price)
            return
        super()._try_exec_limit(order, popen, phigh, plow, plimit)
