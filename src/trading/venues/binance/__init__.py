"""Binance Spot: the connection (``connection.BinanceVenue``), endpoints and keys
(``endpoints``), klines (``klines``), symbol rules (``filters``) and orders (``orders``, ``order_types``), shared by
``feeds.binance`` and ``brokers.binance``. Only this package knows python-binance."""
