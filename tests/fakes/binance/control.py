"""``RemoteFake``: the loopback Binance played from another process (a bot's, in lockstep with its
bars) through the fake's control routes; the same three calls a test makes on ``FakeBinance``."""
from __future__ import annotations

import json
import urllib.request
from typing import Any

from trading.core.types import Bar

TIMEOUT = 10.0


class RemoteFake:
    """``trade_at``, ``match`` and ``order_statuses`` of the ``FakeBinance`` at ``base_url``
    (``http://127.0.0.1:<port>``)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base_url}{path}", data=data,
                                         headers={"Content-Type": "application/json"},
                                         method="POST" if body is not None else "GET")
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            return json.loads(answer.read())

    def trade_at(self, price: float, symbol: str | None = None) -> None:
        self._call("/fake/trade_at", {"price": price, "symbol": symbol})

    def match(self, bar: Bar, symbol: str | None = None) -> None:
        self._call("/fake/match", {"bar": [bar.ts, bar.open, bar.high, bar.low, bar.close,
                                           bar.volume], "symbol": symbol})

    def order_statuses(self) -> dict[str, str]:
        return self._call("/fake/orders")
