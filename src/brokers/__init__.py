"""Brokers: every one a Backtrader broker, so the strategy never knows which one it has.

``AVAILABLE_BROKERS`` names the ``broker.type`` values this version can build; the validator warns
about the others and ``brokers.factory.build_broker`` refuses them.
"""

AVAILABLE_BROKERS: tuple[str, ...] = ("mock", "paper", "binance_paper", "binance", "ibkr")
