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
    """Cash and the open position (size 0 when flat) of a one-symbol bot, or a basket's
    positions by symbol (``by_symbol``: (symbol, size, average price) of each one held; the
    one-symbol fields are then 0).

    The orchestrator hands the last checkpoint's back through ``restore`` on restart.
    """

    cash: float
    position_size: float = 0.0
    position_price: float = 0.0
    by_symbol: tuple[tuple[str, float, float], ...] = ()

    @property
    def market_value(self) -> float:
        """The positions valued at their average prices."""
        return (self.position_size * self.position_price
                + sum(size * price for _, size, price in self.by_symbol))

    @property
    def equity_at_cost(self) -> float:
        """Cash plus the positions valued at their average prices."""
        return self.cash + self.market_value


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
        for symbol, size, price in snap.by_symbol:
            if size:
                self.positions[self._bot_data(symbol)] = Position(size, price)
        # This run begins at the restored equity, as a live broker's begins at the account's
        # balance: value, starting cash and the fund value (at its start value) all agree.
        equity = snap.equity_at_cost
        self.startingcash = self._value = self._valuelever = equity
        self._valuemkt = self._valuemktlever = snap.market_value
        if equity > 0:  # an emptied account keeps the initial shares (backtrader divides by them)
            self._fundshares = equity / self._fundval
        held = ", ".join(f"{symbol} {size:.8g} @ {price:.8g}" for symbol, size, price in snap.by_symbol)
        log.info("paper broker restored: cash %.8g, position %s", snap.cash,
                 held or f"{snap.position_size:.8g} @ {snap.position_price:.8g}")

    def _bot_data(self, symbol: str | None = None) -> bt.AbstractDataBase:
        # Cerebro sets ``broker.cerebro`` when the broker is installed and has every data
        # before it starts the broker; a one-symbol bot's data is the first one, a basket's
        # are named by their symbols.
        datas = getattr(getattr(self, "cerebro", None), "datas", None)
        if not datas:
            raise TradingBotError("PaperBroker cannot restore a position: install it with "
                                  "cerebro.broker = ... and add the bot's data before run()")
        if symbol is None:
            return datas[0]
        for data in datas:
            if data._name == symbol:
                return data
        raise TradingBotError(f"PaperBroker cannot restore the {symbol} position: the bot has "
                              f"no data for {symbol} (its symbols: "
                              f"{', '.join(d._name for d in datas)})")

    def _try_exec_limit(self, order: bt.Order, popen: float, phigh: float, plow: float,
                        plimit: float) -> None:
        if order.issell() and plimit <= popen:
            # BackBroker floors a slipped sell at the limit instead of max(low, limit), which
            # can fill below the bar's low; floor it inside the bar, as it does for buys.
            price = self._slip_down(max(plow, plimit), popen, doslip=self.p.slip_open, lim=True)
            self._execute(order, ago=0, price=price)
            return
        super()._try_exec_limit(order, popen, phigh, plow, plimit)
