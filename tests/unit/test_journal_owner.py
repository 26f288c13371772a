"""A journal remembers its database: a run on another database sets it aside and starts a new
one; a run on the same database that lost the bot's state is refused."""
from __future__ import annotations

import shutil

import pytest

from trading.core.errors import DamagedDatabase
from trading.persistence.journal_owner import database_identity, journal_database, open_journal
from test_journal import order, trade

SQLITE = "sqlite:////work/bot/data/0001.sqlite"
POSTGRES = "postgresql+psycopg://bot:***@db.example:5432/trading"


def _traded_journal(root, url):
    journal = open_journal("0001", shown_url=url, has_state=False, root=root)
    journal.write([order("a", "filled")], [trade("x")])
    journal.close()


def test_a_journal_of_another_database_is_set_aside_and_the_new_database_starts(tmp_path, caplog):
    root = tmp_path / "json"
    _traded_journal(root, SQLITE)
    caplog.set_level("INFO")
    journal = open_journal("0001", shown_url=POSTGRES, has_state=False, root=root)
    journal.close()
    assert not journal.has_history
    assert journal_database(root / "0001") == POSTGRES
    (aside,) = [p for p in root.iterdir() if p.name.startswith("0001@")]
    assert journal_database(aside) == database_identity(SQLITE)
    assert (aside / "trades.jsonl").read_text().count("\n") == 1
    assert "is a new one for the bot" in caplog.text and "moved to" in caplog.text
    assert "***" in caplog.text and "bot:" in caplog.text  # the password never shows


def test_the_same_database_without_the_bots_state_is_refused(tmp_path):
    root = tmp_path / "json"
    _traded_journal(root, POSTGRES)
    with pytest.raises(DamagedDatabase, match="replaced, emptied or lost"):
        open_journal("0001", shown_url=POSTGRES, has_state=False, root=root)
    # with its state the same database just goes on, nothing set aside
    open_journal("0001", shown_url=POSTGRES, has_state=True, root=root).close()
    assert [p.name for p in root.iterdir()] == ["0001"]


def test_a_journal_that_does_not_name_its_database_is_taken_as_this_ones(tmp_path):
    root = tmp_path / "json"
    _traded_journal(root, POSTGRES)
    (root / "0001" / "database.json").unlink()  # written before journals named their database
    with pytest.raises(DamagedDatabase):
        open_journal("0001", shown_url=SQLITE, has_state=False, root=root)
    open_journal("0001", shown_url=SQLITE, has_state=True, root=root).close()
    assert journal_database(root / "0001") == database_identity(SQLITE)


def test_a_sqlite_file_in_the_working_folder_is_named_relative_to_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inside = f"sqlite:///{tmp_path / 'data' / '0001.sqlite'}"
    assert database_identity(inside) == "sqlite:///data/0001.sqlite"
    assert database_identity("sqlite:///data/0001.sqlite") == "sqlite:///data/0001.sqlite"
    assert database_identity(SQLITE) == SQLITE  # elsewhere: absolute
    # a folder copied elsewhere keeps its journal: the same relative name
    _traded_journal(tmp_path / "logs" / "json", inside)
    copy = tmp_path.parent / f"{tmp_path.name}-copy"
    shutil.copytree(tmp_path, copy)
    monkeypatch.chdir(copy)
    with pytest.raises(DamagedDatabase):
        open_journal("0001", shown_url=f"sqlite:///{copy / 'data' / '0001.sqlite'}",
                     has_state=False, root=copy / "logs" / "json")
