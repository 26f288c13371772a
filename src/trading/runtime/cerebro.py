"""The one Cerebro builder: replay and the live bot run the strategy through the same engine.

Only the feed differs. A replay's ``ArrayFeed`` is preloaded and runs in Backtrader's vectorised
``runonce`` mode; a live ``LiveFeed`` cannot be preloaded, so it runs bar by bar with
``exactbars=1`` (bounded memory for months-long runs). Either way the same CustomStrategy, mixins,
risk rules and broker fill model decide, which is what replay/live parity rests on.
"""
from __future__ import annotations

from typing import Sequence

import backtrader as bt

from feeds.basket_clock import BasketClock
from strategies.custom_strategy import CustomStrategy, StrategySetup
from trading.core.protocols import StrategyListener

SETTLE_SECONDS = 10.0  # a run's end waits this long for the answers to its last market orders


class BotCerebro(bt.Cerebro):
    """Cerebro with leaner loops for the bot's shape: one data feed per symbol, one strategy.

    Backtrader's ``_runonce`` and ``_runnext`` handle many feeds, timers, cheat-on-open and
    writers on every bar; the bot has none of them, so its loops are the same steps in the same
    order (advance the data, let the broker fill and notify, run the strategy's step) without the
    rest: about 10% off a replay. Any other shape runs Backtrader's own loops. A basket's replay
    advances, each step, the feeds whose next bar has the earliest time (a symbol without a bar
    then is not advanced); live, its ``BasketClock`` says which feeds have a bar in the step.

    Live, the loop also acts between bars: the feed wakes it when the venue reports (a fill, a
    cancel), the broker's notifications reach the strategy at once (``quicknotify``), the strategy
    commits what changed (``between_bars``) and the orders it placed on them (a filled entry's
    stop-loss and take-profit) go out right after (``transmit_held``), so a fill is saved,
    protected and announced within milliseconds, not at the next bar. Orders always leave after
    the commit that records them (a bar's checkpoint, or that one): the database knows every
    order the venue knows.
    """

    basket_clock: BasketClock | None = None  # a live basket's steps (set by build_cerebro)

    def _lean(self, runstrats) -> bool:
        one_feed = len(self.datas) == 1 or self.basket_clock is not None or self.p.runonce
        return (one_feed and len(runstrats) == 1 and not self._timers
                and not self._timerscheat and not self.p.cheat_on_open and not self.runwriters)

    def _next_bar(self, data) -> bool | None:
        """One feed's next bar: True, None when nothing came yet (woken or idle), False at the
        end."""
        got = data.next(ticks=False)
        if got is False:
            if not data._last():  # a filter's last bar, as Backtrader's loop asks
                return False  # the feed ended
            return True
        if got:
            data._tick_fill(force=True)
        return got

    def _next_step(self) -> bool | None:
        """A basket's next step from its clock: the feeds with a bar take it."""
        feeds = self.basket_clock.next_step()
        if not feeds:
            return feeds  # None (nothing due yet) or False (the end)
        got = None
        for feed in feeds:
            if self._next_bar(feed):
                got = True
        return got

    def _runnext(self, runstrats):
        if not self._lean(runstrats):
            return super()._runnext(runstrats)
        strategy, data = runstrats[0], self.datas[0]
        transmit = getattr(self._broker, "transmit_held", None)
        between_bars = getattr(strategy, "between_bars", None)
        step = self._next_step if self.basket_clock is not None else (lambda: self._next_bar(data))
        while True:
            self._datanotify()
            if self._event_stop:
                return None
            got = step()  # True: a bar (a step); None: nothing yet (woken or idle); False: the end
            if got is False:
                break
            self._datanotify()
            if self._event_stop:
                return None
            self._brokernotify()  # broker fills and reports; the strategy hears it at once
            if self._event_stop:
                return None
            if got:
                strategy._next()  # the bar's decisions, then its checkpoint
            elif between_bars is not None:
                between_bars()  # commit what the reports changed (a fill, its stop-loss ...)
            if transmit is not None:
                transmit()  # only now do the orders it placed leave: the database has them
            if self._event_stop:
                return None
        # the feed ended (its data, or a stop asked for): a market order sent on the last bar
        # is answered and saved before the run ends, not left 'submitted' for the restart
        settle = getattr(self._broker, "settle", None)
        if settle is not None and settle(SETTLE_SECONDS):
            self._brokernotify()
            if between_bars is not None:
                between_bars()
            if transmit is not None:
                transmit()  # a stop-loss for an entry that filled just now
        self._datanotify()
        return None

    def _runonce(self, runstrats):
        if not self._lean(runstrats):
            return super()._runonce(runstrats)
        strategy, data = runstrats[0], self.datas[0]
        strategy._once()
        strategy.reset()
        if len(self.datas) > 1:
            return self._runonce_basket(strategy)
        peek, advance, step = data.advance_peek, data.advance, strategy._oncepost
        end = float("inf")
        while True:
            dt0 = peek()
            if dt0 == end:
                return None
            advance()
            if not self._fill_and_decide(step, dt0):
                return None

    def _fill_and_decide(self, step, dt0: float) -> bool:
        """A replay step after its feeds advanced: the broker fills and reports, then the
        strategy decides; False once a stop was asked for."""
        self._brokernotify()
        if self._event_stop:
            return False
        step(dt0)
        return not self._event_stop

    def _runonce_basket(self, strategy) -> None:
        """Each step: the feeds whose next bar is the earliest advance, the broker fills and
        the strategy decides (a symbol with no bar at that time is left where it is)."""
        peeks = [(d.advance_peek, d.advance) for d in self.datas]
        step = strategy._oncepost
        end = float("inf")
        while True:
            times = [peek() for peek, _ in peeks]
            dt0 = min(times)
            if dt0 == end:
                return None
            for (_, advance), dt in zip(peeks, times):
                if dt == dt0:
                    advance()
            if not self._fill_and_decide(step, dt0):
                return None


def build_cerebro(*, feed: bt.feed.DataBase, broker: bt.BrokerBase, setup: StrategySetup,
                  listener: StrategyListener, symbol: str,
                  further_feeds: Sequence[tuple[str, bt.feed.DataBase]] = (),
                  basket_clock: BasketClock | None = None) -> bt.Cerebro:
    """A Cerebro with the data feed of each symbol, the broker and the config's CustomStrategy.

    ``feed`` is the first symbol's, ``further_feeds`` a basket's others (symbol, feed) in the
    basket's order; live feeds of a basket step together through ``basket_clock``. A live feed
    (``feed.islive()``) runs unpreloaded in next mode with ``exactbars=1``, and order
    notifications reach the strategy as the broker makes them, also between bars; a historical
    one is preloaded and runs in ``runonce`` mode. No observers (``stdstats=False``): the bot
    keeps its own records.
    """
    if feed.islive():
        cerebro = BotCerebro(stdstats=False, runonce=False, preload=False, exactbars=1,
                             quicknotify=True)
    else:
        cerebro = BotCerebro(stdstats=False, runonce=True, preload=True)
    cerebro.adddata(feed, name=symbol)
    for name, more in further_feeds:
        cerebro.adddata(more, name=name)
    if further_feeds and feed.islive():
        if basket_clock is None:
            raise ValueError("live feeds of several symbols need a BasketClock to step them")
        basket_clock.attach([feed, *(more for _, more in further_feeds)])
        cerebro.basket_clock = basket_clock
    cerebro.setbroker(broker)
    cerebro.addstrategy(CustomStrategy, setup=setup, listener=listener)
    return cerebro
