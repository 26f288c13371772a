"""Fixtures of the contract suites: the loopback venues a contract row shares per test module."""
from __future__ import annotations

from typing import Iterator

import pytest

from contract.binance_lockstep import BinanceExchange


@pytest.fixture(scope="module")
def binance_exchange() -> Iterator[BinanceExchange]:
    """One fake Binance, I/O thread and connection for the module's binance cases."""
    exchange = BinanceExchange.open()
    yield exchange
    exchange.close()
