"""A loopback Yahoo Finance for tests: the cookie, crumb and chart endpoints yfinance 1.7.0 calls,
spoken to the real yfinance (curl_cffi) client through ``YAHOO_BASE_URL``."""
from fakes.yahoo.market import FakeYahooMarket, regular_sessions
from fakes.yahoo.server import FakeYahoo, Listing

__all__ = ["FakeYahoo", "FakeYahooMarket", "Listing", "regular_sessions"]
