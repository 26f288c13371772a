"""The live bot end to end, as a user runs it: a subprocess on the file source and paper broker."""
from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot_workspace import (REPO, SAMPLE, BotWorkspace, clean_run_trades, kill_hard, replayed_trades,
                           sample_part, wait_until)
from feeds.csv_bars import load_bars

LOOKBACK = 100
# the bots here replay the sample's first 2,200 bars: seven trades of the demo strategy (its first
# entry signal is bar 134), where the crashes, signals and restarts below all land
BARS = 2200


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_part(tmp_path_factory.mktemp("market") / "ETHBTC-5m.csv", BARS)


@pytest.fixture
def ws(tmp_path: Path, market: Path) -> BotWorkspace:
    return BotWorkspace(tmp_path, data_file=market)


@pytest.fixture(params=["sqlite", "postgresql"])
def ws_any_db(request: pytest.FixtureRequest, tmp_path: Path, market: Path):
    """A workspace whose bot keeps its state in SQLite, or in a fresh PostgreSQL database."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    workspace = BotWorkspace(tmp_path, db_url=url, data_file=market)
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, market: Path) -> list[tuple]:
    """The trades of one run that was never interrupted (the reference for recovery tests)."""
    return clean_run_trades(tmp_path_factory.mktemp("reference"), data_file=market)


def test_demo_runs_end_to_end_and_leaves_trades_in_the_database_and_journal(tmp_path: Path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "data" / "sample", tmp_path / "data" / "sample")
    ws = BotWorkspace(tmp_path, bot_id="0001")
    result = subprocess.run([sys.executable, str(REPO / "src" / "trading" / "trading_bot.py"),
                             "0001.json"], cwd=tmp_path, text=True, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "trades (all runs):" in result.stdout
    # where it wrote everything, as the README's quick start says it prints
    for written in ("data/0001.sqlite", "logs/live/trading_bot_0001.log", "logs/json/0001",
                    "logs/status/0001.json", "status file:"):
        assert written in result.stdout, written
    trades = ws.trades()
    assert len(trades) >= 5
    journal_dir = tmp_path / "logs" / "json" / "0001"
    journal = [json.loads(line) for line in (journal_dir / "trades.jsonl").read_text().splitlines()]
    assert len(journal) == len(trades)
    assert set(journal[0]) >= {"entry_time", "exit_time", "symbol", "side", "size", "entry_price",
                               "exit_price", "pnl", "pnl_pct", "fees", "exit_reason", "bars_held",
                               "entry_mixin"}
    assert {t["entry_mixin"] for t in journal} == {"RSIBBVolumeEntryMixin"}
    orders = (journal_dir / "orders.jsonl").read_text().splitlines()
    assert any(json.loads(o)["status"] == "filled" for o in orders)
    status = json.loads((tmp_path / "logs" / "status" / "0001.json").read_text())
    assert status["state"] == "stopped" and status["last_bar_time"] == "2018-01-30T04:50:00Z"
    assert status["data_status"] == "DISCONNECTED"  # agrees with the state
    assert status["pid"] > 0 and status["host"] and status["version"]
    assert status["updated_at"].endswith("Z") and "entries_today" in status
    log = (tmp_path / "logs" / "live" / "trading_bot_0001.log").read_text()
    # entries and exits carry the bar's time; the run summary is in the log too
    assert " 2018-01-1" in log and "ENTRY ETHBTC" in log and "EXIT ETHBTC" in log
    assert "run summary:" in log and "trades (all runs):" in log
    assert "alembic" not in log  # migration chatter only at DEBUG


def test_replay_and_live_give_identical_trades_after_warmup(ws: BotWorkspace, uninterrupted):
    ws.write_config()
    assert replayed_trades(ws.config_path, load_bars(ws.data_file), LOOKBACK) == uninterrupted


def finish_at_full_speed(ws: BotWorkspace):
    """Restart the interrupted bot on the same data and let it run to the end."""
    ws.write_config(data={"speed": 0})
    result = ws.run()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_restart_after_sigkill_with_an_open_position_loses_and_doubles_nothing(ws_any_db,
                                                                             uninterrupted):
    ws = ws_any_db
    ws.write_config(data={"speed": 400})
    crashed_in: list[float] = []
    for _ in range(2):  # two crashes, each while a different position is open
        proc = ws.start()

        def new_position_open() -> bool:
            entry = ws.open_position_entry()
            return entry is not None and entry not in crashed_in

        assert wait_until(new_position_open, proc), "no new position opened before the run ended"
        kill_hard(proc)
        crashed_in.append(ws.open_position_entry())
    assert len(set(crashed_in)) == 2
    result = finish_at_full_speed(ws)
    assert "restoring bot" in result.stderr
    assert ws.trades() == uninterrupted


def test_restart_after_sigkill_between_order_intent_and_fill(ws_any_db, uninterrupted):
    ws = ws_any_db
    ws.write_config(data={"speed": 40})
    proc = ws.start()
    assert wait_until(ws.has_pending_entry, proc), "no entry order seen before the run ended"
    kill_hard(proc)
    assert ws.has_pending_entry() and not ws.has_open_position()
    result = finish_at_full_speed(ws)
    assert "re-sending entry order" in result.stderr
    assert ws.trades() == uninterrupted


def test_sigterm_stops_gracefully_and_the_database_is_consistent(ws, uninterrupted):
    ws.write_config(data={"speed": 400})
    proc = ws.start()
    assert wait_until(ws.has_open_position, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopping after the bar in hand" in err
    assert ws.query("PRAGMA integrity_check") == [("ok",)]
    (last_bar,) = ws.query("SELECT last_bar_ts FROM bots")[0]
    (trade,) = ws.query("SELECT trade FROM positions")[0]  # still open: it was not asked to close
    assert last_bar is not None and json.loads(trade)["bars_held"] >= 1
    finish_at_full_speed(ws)
    assert ws.trades() == uninterrupted


def test_sigterm_with_close_positions_closes_the_position_first(ws):
    ws.write_config(data={"speed": 400}, shutdown={"close_positions": True})
    proc = ws.start()
    assert wait_until(ws.has_open_position, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not ws.has_open_position()
    assert ws.trades()[-1][7] == "shutdown"


def test_kill_switch_stays_on_across_a_restart_until_reset(ws, tmp_path: Path):
    first_part = tmp_path / "first.csv"
    lines = SAMPLE.read_text().splitlines()
    first_part.write_text("\n".join(lines[:2500]) + "\n")
    ws.write_config(data={"file_path": str(first_part)}, trading={"max_drawdown_pct": 0.5})
    first = ws.run()
    assert first.returncode == 0, first.stderr
    assert "kill switch ON" in first.stderr
    # the ERROR line says at which bar, as the ENTRY and EXIT lines do
    assert re.search(r"ERROR +trading\.risk: 2018-01-\d\dT\d\d:\d\d:00Z kill switch ON: "
                     r"drawdown", first.stderr), first.stderr
    assert ws.query("SELECT kind FROM events WHERE kind = 'kill_switch'")
    trades_before = ws.trades()
    (first_last_bar,) = ws.query("SELECT last_bar_ts FROM bots")[0]
    # the data grows (as a live feed does); the restarted bot must not open anything new
    ws.write_config(data={"file_path": str(SAMPLE)}, trading={"max_drawdown_pct": 0.5})
    second = ws.run()
    assert second.returncode == 0, second.stderr
    # the rule that refuses bar after bar says so once (and once more, with the count, at the end)
    assert second.stderr.count("entry refused by max_drawdown_pct") == 1
    assert "entries refused this run (by rule): max_drawdown_pct" in second.stdout
    events = [json.loads(line) for line in
              (ws.root / "logs" / "json" / ws.bot_id / "events.jsonl").read_text().splitlines()]
    assert [e["kind"] for e in events].count("kill_switch") == 1
    assert ws.query("SELECT count(*) FROM orders WHERE purpose = 'entry' AND created_at > ?",
                    first_last_bar) == [(0,)]
    assert len(ws.trades()) <= len(trades_before) + 1  # at most the position open at the restart
    status = json.loads((ws.root / "logs" / "status" / f"{ws.bot_id}.json").read_text())
    assert status["kill_switch"] is True and status["entries_refused"]["max_drawdown_pct"] >= 1
    reset = subprocess.run([sys.executable, "-m", "trading.cli", "reset-kill-switch",
                            str(ws.config_path)], cwd=ws.root, env=ws.env(), text=True,
                           capture_output=True, timeout=60)
    assert reset.returncode == 0, reset.stderr
    assert "kill switch cleared" in reset.stdout
    (state,) = ws.query("SELECT state FROM risk_state")[0]
    assert json.loads(state)["kill_switch"] is False
    # `status` shows what is true now, not what the last run left
    status = json.loads((ws.root / "logs" / "status" / f"{ws.bot_id}.json").read_text())
    assert status["kill_switch"] is False
    shown = subprocess.run([sys.executable, "-m", "trading.cli", "status"], cwd=ws.root,
                           env=ws.env(), text=True, capture_output=True, timeout=60)
    assert " ON " not in shown.stdout and " off " in shown.stdout, shown.stdout


def test_a_broken_config_is_reported_without_a_traceback(ws):
    ws.write_config(strategy={"entry_logic": {"name": "RSIBBVolumeEntryMixn"}})
    result = ws.run()
    assert result.returncode == 1
    assert "did you mean 'RSIBBVolumeEntryMixin'" in result.stderr
    assert "Traceback" not in result.stderr


def test_live_money_broker_refuses_to_start_without_both_confirmations(ws):
    ws.write_config(broker={"type": "binance"}, data={"data_source": "binance"})
    result = ws.run()
    assert result.returncode == 1
    assert "live_trading_confirmed" in result.stderr and "--live" in result.stderr
    assert "Traceback" not in result.stderr


def test_heartbeat_writes_the_status_while_running_and_equity_is_recorded_per_bar(ws):
    ws.write_config(data={"speed": 300}, logging={"heartbeat_seconds": 0.2})
    status_file = ws.root / "logs" / "status" / f"{ws.bot_id}.json"

    seen: list[dict] = []

    def running_with_position() -> bool:
        try:
            status = json.loads(status_file.read_text())
        except (OSError, ValueError):
            return False
        seen.append(status)
        return status["state"] == "running" and status["position"] is not None

    proc = ws.start()
    try:
        assert wait_until(running_with_position, proc, poll=0.05)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    status = json.loads(status_file.read_text())
    assert set(status) >= {"state", "symbol", "data_status", "last_bar_time", "cash", "value",
                           "position", "entries_today", "pnl_today", "drawdown_pct", "kill_switch",
                           "uptime_seconds", "last_error", "updated_at", "pid", "host", "version"}
    assert status["symbol"] == "ETHBTC" and status["state"] == "stopped"
    assert status["data_status"] == "DISCONNECTED" and seen[-1]["data_status"] == "REPLAY"
    assert "heartbeat 7001: running" in err
    (live_bars,) = ws.query("SELECT count(*) FROM equity")[0]
    (last_bar,) = ws.query("SELECT max(ts) FROM equity")[0]
    assert live_bars > 0 and last_bar == ws.query("SELECT last_bar_ts FROM bots")[0][0]


def test_a_second_ctrl_c_forces_the_exit(ws, uninterrupted):
    # a slow feed whose first live bar is the first entry signal: the closing fill is 2 bars away
    first_signal_ts = uninterrupted[0][0] - 300
    signal_index = int(np.searchsorted(load_bars(ws.data_file).ts, first_signal_ts))
    ws.write_config(data={"speed": 0.5, "lookback_bars": signal_index},
                    shutdown={"close_positions": True})
    log_file = ws.root / "logs" / "live" / f"trading_bot_{ws.bot_id}.log"
    proc = ws.start()
    assert wait_until(ws.has_open_position, proc)
    proc.send_signal(signal.SIGINT)  # waits for the closing fill...
    # (two signals sent before the first is handled would be handled once: wait for it)
    assert wait_until(lambda: "closing the open position first" in log_file.read_text(), proc,
                      poll=0.01)
    proc.send_signal(signal.SIGINT)  # ...unless the user insists
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "forced exit" in err and "Traceback" not in err
    assert ws.query("PRAGMA integrity_check") == [("ok",)]


def test_an_unreachable_tws_stops_the_start_with_a_message_not_a_crash(ws, monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("IBKR_PORT", str(port))
    monkeypatch.setenv("IBKR_RETRY_CAP", "0.2")  # every try is made, 0.2 s apart at most
    ws.write_config(data={"data_source": "ibkr", "symbol": "ETHBTC", "interval": "1h"})
    result = ws.run()
    assert result.returncode == 3, result.stderr
    assert f"cannot reach TWS / IB Gateway at 127.0.0.1:{port}" in result.stderr
    assert "is it running, with the API socket enabled on that port?" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("source, env, symbol", [
    ("binance", {"BINANCE_REST_URL": "http://127.0.0.1:{port}/api",
                 "BINANCE_STREAM_URL": "ws://127.0.0.1:{port}/"}, "ETHBTC"),
    ("yahoo", {"YAHOO_BASE_URL": "http://127.0.0.1:{port}"}, "AAPL"),
])
def test_a_data_source_never_reached_since_the_start_stops_the_bot_with_the_reason(
        ws, monkeypatch, source, env, symbol):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(port=port))
    ws.write_config(trading={"symbol": symbol},
                    data={"data_source": source, "symbol": symbol, "interval": "1h",
                          "lookback_bars": 5, "connect_timeout_seconds": 2})
    result = ws.run(timeout=120)
    assert result.returncode == 3, result.stderr
    message = result.stderr.strip().splitlines()[-1]  # the last line, what the user reads
    assert ": no bar and no live connection in the 2s since the start " \
           "(data.connect_timeout_seconds); the last problem: " in message
    assert f"127.0.0.1:{port}" in message  # the address that could not be reached
    assert "Traceback" not in result.stderr


def test_a_start_that_fails_leaves_no_database_log_or_status_file(ws):
    ws.write_config(data={"file_path": "missing.csv"})
    result = ws.run()
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert not (ws.root / "data").exists(), "an empty database was left behind"
    assert not (ws.root / "logs").exists(), "an empty log or status file was left behind"


def test_a_second_instance_of_a_running_bot_is_refused_and_changes_nothing(ws_any_db):
    ws = ws_any_db
    ws.write_config(data={"speed": 200})
    status_file = ws.root / "logs" / "status" / f"{ws.bot_id}.json"
    first = ws.start()
    try:
        assert wait_until(ws.has_open_position, first)
        second = ws.run(timeout=60)
        assert second.returncode == 1, second.stderr
        assert "Traceback" not in second.stderr
        assert f"bot {ws.bot_id} is already running" in second.stderr
        assert f"pid {first.pid}" in second.stderr and "until" in second.stderr
        assert second.stderr.count("is already running") == 1  # the terminal gets it once
        assert first.poll() is None  # the running bot goes on
        # the shared log has the refused instance's start: it says why it stopped there too
        log = (ws.root / "logs" / "live" / f"trading_bot_{ws.bot_id}.log").read_text()
        assert f"ERROR   trading.cli.run: bot {ws.bot_id} not started: bot {ws.bot_id} is " \
               f"already running: host {socket.gethostname()}, pid {first.pid}" in log
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    status = json.loads(status_file.read_text())
    assert status["pid"] == first.pid and status["state"] == "stopped"


def test_reset_archives_a_stopped_bot_and_is_refused_while_it_runs(ws, uninterrupted):
    # the first live bar is the first entry signal, so a position opens two bars in; at 2 bars/s
    # the bot then has over 15 minutes of bars left (the pace is a floor, load only slows it):
    # it runs through the whole refused reset, whose timeout is a minute
    first_signal_ts = uninterrupted[0][0] - 300
    signal_index = int(np.searchsorted(load_bars(ws.data_file).ts, first_signal_ts))
    ws.write_config(data={"speed": 2, "lookback_bars": signal_index})
    proc = ws.start()
    try:
        assert wait_until(ws.has_open_position, proc), "no position opened"
        refused = subprocess.run([sys.executable, "-m", "trading.cli", "reset", str(ws.config_path)],
                                 cwd=ws.root, env=ws.env(), text=True, capture_output=True, timeout=60)
        assert refused.returncode == 1 and "is running, so this command changes nothing" in refused.stderr
        assert f"then run 'tradingbot reset {ws.bot_id}' again" in refused.stderr
        assert "start this one again" not in refused.stderr  # that is run's advice
        assert proc.poll() is None  # running before and after: the refusal came while it ran
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    before = ws.trades()
    assert before or ws.has_open_position()  # (the first trade lasts 70 bars: open, as a rule)
    done = subprocess.run([sys.executable, "-m", "trading.cli", "reset", str(ws.config_path)],
                          cwd=ws.root, env=ws.env(), text=True, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"bot {ws.bot_id} archived as {ws.bot_id}@" in done.stdout
    archived = [row[0] for row in ws.query("SELECT bot_id FROM bots")]
    assert len(archived) == 1 and archived[0].startswith(f"{ws.bot_id}@")
    # every row moved: trades and the open position now belong to the archived id
    for table in ("trades", "positions", "orders", "risk_state"):
        assert ws.query(f"SELECT count(*) FROM {table} WHERE bot_id = ?", ws.bot_id) == [(0,)]
    assert ws.query("SELECT count(*) FROM trades WHERE bot_id = ?", archived[0]) == [(len(before),)]
    journals = sorted(p.name for p in (ws.root / "logs" / "json").iterdir())
    assert journals == [archived[0]]
    assert (ws.root / "logs" / "status" / "archive" / f"{archived[0]}.json").exists()
    # `status` says the bot was reset (not that no bot ever ran here)
    status = _cli(ws, "status")
    assert status.returncode == 0 and "reset" in status.stdout.splitlines()[1]
    assert f"archived as {archived[0]}; its next run starts over" in status.stdout
    # a second reset has nothing left to do: done (0), and it says so
    again = _cli(ws, "reset", str(ws.config_path))
    assert again.returncode == 0, again.stderr
    assert "nothing to reset" in again.stdout
    assert len(list((ws.root / "logs" / "status" / "archive").iterdir())) == 1
    # the next run starts over, with nothing restored (at full speed: it runs the whole sample)
    ws.write_config(data={"speed": 0})
    finish = ws.run()
    assert finish.returncode == 0, finish.stderr
    assert "restoring bot" not in finish.stderr
    ((count, total),) = ws.query("SELECT count(*), sum(pnl) FROM trades WHERE bot_id = ?", ws.bot_id)
    assert count >= 5
    status = json.loads((ws.root / "logs" / "status" / f"{ws.bot_id}.json").read_text())
    assert status["state"] == "stopped" and status["trades"] == count
    assert status["realised_pnl"] == pytest.approx(total, abs=1e-6)


def _cli(ws: BotWorkspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trading.cli", *args], cwd=ws.root, env=ws.env(),
                          text=True, capture_output=True, timeout=60)


def test_maintenance_commands_from_the_wrong_folder_never_create_a_database(ws, tmp_path: Path):
    ws.write_config()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for command in ("reset", "reset-kill-switch"):
        done = subprocess.run([sys.executable, "-m", "trading.cli", command, str(ws.config_path)],
                              cwd=elsewhere, env=ws.env(), text=True, capture_output=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert "there is no database at" in done.stderr and "Traceback" not in done.stderr
    assert not (elsewhere / "data").exists() and not ws.db_path.exists()


def _journal(ws: BotWorkspace, name: str) -> list[dict]:
    path = ws.root / "logs" / "json" / ws.bot_id / name
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_journal_holds_every_committed_trade_and_order_state_exactly_once(ws, uninterrupted):
    ws.write_config(data={"speed": 40})
    proc = ws.start()
    assert wait_until(ws.has_pending_entry, proc), "no entry order seen before the run ended"
    kill_hard(proc)  # the entry is committed; the restart re-sends it
    trades_path = ws.root / "logs" / "json" / ws.bot_id / "trades.jsonl"
    finish_at_full_speed(ws)
    # a kill between a bar's commit and its journal lines: drop the last trade line by hand
    lines = trades_path.read_text().splitlines()
    trades_path.write_text("\n".join(lines[:-1]) + "\n")
    finish_at_full_speed(ws)
    trades = _journal(ws, "trades.jsonl")
    keys = [(t["entry_time"], t["exit_time"], t["exit_reason"]) for t in trades]
    assert len(keys) == len(set(keys)) == len(uninterrupted) == len(ws.trades())
    orders = _journal(ws, "orders.jsonl")
    order_keys = [(o["client_order_id"], o["status"], o["filled_size"]) for o in orders]
    assert len(order_keys) == len(set(order_keys)), "an order state was journalled twice"
    committed = ws.query("SELECT client_order_id, status FROM orders")
    assert set(committed) <= {(cid, status) for cid, status, _ in order_keys}


def test_each_data_state_is_logged_once_and_a_file_replay_says_replay(ws):
    ws.write_config()
    done = ws.run()
    assert done.returncode == 0, done.stderr
    log = (ws.root / "logs" / "live" / f"trading_bot_{ws.bot_id}.log").read_text()
    states = [line.split("] data | ", 1)[1] for line in log.splitlines() if "] data | " in line]
    assert [s.split(" | at ")[0] for s in states] == [
        "data 5m from file: DELAYED", "data 5m from file: REPLAY (was DELAYED)"]
    assert "(was None)" not in log and "LIVE" not in log
    assert log.count("DELAYED") == 2  # once as a state, once as what REPLAY followed
    events = [json.loads(line) for line in
              (ws.root / "logs" / "json" / ws.bot_id / "events.jsonl").read_text().splitlines()]
    assert [e["status"]["data_status"] for e in events if e.get("change") == "data"] == [
        "DELAYED", "REPLAY"]


def test_every_trade_in_the_journal_carries_the_equity_after_it(ws):
    ws.write_config()
    done = ws.run()
    assert done.returncode == 0, done.stderr
    lines = _journal(ws, "trades.jsonl")
    assert len(lines) >= 5
    for line in lines:
        assert isinstance(line["equity"], float), line
    # the last trade's equity is the account's value at the end of the run (flat by then)
    assert lines[-1]["equity"] == pytest.approx(json.loads(
        (ws.root / "logs" / "status" / f"{ws.bot_id}.json").read_text())["value"])


def test_run_warns_about_a_percent_written_as_a_fraction(ws):
    ws.write_config(risk_management={"stop_loss_pct": 0.03})
    done = ws.run()
    assert done.returncode == 0, done.stderr
    said = ("risk_management.stop_loss_pct: this key is in percent: 0.03 means 0.03%; "
            "did you mean 3?")
    assert said in done.stderr
    assert said in (ws.root / "logs" / "live" / f"trading_bot_{ws.bot_id}.log").read_text()
