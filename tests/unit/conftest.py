"""Fixtures of the store's tests (``db_url``, ``sqlite_url`` and ``pg_url`` are in
tests/conftest.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from trading.persistence import tables as store_tables
from trading.persistence.repository import Store


@pytest.fixture
def raw_engine():
    """A plain SQLAlchemy engine on a URL, to look at the database as another tool would."""
    engines = []

    def _engine(url: str):
        engines.append(create_engine(url))
        return engines[-1]

    yield _engine
    for engine in engines:
        engine.dispose()


@pytest.fixture(params=["on_conflict", "update_then_insert"])
def upsert_path(request, monkeypatch) -> str:
    """Run a test with SQLite's INSERT ... ON CONFLICT and with the portable fallback other
    databases get, so both write paths are proven on the same rows."""
    if request.param == "update_then_insert":
        monkeypatch.setattr(store_tables, "NATIVE_UPSERT", {})
    return request.param


@pytest.fixture
def open_store(db_url):
    """Opens stores on the test's database (``db_url``): each call a new one, as a restart."""
    stores: list[Store] = []

    def _open() -> Store:
        stores.append(Store(db_url))
        return stores[-1]

    yield _open
    for store in stores:
        store.close()
