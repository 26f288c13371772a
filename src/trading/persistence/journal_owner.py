"""Which database a bot's journal belongs to, and opening the journal for a run.

A journal (``logs/json/<bot_id>/``) follows one database. Its ``database.json`` names that
database (the URL with its password masked; a SQLite file inside the working folder relative to
it, so a folder copied or moved elsewhere keeps its journal). When the bot runs on another
database (``--db postgresql://...`` after a run on the default SQLite file), that is a move, not a
loss: the old journal is set aside as ``logs/json/<bot_id>@<UTC time>/`` (as ``tradingbot reset``
does) and the new database gets a journal of its own. Only a journal of the *same* database that
records orders or trades the database does not have means the database was replaced, emptied or
lost, and the bot refuses to start.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from trading.core.errors import DamagedDatabase
from trading.persistence.archive import archived_id
from trading.persistence.database import mask_url
from trading.persistence.journal import JOURNAL_DIR, Journal, journal_folder

log = logging.getLogger(__name__)

OWNER_FILE = "database.json"


def database_identity(shown_url: str, cwd: Path | None = None) -> str:
    """The database as a journal remembers it: ``shown_url`` (password already masked), with a
    SQLite file inside ``cwd`` (default: the working folder) written relative to it."""
    try:
        url = make_url(shown_url)
    except ArgumentError:
        return shown_url
    if url.get_backend_name() != "sqlite" or not url.database:
        return shown_url
    base = (cwd or Path.cwd()).resolve()
    path = Path(url.database)
    try:
        relative = (base / path).resolve().relative_to(base)
    except ValueError:  # outside the working folder: the absolute path says which file it is
        return shown_url
    return mask_url(url.set(database=relative.as_posix()))


def journal_database(folder: Path) -> str | None:
    """The database the journal in ``folder`` belongs to (None: not recorded, as in journals
    written before this file existed)."""
    try:
        data = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    database = data.get("database") if isinstance(data, dict) else None
    return database if isinstance(database, str) else None


def _remember(folder: Path, database: str) -> None:
    (folder / OWNER_FILE).write_text(json.dumps({"database": database}) + "\n", encoding="utf-8")


def _set_aside(folder: Path, bot_id: str) -> Path:
    target = folder.with_name(archived_id(bot_id))
    n = 1
    while target.exists():  # two moves within one second
        n += 1
        target = folder.with_name(f"{archived_id(bot_id)}-{n}")
    folder.rename(target)
    return target


def open_journal(bot_id: str, *, shown_url: str, has_state: bool,
                 root: Path = JOURNAL_DIR) -> Journal:
    """The journal of ``bot_id`` for a run on the database ``shown_url`` (masked).

    ``has_state``: the database holds a checkpoint of this bot. A journal of another database is
    set aside first; raises ``DamagedDatabase`` when the journal of this same database (or one
    that does not say which) records orders or trades but the database has no state.
    """
    folder = journal_folder(bot_id, root)
    database = database_identity(shown_url)
    owner = journal_database(folder)
    if owner is not None and owner != database:
        moved = _set_aside(folder, bot_id)
        log.info("bot %s now runs on the database %s; its journal %s/ belonged to the database "
                 "%s and was moved to %s/. This database is a new one for the bot: the bot "
                 "goes on from what this database holds of it, with a new journal", bot_id,
                 database, folder, owner, moved)
    journal = Journal(folder, bot_id)
    if not has_state and journal.has_history:
        journal.close()
        raise DamagedDatabase(
            f"the database {shown_url} has no state for bot {bot_id}, but its journal {folder}/ "
            "records its orders and trades: the database was replaced, emptied or lost. The bot "
            "will not trade again what it already traded. Restore the database from a backup, "
            f"or archive the journal with 'tradingbot reset {bot_id}' to start over")
    if owner != database:
        _remember(folder, database)
    return journal
