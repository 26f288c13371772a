"""Interactive Brokers through TWS or IB Gateway: the connection (``connection.IbkrVenue``), where
it listens (``settings``), the traded contract (``contracts``), what IB's message codes mean
(``codes``) and orders (``orders``, ``order_types``), shared by ``feeds.ibkr`` and
``brokers.ibkr``. Only this package knows ib_async."""
