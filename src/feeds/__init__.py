"""Bar sources and Backtrader feeds: CSV loading, replay feed, the live queue feed, sources.

``AVAILABLE_SOURCES`` names the ``data.data_source`` values this version can run; the validator
warns about the others and ``feeds.factory.build_source`` refuses them.
"""

AVAILABLE_SOURCES: tuple[str, ...] = ("file", "binance", "yahoo", "ibkr")
