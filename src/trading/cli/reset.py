"""``tradingbot reset CONFIG``: archive a stopped bot so its next run starts over.

Nothing is deleted. The bot's database rows move to the id ``<bot_id>@<UTC time>`` (still there
for the sqlite3 shell or psql), its journal folder ``logs/json/<bot_id>/`` is renamed the same way,
and its status file moves to ``logs/status/archive/``; a new status file says the bot was reset
(``tradingbot status`` shows it until the next run). Refused while the bot runs (its lease is
held); a missing database is never created.
"""
from __future__ import annotations

import sys

from trading.cli.common import (
    EXIT_OK,
    maintenance_parser,
    report_config_error,
    report_store_error,
    stopped_bot,
)
from trading.config.env_file import load_env_file
from trading.config.loading import load_config
from trading.core.errors import ConfigError, LeaseHeld, NoDatabase, StoreError
from trading.persistence.archive import archived_id
from trading.persistence.journal import journal_folder
from trading.cli.status import read_status
from trading.runtime.status import STATUS_DIR, reset_status, write_status_file


def _archive_files(bot_id: str, archived: str) -> list[str]:
    """Rename the journal folder and move the status file; return what was moved, for people."""
    moved = []
    journal = journal_folder(bot_id)
    if journal.is_dir():
        target = journal.with_name(archived)
        journal.rename(target)
        moved.append(f"journal {journal}/ -> {target}/")
    status = STATUS_DIR / f"{bot_id}.json"
    if status.is_file() and (read_status(status) or {}).get("state") != "reset":
        # (the file an earlier reset left says only that: it is replaced, not archived)
        target = STATUS_DIR / "archive" / f"{archived}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        status.rename(target)
        moved.append(f"status file {status} -> {target}")
    return moved


def main(argv: list[str] | None = None) -> int:
    """0 archived (or nothing to archive), 1 bad config, no database or the bot runs, 3 store
    error."""
    p = maintenance_parser(prog="tradingbot reset",
                       description="Archive a stopped bot's database rows, journal and status file "
                                   "(renamed with a time stamp, nothing deleted) so its next run "
                                   "starts over.")
    args = p.parse_args(argv)
    try:
        load_env_file()  # TRADINGBOT_DATABASE_URL may be there, as for run
        config = load_config(args.config)
    except ConfigError as exc:
        return report_config_error(exc)
    bot_id = config.bot_id
    archived, rows, no_database = None, 0, None
    try:
        with stopped_bot(config, args.db) as store:
            archived, rows = store.archive_bot(bot_id)
    except NoDatabase as exc:
        no_database = exc
    except (StoreError, LeaseHeld) as exc:
        return report_store_error(bot_id, exc, command="tradingbot reset")
    if archived is None:  # no database: the files alone may still be there
        archived = archived_id(bot_id)
    files = _archive_files(bot_id, archived)
    if not rows and not files:
        if no_database is not None:  # most likely the wrong folder: say where it looked
            return report_store_error(bot_id, no_database, command="tradingbot reset")
        print(f"bot {bot_id}: nothing to reset: its database holds no rows of it and no journal "
              "or status of a run is left; its next run starts over anyway")
        return EXIT_OK
    write_status_file(reset_status(bot_id, config.trading.symbol, archived,
                                   symbols=config.trading.symbols))
    print(f"bot {bot_id} archived as {archived}; its next run starts over:")
    if rows:
        print(f"  database: {rows} row(s) moved to bot id {archived}")
    for line in files:
        print(f"  {line}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
