"""Archive a stopped bot's rows so it starts over, without deleting anything.

Every row of the bot (its ``bots`` row and every table with a ``bot_id`` column) moves, in one
transaction, to a new bot id ``<bot_id>@<UTC time stamp>``: the history stays queryable in the
sqlite3 shell or psql, and the bot id is free for a fresh start.
"""
from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from trading.core.timeutil import utcnow
from trading.persistence import tables as t


def archived_id(bot_id: str, stamp: str | None = None) -> str:
    """``0001@20261126T141900Z``: where an archived bot's rows go."""
    return f"{bot_id}@{stamp or utcnow().strftime('%Y%m%dT%H%M%SZ')}"


def archive_rows(conn: Connection, bot_id: str, new_id: str) -> int:
    """Move every row of ``bot_id`` to ``new_id`` inside the caller's transaction.

    Returns how many rows moved (0 when the bot has none). The new ``bots`` row is written first
    and the old one removed last, so foreign keys hold at every statement.
    """
    bots = t.bots
    row = conn.execute(select(bots).where(bots.c.bot_id == bot_id)).mappings().first()
    if row is None:
        return 0
    conn.execute(insert(bots).values({**row, "bot_id": new_id}))
    moved = 1
    for table in t.metadata.sorted_tables:
        if table is bots or table is t.leases or "bot_id" not in table.c:
            continue  # the lease belongs to whoever runs the bot id now, not to its history
        result = conn.execute(update(table).where(table.c.bot_id == bot_id).values(bot_id=new_id))
        moved += max(result.rowcount or 0, 0)
    conn.execute(bots.delete().where(bots.c.bot_id == bot_id))
    return moved
