"""A basket bot end to end, as a user runs it: the shipped 0007 demo (five symbols on the file
source and paper broker) as a subprocess; what it trades equals a replay of the same files,
and a crash with several positions open loses and doubles nothing."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot_workspace import REPO, BotWorkspace, deep_update, kill_hard, wait_until
from trading.backtest.replay import load_basket_bars, run_replay
from trading.config.loading import load_config

BASKET_CONFIG = REPO / "config" / "trading" / "0007.json"
FILES = str(REPO / "data" / "sample" / "{symbol}-5m.csv")


class BasketWorkspace(BotWorkspace):
    """A workspace whose bot is the 0007 basket demo, reading the bundled files."""

    def write_config(self, **changes: Any) -> dict[str, Any]:
        doc = json.loads(BASKET_CONFIG.read_text())
        doc.pop("$schema", None)
        doc["data"]["file_path"] = FILES
        if self.db_url is not None:
            doc["database"] = {"url": self.db_url}
        deep_update(doc, changes)
        self.config_path.write_text(json.dumps(doc, indent=2))
        return doc

    def basket_trades(self) -> list[tuple]:
        rows = self.query("SELECT symbol, entry_time, exit_time, size, entry_price, exit_price, "
                          "pnl, exit_reason FROM trades ORDER BY exit_time, symbol")
        return [(s, str(e)[:19], str(x)[:19], round(size, 8), round(ep, 10), round(xp, 10),
                 round(pnl, 8), reason) for s, e, x, size, ep, xp, pnl, reason in rows]

    def open_symbols(self) -> set[str]:
        return {row[0] for row in self.query("SELECT symbol FROM positions")}


@pytest.fixture(params=["sqlite", "postgresql"])
def ws_any_db(request: pytest.FixtureRequest, tmp_path: Path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    workspace = BasketWorkspace(tmp_path, bot_id="7007", db_url=url)
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    """The basket's trades from one run never interrupted."""
    ws = BasketWorkspace(tmp_path_factory.mktemp("basket-reference"), bot_id="7007")
    ws.write_config()
    result = ws.run()
    assert result.returncode == 0, result.stderr
    return ws.basket_trades()


def _most_open_at_once(trades: list[tuple]) -> int:
    moments = sorted([(t[1], 1) for t in trades] + [(t[2], -1) for t in trades],
                     key=lambda m: (m[0], m[1]))  # an exit before an entry at the same time
    held = most = 0
    for _, change in moments:
        held += change
        most = max(most, held)
    return most


def test_a_basket_trades_several_symbols_at_once_and_never_more_than_max_positions(uninterrupted):
    symbols = {t[0] for t in uninterrupted}
    assert len(symbols) >= 4, symbols
    most = _most_open_at_once(uninterrupted)
    assert 2 <= most <= 3  # 0007 holds at most max_positions 3


def test_the_run_equals_a_replay_of_the_same_files_trade_for_trade(tmp_path, uninterrupted):
    ws = BasketWorkspace(tmp_path, bot_id="7007")
    ws.write_config()
    config = load_config(ws.config_path)
    basket = load_basket_bars(config)
    first = basket[config.trading.symbols[0]]
    replay = run_replay(config, first, basket=basket)
    replayed = sorted(((t.symbol, t.entry_time.isoformat()[:19].replace("T", " "),
                        t.exit_time.isoformat()[:19].replace("T", " "), round(t.size, 8),
                        round(t.entry_price, 10), round(t.exit_price, 10), round(t.pnl, 8),
                        t.exit_reason) for t in replay.trades), key=lambda t: (t[2], t[0]))
    assert replayed == uninterrupted


def test_restart_after_sigkill_with_several_positions_open_loses_and_doubles_nothing(
        ws_any_db, uninterrupted):
    ws = ws_any_db
    ws.write_config(data={"speed": 400})
    proc = ws.start()
    assert wait_until(lambda: len(ws.open_symbols()) >= 2, proc), \
        "two positions were never open at once before the run ended"
    kill_hard(proc)
    held = ws.open_symbols()
    assert len(held) >= 2
    ws.write_config(data={"speed": 0})
    result = ws.run()
    assert result.returncode == 0, result.stderr
    assert "restoring bot 7007" in result.stderr
    for symbol in held:
        assert f"resuming open position: " in result.stderr and symbol in result.stderr
    assert ws.basket_trades() == uninterrupted


def test_a_position_in_a_symbol_dropped_from_the_basket_stops_the_start(tmp_path):
    ws = BasketWorkspace(tmp_path, bot_id="7007")
    ws.write_config(data={"speed": 400})
    proc = ws.start()
    assert wait_until(lambda: bool(ws.open_symbols()), proc), "no position opened"
    kill_hard(proc)
    held = sorted(ws.open_symbols())
    rest = [s for s in json.loads(BASKET_CONFIG.read_text())["trading"]["symbols"]
            if s not in held]
    ws.write_config(trading={"symbols": rest})
    result = ws.run()
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert f"holds an open position or order in {held[0]}" in result.stderr
    assert "add the symbol back until the position is closed" in result.stderr
    assert sorted(ws.open_symbols()) == held  # nothing was touched
