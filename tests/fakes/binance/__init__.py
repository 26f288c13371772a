"""A loopback Binance Spot exchange for tests: REST, kline streams and the WebSocket API user data
stream, spoken on the real wire protocol to the real python-binance client."""
from fakes.binance.server import FakeBinance, Fault

__all__ = ["FakeBinance", "Fault"]
