"""Alembic migrations of the store's schema (a package so they ship inside the wheel)."""
