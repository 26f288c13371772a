"""The live bot's ear on the strategy: checkpoints every bar, journals, and raises events.

Called on the Cerebro (main) thread. The checkpoint is one store transaction per processed bar,
so a fill, a position or a trade is in the database before the next bar, and a restart resumes
exactly after the last checkpointed bar. The journal and events follow the commit, so they never
announce a bar that was not saved.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Callable

from trading.core.events import Event, OrderEvent, OrderRejectedEvent, TradeClosed, TradeOpened
from trading.core.protocols import NullListener
from trading.core.timeutil import iso_z
from trading.core.types import Bar, OpenTrade
from trading.persistence.journal import Journal
from trading.risk import RiskManager

log = logging.getLogger(__name__)


class RefusalLog:
    """Logs a risk rule once when it starts refusing entries and once, with the count, when it
    stops; ``totals`` counts every refusal by rule for the status and the run summary."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = {}
        self._rule: str | None = None
        self._count = 0
        self._since = 0.0

    def refused(self, bar: Bar, rule: str, message: str) -> None:
        self.totals[rule] = self.totals.get(rule, 0) + 1
        if rule == self._rule:
            self._count += 1
            return
        self.ended()
        self._rule, self._count, self._since = rule, 1, bar.ts
        log.warning("%s entry refused by %s: %s (while it goes on refusing, entries are counted, "
                    "not logged)", iso_z(bar.ts), rule, message)

    def ended(self, bar: Bar | None = None) -> None:
        """The current run of refusals is over (an entry went through, or the run ends)."""
        if self._rule is None:
            return
        until = f"until {iso_z(bar.ts)}" if bar is not None else "until the end of the run"
        log.info("%s refused %d entr%s from %s %s", self._rule, self._count,
                 "y" if self._count == 1 else "ies", iso_z(self._since), until)
        self._rule = None

    def describe(self) -> str:
        """``max_drawdown_pct 31, max_daily_trades 2`` (empty when nothing was refused)."""
        return ", ".join(f"{rule} {count}" for rule, count in sorted(self.totals.items()))


class BotListener(NullListener):
    """Buffers what a bar produced and commits it in one checkpoint at the end of the bar."""

    def __init__(self, *, bot_id: str, store: Any, broker: Any, risk: RiskManager,
                 journal: Journal | None, save_equity: bool, exit_mixins: str,
                 publish: Callable[[Event], None], on_bar_end: Callable[[Bar, bool], None],
                 on_bar_processed: Callable[[Bar, bool], None],
                 on_books_changed: Callable[[Bar], None] | None = None,
                 symbol: str = "") -> None:
        self.bot_id = bot_id
        self.symbol = symbol  # the first symbol: a broker's unnamed data is its
        self.store = store
        self.broker = broker
        self.risk = risk
        self.journal = journal
        self.save_equity = save_equity
        self.exit_mixins = exit_mixins
        self.publish = publish
        self.on_bar_end = on_bar_end  # before the commit: whoever reads the database then
        self.on_bar_processed = on_bar_processed  # sees a status at least as new as it
        self.on_books_changed = on_books_changed  # between bars, before that commit
        self._orders: list[OrderEvent] = []
        self._trades: list[TradeClosed] = []
        self._events: list[Event] = []
        self.trades_closed = 0  # this run's
        rows = store.trades(bot_id)  # every run's, for the status: trades and realised pnl
        self.trades_total, self.realised_pnl = len(rows), sum(r["pnl"] for r in rows)
        self.refusals = RefusalLog()
        self._bar: Bar | None = None

    def on_bar(self, bar: Bar, value: float, cash: float, warmup: bool) -> None:
        self._bar = bar

    def on_order(self, event: OrderEvent) -> None:
        self._orders.append(event)
        if event.purpose == "entry" and event.status == "submitted":
            self.refusals.ended(self._bar)
        if event.status == "rejected":
            self._events.append(OrderRejectedEvent(time=event.time, symbol=event.symbol,
                                                   message=f"{event.purpose} {event.side} order "
                                                           f"{event.client_order_id} rejected"
                                                           + (f": {event.message}" if event.message
                                                              else "")))

    def on_trade_opened(self, event: TradeOpened, trade: OpenTrade) -> None:
        log.info("%s ENTRY %s %.8g @ %.8g (%s)", iso_z(event.time), event.symbol, event.size,
                 event.entry_price, event.entry_mixin)
        self._events.append(event)

    def on_trade_closed(self, event: TradeClosed) -> None:
        log.info("%s EXIT %s %.8g @ %.8g pnl %.4f (%.2f%%) reason %s", iso_z(event.exit_time),
                 event.symbol, event.size, event.exit_price, event.pnl, event.pnl_pct,
                 event.exit_reason)
        self._trades.append(event)
        self._events.append(event)
        self.trades_closed += 1
        self.trades_total += 1
        self.realised_pnl += event.pnl

    def on_entry_refused(self, bar: Bar, rule: str, message: str) -> None:
        self.refusals.refused(bar, rule, message)

    def on_bar_done(self, bar: Bar, positions: dict[str, OpenTrade], warmup: bool) -> None:
        self.on_bar_end(bar, warmup)
        events = self._checkpoint(bar, positions) if not warmup else []
        self.on_bar_processed(bar, warmup)
        # announced last, when the status snapshot (what /status answers) is this bar's
        for event in events:
            self.publish(event)

    def on_between_bars(self, positions: dict[str, OpenTrade]) -> None:
        """The broker reported between bars (a venue's fill, cancel or rejection): commit what
        it changed now, without waiting for the next bar, then journal and announce it. The
        last checkpointed bar stays as it was (also during a restart's warm-up, when a restored
        order fills)."""
        bar = self._bar
        if bar is None or not (self._orders or self._trades or self._events):
            return
        if self.on_books_changed is not None:
            self.on_books_changed(bar)
        for event in self._commit(positions, bar_ts=None):
            self.publish(event)

    def _checkpoint(self, bar: Bar, positions: dict[str, OpenTrade]) -> list[Event]:
        """Commit the bar; return its events (trades with the equity they left) to publish."""
        return self._commit(positions, bar_ts=bar.ts)

    def _commit(self, positions: dict[str, OpenTrade], bar_ts: float | None) -> list[Event]:
        """One transaction with what was buffered: a bar's checkpoint (``bar_ts``), or what
        happened between bars (None). Returns the events to publish after it."""
        orders, trades, events = self._orders, self._trades, self._events
        self._orders, self._trades, self._events = [], [], []
        value, cash = self.broker.getvalue(), self.broker.getcash()
        trades = [replace(t, equity=value) for t in trades]  # the journal's lines carry it too
        risk_state = self.risk.state.to_dict()
        holdings = self._holdings()
        if bar_ts is None:
            self.store.save_between_bars(self.bot_id, cash=cash, value=value, orders=orders,
                                         trades=trades, positions=positions,
                                         risk_state=risk_state, exit_mixins=self.exit_mixins,
                                         holdings=holdings)
        else:
            self.store.checkpoint(self.bot_id, bar_ts=bar_ts, cash=cash, value=value,
                                  orders=orders, trades=trades, positions=positions,
                                  risk_state=risk_state, save_equity=self.save_equity,
                                  exit_mixins=self.exit_mixins, holdings=holdings)
        if self.journal is not None:
            self.journal.write(orders, trades)
        return [replace(e, equity=value) if isinstance(e, (TradeOpened, TradeClosed)) else e
                for e in events]

    def _holdings(self) -> dict[str, tuple[float, float]]:
        """The broker's whole position in each symbol it holds (size, price): the trade's,
        plus the dust a venue's lot rounding leaves, which a restart must know to be the
        bot's. A broker's positions are keyed by the symbol's data feed (named by its symbol)."""
        held = {}
        for data, position in getattr(self.broker, "positions", {}).items():
            if position.size:
                held[self._symbol_of(data)] = (float(position.size), float(position.price))
        return held

    def _symbol_of(self, data: Any) -> str:
        return getattr(data, "_name", "") or self.symbol

    def add_event(self, event: Event) -> None:
        """Publish ``event`` once the current bar is committed (e.g. the kill switch tripping)."""
        self._events.append(event)
