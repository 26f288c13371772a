"""The basket demo (0007) end to end, as a user runs it: a subprocess on the file source and paper
broker, then what the status file, ``tradingbot status`` and the log say of the basket."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bot_workspace import REPO, BotWorkspace

BASKET = ["ETCBTC", "XLMBTC", "TRXBTC", "ZECBTC", "DASHBTC"]
# the samples cut here leave the demo holding several positions when its data ends
DATA_ENDS = "2018-01-27T20:00"


def cut_samples(folder: Path, before: str) -> None:
    """Keep each basket sample's bars before ``before`` (ISO times sort as text)."""
    for symbol in BASKET:
        path = folder / f"{symbol}-5m.csv"
        header, *bars = path.read_text().splitlines()
        path.write_text("\n".join([header, *(b for b in bars if b < before)]) + "\n")


def tradingbot(ws: BotWorkspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trading.cli", *args], cwd=ws.root,
                          env=ws.env(), text=True, capture_output=True, timeout=60)


def test_the_basket_demo_shows_its_basket_and_every_open_position(tmp_path: Path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "data" / "sample", tmp_path / "data" / "sample")
    cut_samples(tmp_path / "data" / "sample", DATA_ENDS)
    ws = BotWorkspace(tmp_path, bot_id="0007")
    result = ws.run()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr

    # the status file: the basket, and every open position with its symbol
    status = json.loads((tmp_path / "logs" / "status" / "0007.json").read_text())
    assert status["state"] == "stopped" and status["symbols"] == BASKET
    held = [p["symbol"] for p in status["positions"]]
    assert len(held) >= 2 and len(set(held)) == len(held) and set(held) <= set(BASKET)
    assert held == [s for s in BASKET if s in held]  # in the basket's order
    assert all(p["size"] > 0 and p["bars_held"] >= 0 for p in status["positions"])
    assert status["position"] == status["positions"][0]  # kept for one-symbol readers

    # `tradingbot status`: the basket and which symbols hold a position
    shown = tradingbot(ws, "status")
    assert shown.returncode == 0, shown.stderr
    header, line = shown.stdout.splitlines()
    assert "ETCBTC +4" in line
    assert f"{len(held)} open: {', '.join(held)}" in line
    # ... and with --positions, each of them with its size, entry and unrealized pnl
    detail = tradingbot(ws, "status", "0007", "--positions").stdout.splitlines()
    listed = detail[detail.index("open positions:") + 2:]
    assert [row.split()[1] for row in listed] == held
    for row, position in zip(listed, status["positions"]):
        assert f"{position['entry_price']:.8g}" in row and f"{position['size']:.8g}" in row
    assert json.loads(tradingbot(ws, "status", "--json").stdout)[0]["positions"] == \
        status["positions"]

    # the log: entries and exits of several symbols; the stop lists every position still open
    log = (tmp_path / "logs" / "live" / "trading_bot_0007.log").read_text()
    traded = set(re.findall(r" (?:ENTRY|EXIT) ([A-Z]+) ", log))
    assert len(traded) >= 3 and traded <= set(BASKET)
    assert "[0007 ETCBTC +4] started | started: 5 symbols (ETCBTC, XLMBTC, TRXBTC, ZECBTC, " \
           "DASHBTC) 5m from file, broker paper" in log
    stop = next(x for x in log.splitlines() if "[0007 ETCBTC +4] stopped" in x)
    assert f"{len(held)} positions still open" in stop
    assert all(f"| {symbol} " in stop for symbol in held)

    # a reset keeps naming the basket
    reset = tradingbot(ws, "reset", "0007")
    assert reset.returncode == 0, reset.stderr
    after = json.loads((tmp_path / "logs" / "status" / "0007.json").read_text())
    assert after["state"] == "reset" and after["symbols"] == BASKET
    assert "ETCBTC +4" in tradingbot(ws, "status").stdout
