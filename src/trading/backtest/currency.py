"""The quote currency a config's money is counted in, for the report's money figures.

The account's balance, pnl and fees are in the symbol's quote currency: BTC for ``ETHBTC``, USDT
for ``BTCUSDT``, USD for ``BTC-USD``. A venue section that names a currency (``ibkr.currency``)
says it outright; otherwise it is read from the symbol: the part after a ``-`` or ``/``, or a
known quote asset at the end of a joined pair. A plain Yahoo ticker (``AAPL``, no exchange
suffix) is a US listing, in USD. Anything else is unknown: "".
"""
from __future__ import annotations

import re

from trading.config.models import BotConfig

# longest first, so BTCFDUSD is FDUSD and not USD
KNOWN_QUOTES = tuple(sorted({
    "USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USDP", "DAI", "USD", "EUR", "GBP", "JPY", "TRY",
    "BRL", "AUD", "BTC", "ETH", "BNB", "XRP", "TRX", "DOGE"}, key=len, reverse=True))
PLAIN_TICKER_SOURCES = {"yahoo": "USD"}


def symbol_quote(symbol: str) -> str:
    """The quote asset a symbol names, or "" when it names none (``AAPL``)."""
    text = symbol.strip().upper()
    parts = [p for p in re.split(r"[-/]", text) if p]
    if len(parts) == 2 and parts[1].isalpha():
        return parts[1]
    for quote in KNOWN_QUOTES:
        if text.endswith(quote) and len(text) > len(quote) and text[:-len(quote)].isalnum():
            return quote
    return ""


def quote_currency(config: BotConfig) -> str:
    """The currency ``config``'s balance and pnl are counted in, or "" when unknown."""
    for section in (config.broker.type, config.data.data_source):
        named = getattr(config.venue_settings.get(section), "currency", None)
        if isinstance(named, str) and named:
            return named.upper()
    quote = symbol_quote(config.trading.symbol)
    if quote:
        return quote
    symbol = config.trading.symbol
    if symbol.isalnum():
        return PLAIN_TICKER_SOURCES.get(config.data.data_source, "")
    return ""
