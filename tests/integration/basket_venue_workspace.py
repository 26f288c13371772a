"""A basket bot's workspace for the venue brokers' basket tests: three symbols of the bundled
samples (ETCBTC, XLMBTC, TRXBTC, cut to a few hundred bars of one span), a busy strategy with a
stop-loss and a take-profit, no commission (the replay it is compared with charges the same: none),
and the trades as the database holds them, next to a replay of the same files.

The span starts after the crash of 2018-01-11 04:00, whose bars open up to 3% under a stop-loss
that the bar before had not reached: there a venue's protective order and a replay's part ways
(Binance's stop-loss is a stop-limit whose limit sits 2% under the stop: it fills at the limit
when the price comes back, where the replay's stop fills at the gap's open)."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from bot_workspace import REPO, BotWorkspace, deep_update
from trading.backtest.replay import load_basket_bars, run_replay
from trading.config.loading import load_config

BASKET = ("ETCBTC", "XLMBTC", "TRXBTC")
START, BARS = 300, 700  # rows of the first symbol's sample; the others are cut at its times
LOOKBACK = 60
ACTIVE = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 40}},
          "exit_logic": {"name": "RSIOrBBExitMixin", "params": {"x_rsi_overbought": 60}}}
RISK = {"stop_loss_pct": 1.0, "take_profit_pct": 1.5, "max_daily_trades": 0,
        "max_daily_loss": 0}
CASH = 1.0  # BTC


def cut_samples(folder: Path, start: int = START, bars: int = BARS) -> dict[str, list[list[str]]]:
    """Each symbol's sample over the times of the first symbol's ``bars`` bars from row
    ``start``, written to ``folder/<symbol>-5m.csv``; returns the rows written (no header)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = {s: list(csv.reader((REPO / "data" / "sample" / f"{s}-5m.csv").open())) for s in BASKET}
    since, until = rows[BASKET[0]][1 + start][0], rows[BASKET[0]][1 + start + bars][0]
    kept = {}
    for symbol, lines in rows.items():
        header, body = lines[0], [r for r in lines[1:] if since <= r[0] < until]
        with (folder / f"{symbol}-5m.csv").open("w", newline="") as out:
            csv.writer(out).writerows([header, *body])
        kept[symbol] = body
    return kept


class BasketVenueWorkspace(BotWorkspace):
    """The basket bot's config (file source, paper broker: valid as it stands) and files."""

    def write_config(self, **changes: Any) -> dict[str, Any]:
        doc = json.loads((REPO / "config" / "trading" / "0007.json").read_text())
        doc.pop("$schema", None)
        doc["broker"].update(initial_balance=CASH, commission=0.0, slippage_pct=0.0)
        doc["trading"].update(symbols=list(BASKET), position_size=0.3, max_positions=3,
                              max_drawdown_pct=0, max_exposure=1.0)
        doc["data"].update(file_path=str(self.root / "bars" / "{symbol}-5m.csv"),
                           lookback_bars=LOOKBACK, speed=0)
        doc["strategy"].update(ACTIVE)
        doc["risk_management"] = dict(RISK)
        if self.db_url is not None:
            doc["database"] = {"url": self.db_url}
        deep_update(doc, changes)
        self.config_path.write_text(json.dumps(doc, indent=2))
        return doc

    def basket_trades(self) -> list[tuple]:
        rows = self.query("SELECT symbol, entry_time, exit_time, size, entry_price, exit_price, "
                          "pnl, exit_reason FROM trades ORDER BY exit_time, symbol")
        return [(s, str(e)[:19], str(x)[:19], size, ep, xp, pnl, reason)
                for s, e, x, size, ep, xp, pnl, reason in rows]

    def replayed_trades(self) -> list[tuple]:
        """The trades of a replay of the same files with the same config (the paper broker)."""
        config = load_config(self.config_path)
        basket = load_basket_bars(config)
        replay = run_replay(config, basket[config.trading.symbols[0]], basket=basket)
        return sorted(((t.symbol, t.entry_time.isoformat()[:19].replace("T", " "),
                        t.exit_time.isoformat()[:19].replace("T", " "), t.size, t.entry_price,
                        t.exit_price, t.pnl, t.exit_reason) for t in replay.trades),
                      key=lambda t: (t[2], t[0]))

    def holdings(self) -> dict[str, float]:
        return {s: size for s, size in self.query("SELECT symbol, size FROM holdings")}

    def open_symbols(self) -> set[str]:
        return {row[0] for row in self.query("SELECT symbol FROM positions")}


def same_trades(actual: list[tuple], expected: list[tuple]) -> None:
    """Trade for trade: symbol, times and exit reason exactly; sizes, prices and pnl within what
    the venue's grid rounds (a lot of 1e-8, a price to its tick: IB's to 10 decimals, a few
    millionths of the samples' smallest prices)."""
    assert [(t[0], t[1], t[2], t[7]) for t in actual] == [(t[0], t[1], t[2], t[7])
                                                         for t in expected]
    for mine, theirs in zip(actual, expected):
        assert mine[3:6] == pytest.approx(theirs[3:6], rel=1e-5), mine
        assert mine[6] == pytest.approx(theirs[6], rel=1e-3, abs=1e-9), mine
