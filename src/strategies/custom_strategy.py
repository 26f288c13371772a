"""CustomStrategy: one entry mixin, one or more exit mixins, and protective orders, in Backtrader.

The same class runs in replay and live. Each closed bar: streaming indicators update, then (past
warm-up) exits are checked while in a position, or the entry rule and the risk gate while flat.
Protective rules (stop loss, take profit, trailing stop) are real orders on the broker so they
trigger inside a bar. Everything that happens is reported to a listener; the strategy never
touches the store, the network or a notifier.

A bot trading a basket has one data feed per symbol and one ``Lane`` per symbol (its mixins,
indicators and position). A time step decides, in ``trading.symbols`` order, for the symbols
whose bar came: first every exit, then the entries while ``max_positions`` leaves slots, so when
several symbols signal on one bar and fewer slots are free, the earlier symbols win.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import backtrader as bt

from strategies.indicators import IndicatorSet
from strategies.lane import Lane, SymbolSetup
from strategies.mixins.base import EntryMixin, ExitMixin
from trading.core.client_ids import (ENTRY, EXIT, STOP_LOSS, TAKE_PROFIT, TRAILING_STOP, client_id,
                                     symbol_tag)
from trading.core.events import OrderEvent, TradeClosed, TradeOpened
from trading.core.protocols import NullListener, RiskGate, StrategyListener
from trading.core.timeutil import iso_z, utc_datetime
from trading.core.types import Bar, OpenTrade, PendingOrder

log = logging.getLogger(__name__)
TRIM_EVERY_BARS = 1000


@dataclass(frozen=True)
class ProtectiveRules:
    """risk_management rules placed as broker orders; 0 turns a rule off."""

    stop_loss_pct: float = 0.0
    take_profit_pct: float = 0.0
    trailing_enabled: bool = False
    trailing_activation_pct: float = 0.0
    trailing_pct: float = 0.0


@dataclass
class StrategySetup:
    """Everything CustomStrategy needs, built by the orchestrator (trading.runtime.assembly)."""

    symbol: str
    entry: EntryMixin
    exits: tuple[ExitMixin, ...]
    position_size: float
    protective: ProtectiveRules
    risk: RiskGate | None = None
    order_prefix: str = "tb"
    restored_trade: OpenTrade | None = None
    restored_orders: tuple[PendingOrder, ...] = ()
    indicators: IndicatorSet = field(default_factory=IndicatorSet)
    # a basket's further symbols, in trading.symbols order (the first is the fields above); the
    # strategy then has one data feed per symbol, in the same order
    further_symbols: tuple[SymbolSetup, ...] = ()

    def symbol_setups(self) -> tuple[SymbolSetup, ...]:
        """Every symbol's setup, the first one first."""
        first = SymbolSetup(self.symbol, self.entry, self.exits, self.restored_trade,
                            self.restored_orders, self.indicators)
        return (first, *self.further_symbols)


class CustomStrategy(bt.Strategy):
    """Long-only strategy assembled from mixins; see the module docstring."""

    params = (("setup", None), ("listener", None))

    def __init__(self) -> None:
        setup: StrategySetup = self.p.setup
        if setup is None:
            raise ValueError("CustomStrategy needs setup=StrategySetup(...)")
        self.setup = setup
        self.listener: StrategyListener = self.p.listener or NullListener()
        symbols = setup.symbol_setups()
        if len(symbols) != len(self.datas):
            raise ValueError(f"CustomStrategy has {len(symbols)} symbol(s) and {len(self.datas)} "
                             "data feed(s): one feed per symbol, in the same order")
        basket = len(symbols) > 1
        self.lanes = tuple(Lane(one, data, symbol_tag(one.symbol) if basket else "")
                           for one, data in zip(symbols, self.datas))
        self.basket = basket
        self._orders_of: dict[int, tuple[Lane, str]] = {}  # order ref -> (lane, purpose)
        self._client_ids: dict[int, str] = {}
        first = self.lanes[0].data
        self._event_ts = getattr(first, "event_ts", None)  # a live feed: fills between bars
        self._bar_at = getattr(first, "bar_at", None)  # ... and fills made while it was away
        self._bars_since_trim = 0
        self._lean: bool | None = None  # may _oncepost skip Backtrader's unused loops (decided once)

    # -- one-symbol views (the first symbol's lane) ------------------------------------------------
    @property
    def trade(self) -> OpenTrade | None:
        """The open position of a one-symbol bot (the first symbol's in a basket)."""
        return self.lanes[0].trade

    @property
    def positions(self) -> dict[str, OpenTrade]:
        """Every open position, by symbol, in the basket's order."""
        return {lane.symbol: lane.trade for lane in self.lanes if lane.trade is not None}

    # -- the per-step decision ---------------------------------------------------------------------
    def next(self) -> None:
        lanes = self.lanes
        if self.basket:
            fresh = [lane for lane in lanes if lane.fresh()]
            if not fresh:
                return
        else:
            fresh = lanes
            lanes[0].seen = len(lanes[0].data)
        broker = self.broker
        value = broker.getvalue()
        bars = [lane.bar() for lane in fresh]
        warm_flags = [lane.warmup() for lane in fresh]
        for lane, bar in zip(fresh, bars):
            lane.ind.update(bar)
        step_bar = bars[0]
        warm = all(warm_flags)
        self.listener.on_bar(step_bar, value, broker.getcash(), warm)
        if warm:
            # history only feeds the indicators; risk state was restored, not rebuilt from it
            for lane in fresh:
                if lane.restore_pending and lane.last_warmup():
                    self._resume(lane, step_bar)
        else:
            self._decide(fresh, bars, warm_flags, step_bar, value)
        self.listener.on_bar_done(step_bar, self.positions, warm)
        self._bars_since_trim += 1
        if self._bars_since_trim >= TRIM_EVERY_BARS:
            self._trim_history()

    def prenext(self) -> None:
        # Backtrader calls prenext while one of several feeds has no bar yet (a basket's symbol
        # whose data starts later); the lanes tell which symbols have a bar
        self.next()

    # -- Backtrader's per-bar plumbing, trimmed to what this strategy uses ----------------------
    def _oncepost(self, dt: float) -> None:
        """Backtrader's runonce step (replay) without the parts this strategy never has.

        The bot's indicators are its own streaming ones and Cerebro runs without observers or
        analyzers, so Backtrader's loops over them are skipped; with any of them present the
        stock step runs. Same calls, same order: about 20% off a replay's time.
        """
        if self._lean is None:
            self._lean = not (self._lineiterators[bt.LineIterator.IndType] or self.analyzers
                              or self._lineiterators[bt.LineIterator.ObsType]
                              or max(self._minperiods, default=1) > 1)
        if not self._lean:
            super()._oncepost(dt)
            return
        if self._oldsync:
            self.advance()
        else:
            self.forward()
        self.lines.datetime[0] = dt
        self._notify()
        self.next()  # a minimum period of 1 bar: nextstart() and next() are the same call
        self.clear()

    def _notify(self, qorders=(), qtrades=()) -> None:
        # Backtrader calls this every bar; with no order or trade to deliver it only reports
        # cash and value to notify_cashvalue/notify_fund, which this strategy does not use
        if self._orderspending or self._tradespending or qorders or qtrades or self.analyzers:
            super()._notify(list(qorders), list(qtrades))

    def _trim_history(self) -> None:
        """Forget Backtrader's own order and trade history, so months of bars use flat memory.

        Backtrader appends every notified order and every Trade for the life of the run; the bot
        keeps its own records (events, store), and nothing here reads Backtrader's.
        """
        self._bars_since_trim = 0
        del self._orders[:]
        for by_tradeid in self._trades.values():
            for trades in by_tradeid.values():
                del trades[:-1]  # the last Trade may still be open

    def _decide(self, fresh: list[Lane], bars: list[Bar], warm_flags: list[bool], step_bar: Bar,
                value: float) -> None:
        risk = self.setup.risk
        if risk is not None:
            risk.on_bar(step_bar.ts, value)
        deciding = []
        for lane, bar, warm in zip(fresh, bars, warm_flags):
            if warm:  # this symbol's data is still in its warm-up (a later-starting file)
                if lane.restore_pending and lane.last_warmup():
                    self._resume(lane, bar)
                continue
            if lane.restore_pending:
                self._resume(lane, bar)
            if lane.in_flight is not None:
                continue
            trade = lane.trade
            if trade is not None:
                trade.observe(bar)
                self._maybe_arm_trailing(lane, trade, bar)
                for x in lane.exits:
                    tag = x.should_exit(trade, bar)
                    if tag:
                        self._exit(lane, bar, f"{x.name}:{tag}")
                        break
            else:
                deciding.append((lane, bar))
        for lane, bar in deciding:  # entries after every exit, in the basket's order
            if lane.entry.should_enter(bar):
                self._enter(lane, bar, value)

    # -- entries and exits -----------------------------------------------------------------------
    def _client_id(self, lane: Lane, bar: Bar, purpose: str) -> str:
        # deterministic: the same decision on the same bar gets the same id after a restart
        return client_id(self.setup.order_prefix, bar.ts, purpose, lane.tag)

    def _enter(self, lane: Lane, bar: Bar, equity: float) -> None:
        risk = self.setup.risk
        if risk is not None:
            held = [other for other in self.lanes if other.holds_slot]
            exposure = sum(other.exposure() for other in held)
            refusal = risk.allow_entry(bar.ts, equity, exposure, len(held))
            if refusal is not None:
                self.listener.on_entry_refused(bar, refusal.rule, refusal.message)
                return
        size = self.setup.position_size * equity / bar.close
        if not (size > 0 and math.isfinite(size)):
            return
        self._submit_market(lane, "buy", size, "entry", self._client_id(lane, bar, ENTRY), bar)

    def _exit(self, lane: Lane, bar: Bar, reason: str) -> None:
        self._cancel_protective(lane)
        position = self.getposition(lane.data).size
        if position <= 0:
            return
        lane.exit_reason = reason
        self._submit_market(lane, "sell", position, "exit", self._client_id(lane, bar, EXIT), bar)

    def close_position(self, reason: str = "shutdown") -> None:
        """Close every open position at market now (used on shutdown with close_positions)."""
        for lane in self.lanes:
            if lane.trade is not None and lane.in_flight is None:
                self._exit(lane, lane.bar(), reason)

    def _submit_market(self, lane: Lane, side: str, size: float, purpose: str, client_id: str,
                       bar: Bar) -> None:
        place = self.buy if side == "buy" else self.sell
        order = place(data=lane.data, size=size, exectype=bt.Order.Market,
                      client_order_id=client_id)
        if order is None:
            return
        lane.in_flight, lane.in_flight_purpose = order, purpose
        self._track(lane, order, purpose, client_id, bar.ts)

    def _track(self, lane: Lane, order: bt.Order, purpose: str, client_id: str, ts: float) -> None:
        self._orders_of[order.ref] = (lane, purpose)
        self._client_ids[order.ref] = client_id
        if self.setup.risk is not None:
            self.setup.risk.on_order(ts)
        self._report(order, "submitted", ts)

    # -- protective orders -----------------------------------------------------------------------
    def _place_protective(self, lane: Lane, trade: OpenTrade, bar_ts: float) -> None:
        rules = self.setup.protective
        size = trade.size
        group: bt.Order | None = None
        if rules.stop_loss_pct > 0:
            price = trade.entry_price * (1 - rules.stop_loss_pct / 100.0)
            group = self.sell(data=lane.data, size=size, exectype=bt.Order.Stop, price=price,
                              client_order_id=self._client_id_for(lane, trade, STOP_LOSS))
            self._track(lane, group, "stop_loss", group.info.client_order_id, bar_ts)
            lane.protective.append(group)
        if rules.take_profit_pct > 0:
            price = trade.entry_price * (1 + rules.take_profit_pct / 100.0)
            order = self.sell(data=lane.data, size=size, exectype=bt.Order.Limit, price=price,
                              oco=group, client_order_id=self._client_id_for(lane, trade, TAKE_PROFIT))
            self._track(lane, order, "take_profit", order.info.client_order_id, bar_ts)
            lane.protective.append(order)
            group = group or order
        if rules.trailing_enabled and trade.trailing_armed:
            self._place_trailing(lane, trade, bar_ts, group)

    def _place_trailing(self, lane: Lane, trade: OpenTrade, bar_ts: float,
                        group: bt.Order | None) -> None:
        rules = self.setup.protective
        order = self.sell(data=lane.data, size=trade.size, exectype=bt.Order.StopTrail,
                          trailpercent=rules.trailing_pct / 100.0, oco=group,
                          client_order_id=self._client_id_for(lane, trade, TRAILING_STOP))
        self._track(lane, order, "trailing_stop", order.info.client_order_id, bar_ts)
        lane.protective.append(order)

    def _client_id_for(self, lane: Lane, trade: OpenTrade, tag: str) -> str:
        return client_id(self.setup.order_prefix, trade.entry_ts, tag, lane.tag)

    def _maybe_arm_trailing(self, lane: Lane, trade: OpenTrade, bar: Bar) -> None:
        rules = self.setup.protective
        if not rules.trailing_enabled or trade.trailing_armed:
            return
        if bar.close >= trade.entry_price * (1 + rules.trailing_activation_pct / 100.0):
            trade.trailing_armed = True
            group = next((o for o in lane.protective if o.alive()), None)
            self._place_trailing(lane, trade, bar.ts, group)

    def _cancel_protective(self, lane: Lane) -> None:
        for order in lane.protective:
            if order.alive():
                self.cancel(order)
        lane.protective.clear()

    # -- restart ---------------------------------------------------------------------------------
    def _resume(self, lane: Lane, bar: Bar) -> None:
        """Re-place what was live when the bot stopped, so the next bar sees it as before."""
        lane.restore_pending = False
        answer_first = getattr(self.broker, "answer_before_next_bar", None)
        if answer_first is not None:  # a venue: what it did meanwhile counts from the next bar
            answer_first()
        if lane.trade is not None:
            log.info("resuming open position: %.8g %s @ %.8g, %d bars held",
                     lane.trade.size, lane.symbol, lane.trade.entry_price, lane.trade.bars_held)
            self._restore_exit_state(lane, lane.trade)
            self._place_protective(lane, lane.trade, bar.ts)
        for pending in lane.restored_orders:
            log.info("re-sending %s order %s (%.8g) decided before the restart",
                     pending.purpose, pending.client_order_id, pending.size)
            if pending.purpose == "exit":
                self._cancel_protective(lane)
                lane.exit_reason = pending.reason
            side = "buy" if pending.purpose == "entry" else "sell"
            self._submit_market(lane, side, pending.size, pending.purpose, pending.client_order_id,
                                bar)

    def _restore_exit_state(self, lane: Lane, trade: OpenTrade) -> None:
        """Give the restored trade every current exit's per-trade state; log what changed.

        The config's exit_logic may have changed while the position was open: an exit added
        since gets its state from what the trade knows (``on_restore``), the state of one removed
        is dropped. A trade saved without ``exits`` is judged by the state it holds.
        """
        current = [x.name for x in lane.exits]
        before = trade.exits or list(trade.state)
        added = [x for x in lane.exits if x.name not in before]
        removed = [name for name in before if name not in current]
        for name in removed:
            trade.state.pop(name, None)
        for x in lane.exits:  # added ones, and any whose state was lost
            if x.name not in trade.state:
                x.on_restore(trade)
        trade.exits = current
        if added or removed:
            log.warning("exit_logic changed since the position opened at %s: %s; the trade "
                        "goes on with %s", iso_z(trade.entry_ts),
                        "; ".join([f"added {x.name} (state {trade.state.get(x.name, {})} from the "
                                   "trade and the indicators now)" for x in added]
                                  + [f"removed {name}" for name in removed]),
                        ", ".join(current))

    # -- broker callbacks ------------------------------------------------------------------------
    def notify_order(self, order: bt.Order) -> None:
        status = order.getstatusname().lower()
        if status in ("submitted", "accepted"):
            if status == "accepted":
                self._report(order, "accepted", self._now_ts())
            return
        ts = self._fill_ts(order)
        lane, purpose = self._orders_of.get(order.ref, (None, ""))
        if order.status == order.Completed:
            self._report(order, "filled", ts)
            if lane is not None:
                if purpose == "entry":
                    self._on_entry_filled(lane, order, ts)
                elif lane.trade is not None:
                    reason = lane.exit_reason if purpose == "exit" else purpose
                    self._on_exit_filled(lane, order, ts, reason)
        elif order.status == order.Partial:
            self._report(order, "partial", ts)
            return
        else:  # canceled, expired, margin, rejected
            self._report(order, {"margin": "rejected"}.get(status, status), ts)
            if order.status in (order.Margin, order.Rejected) and self.setup.risk is not None:
                self.setup.risk.on_error(ts)
        if lane is not None and lane.in_flight is not None and order.ref == lane.in_flight.ref:
            lane.in_flight, lane.in_flight_purpose = None, ""  # brokers notify with clones
        self._orders_of.pop(order.ref, None)
        self._client_ids.pop(order.ref, None)

    def _on_entry_filled(self, lane: Lane, order: bt.Order, ts: float) -> None:
        trade = OpenTrade(symbol=lane.symbol, size=order.executed.size,
                          entry_price=order.executed.price, entry_ts=ts,
                          entry_fee=order.executed.comm, entry_reason=lane.entry.name)
        for x in lane.exits:
            x.on_entry(trade)
        trade.exits = [x.name for x in lane.exits]
        lane.trade = trade
        if self.setup.risk is not None:
            self.setup.risk.on_entry_filled()
        self._place_protective(lane, trade, ts)
        event = TradeOpened(time=utc_datetime(ts), symbol=trade.symbol, size=trade.size,
                            entry_price=trade.entry_price, fee=trade.entry_fee,
                            entry_mixin=lane.entry.name)
        self.listener.on_trade_opened(event, trade)

    def _on_exit_filled(self, lane: Lane, order: bt.Order, ts: float, reason: str) -> None:
        trade = lane.trade
        assert trade is not None
        self._cancel_protective(lane)
        exit_price = order.executed.price
        size = abs(order.executed.size)
        fees = trade.entry_fee + order.executed.comm
        pnl = (exit_price - trade.entry_price) * size - fees
        cost = trade.entry_price * size
        event = TradeClosed(entry_time=trade.entry_time, exit_time=utc_datetime(ts), symbol=trade.symbol,
                            side="long", size=size, entry_price=trade.entry_price,
                            exit_price=exit_price, pnl=pnl, pnl_pct=pnl / cost * 100 if cost else 0.0,
                            fees=fees, exit_reason=reason or "exit", bars_held=trade.bars_held,
                            entry_mixin=trade.entry_reason)
        lane.trade = None
        lane.exit_reason = ""
        if self.setup.risk is not None:
            self.setup.risk.on_trade_closed(pnl)
        self.listener.on_trade_closed(event)

    def _fill_ts(self, order: bt.Order) -> float:
        """The bar an order update belongs to: now, or for a fill the venue made while the bot
        was away (adopted after a restart), the bar it happened in."""
        ts = self._now_ts()
        filled_at = order.info.get("filled_at")
        if filled_at and self._bar_at is not None:
            return min(ts, self._bar_at(filled_at))
        return ts

    def between_bars(self) -> None:
        """Cerebro's live loop calls this when the broker reported between two bars (a venue
        fill, a cancel): the listener saves and announces what that changed, now."""
        self.listener.on_between_bars(self.positions)

    def _now_ts(self) -> float:
        """The bar time an order update belongs to (see ``LiveFeed.event_ts``)."""
        if self._event_ts is not None:
            return self._event_ts()
        if not self.basket:
            return self.lanes[0].bar().ts
        return max(lane.bar().ts for lane in self.lanes if len(lane.data))  # the step's time

    def _report(self, order: bt.Order, status: str, ts: float) -> None:
        executed = order.executed
        kind = {bt.Order.Market: "market", bt.Order.Stop: "stop", bt.Order.Limit: "limit",
                bt.Order.StopTrail: "stop_trail"}.get(order.exectype, "other")
        price = order.created.price if order.exectype != bt.Order.Market else None
        lane, purpose = self._orders_of.get(order.ref, (None, ""))
        symbol = lane.symbol if lane is not None else self._symbol_of(order)
        self.listener.on_order(OrderEvent(
            time=utc_datetime(ts), symbol=symbol,
            client_order_id=self._client_ids.get(order.ref, str(order.ref)),
            side="buy" if order.isbuy() else "sell", order_type=kind,
            size=abs(order.created.size), status=status,
            purpose=purpose, price=price,
            filled_size=abs(executed.size), fill_price=executed.price if executed.size else None,
            fee=executed.comm,
            reason=lane.exit_reason if lane is not None and purpose == "exit" else "",
            venue_order_id=order.info.get("venue_order_id"), message=order.info.get("message", "")))

    def _symbol_of(self, order: bt.Order) -> str:
        for lane in self.lanes:
            if lane.data is order.data:
                return lane.symbol
        return self.setup.symbol
