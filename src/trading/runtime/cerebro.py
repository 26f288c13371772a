"""The one Cerebro builder: replay and the live bot run the strategy through the same engine.

Only the feed differs. A replay's ``ArrayFeed`` is preloaded and runs in Backtrader's vectorised
``runonce`` mode; a live ``LiveFeed`` cannot be preloaded, so it runs bar by bar with
``exactbars=1`` (bounded memory for months-long runs). Either way the same CustomStrategy, mixins,
risk rules and broker fill model decide, which is what replay/live parity rests on.
"""
from __future__ import annotations

import backtrader as bt

from strategies.custom_strategy import CustomStrategy, StrategySetup
from trading.core.protocols import StrategyListener


def build_cerebro(*, feed: bt.feed.DataBase, broker: bt.BrokerBase, setup: StrategySetup,
                  listener: StrategyListener, symbol: str) -> bt.Cerebro:
    """A Cerebro with one data feed, the broker and the config's CustomStrategy.

    A live feed (``feed.islive()``) runs unpreloaded in next mode with ``exactbars=1``; a
    historical one is preloaded and runs in ``runonce`` mode. No observers (``stdstats=False``):
    the bot keeps its own records.
    """
    if feed.islive():
        cerebro = bt.Cerebro(stdstats=False, runonce=False, preload=False, exactbars=1)
    else:
        cerebro = bt.Cerebro(stdstats=False, runonce=True, preload=True)
    cerebro.adddata(feed, name=symbol)
    cerebro.setbroker(broker)
    cerebro.addstrategy(CustomStrategy, setup=setup, listener=listener)
    return cerebro
