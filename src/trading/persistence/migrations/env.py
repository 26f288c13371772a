"""Alembic environment for the store's schema.

``trading.persistence.repository.Store`` runs the migrations itself when it opens a database and hands its
connection in through ``config.attributes["connection"]``. Developers can also use the Alembic CLI
with a config whose ``script_location`` is this folder, giving the database as ``-x url=...``
(or ``sqlalchemy.url``), e.g. to autogenerate the next revision from ``trading.persistence.tables``.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from trading.persistence.database import normalise_url
from trading.persistence.tables import metadata

config = context.config


def _url() -> str | None:
    x_args = context.get_x_argument(as_dictionary=True)
    return x_args.get("url") or config.get_main_option("sqlalchemy.url")


def _run(connection) -> None:
    # batch mode lets later revisions ALTER tables on SQLite (copy-and-move)
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    _run(config.attributes["connection"])
else:
    with create_engine(normalise_url(make_url(_url()))).connect() as conn:
        _run(conn)
        conn.commit()
