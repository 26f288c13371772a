"""A bot workspace wired to the loopback Yahoo: the bot subprocess reaches it through
``YAHOO_BASE_URL``, as a user would point it at a proxy."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot_workspace import BotWorkspace
from fakes.yahoo import FakeYahoo
from feeds.csv_bars import load_bars
from trading.core.types import Bar

STOCK = Path(__file__).resolve().parents[1] / "fixtures" / "yahoo" / "XYZ-5m.csv"


def stock_bars(count: int | None = None) -> list[Bar]:
    """The stock-like 5m bars of tests/fixtures/yahoo (sessions with nights, weekends, a holiday)."""
    bars = load_bars(STOCK)
    return [bars.bar(i) for i in range(len(bars) if count is None else count)]


class YahooWorkspace(BotWorkspace):
    """A ``BotWorkspace`` whose bot reads its bars from ``fake``."""

    def __init__(self, root: Path, fake: FakeYahoo, bot_id: str = "7201",
                 extra_env: dict[str, str] | None = None) -> None:
        super().__init__(root, bot_id)
        self.fake = fake
        self.extra_env = dict(extra_env or {})

    def write_yahoo_config(self, lookback: int = 60, symbol: str = "XYZ", interval: str = "5m",
                           **changes: Any) -> dict[str, Any]:
        data = {"data_source": "yahoo", "symbol": symbol, "interval": interval,
                "lookback_bars": lookback, "retry_interval": 0.5, "poll_delay_seconds": 0}
        doc = self.write_config(broker={"type": "paper", "initial_balance": 1.0},
                                trading={"symbol": symbol}, data=data, **changes)
        doc["data"].pop("file_path", None)
        doc["data"].pop("speed", None)
        self.config_path.write_text(json.dumps(doc, indent=2))
        return doc

    def env(self) -> dict[str, str]:
        env = super().env()
        for name in list(env):
            if name.startswith("YAHOO_"):
                del env[name]  # never a URL from the developer's shell
        env.update(self.fake.env())
        env["YAHOO_REQUEST_TIMEOUT"] = "5"
        env.update(self.extra_env)
        return env

    def data_states(self) -> list[str]:
        return [e["status"]["data_status"] for e in map(json.loads, self.events("status"))
                if e.get("change") == "data"]

    def journal(self, name: str) -> list[dict[str, Any]]:
        """The lines of ``logs/json/<bot_id>/<name>.jsonl`` (trades, orders, events)."""
        path = self.root / "logs" / "json" / self.bot_id / f"{name}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def warm_up_answered(fake: FakeYahoo, since: int = 0) -> bool:
    """True once the fake has answered a chart request with bars in a range (the warm-up)."""
    return any(r.status == 200 and "period1" in r.query for r in fake.chart_requests(since))
