"""Fixtures of the contract suites: the loopback venues a contract row shares per test module."""
from __future__ import annotations

from typing import Iterator

import pytest

from contract.binance_lockstep import BinanceExchange
from trading.runtime.io_thread import IOThread


@pytest.fixture(scope="module")
def binance_exchange() -> Iterator[BinanceExchange]:
    """One fake Binance, I/O thread and connection for the module's binance cases."""
    exchange = BinanceExchange.open()
    yield exchange
    exchange.close()


@pytest.fixture
def io() -> Iterator[IOThread]:
    """The bot's I/O thread, where a source runs; it must stop in time (nothing left running)."""
    thread = IOThread(name="contract-io")
    thread.start()
    yield thread
    assert thread.stop(timeout=5.0), "the I/O thread did not stop in time"
