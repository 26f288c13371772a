"""One connection per venue (a Binance client, an IB connection), shared by that venue's feed and
broker: Backtrader's "store" idea, built once per bot by the runtime and passed in, never a
singleton. Venue modules import only ``trading.core``.
"""
