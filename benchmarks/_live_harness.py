"""Shared pieces of the live-path benchmarks (live_latency.py, memory_soak.py); not a script.

Everything here drives the real ``LiveTradingBot`` (Store on SQLite, RiskManager, BarSink ->
LiveFeed on an IOThread, PaperBroker, CustomStrategy from ``strategy_setup``, BotListener with
its per-bar checkpoint). The benchmark-only additions are thin hooks:

- ``BenchBot`` (a LiveTradingBot subclass): swaps in a given ``BarSource`` and a timing
  PaperBroker after the real ``_build``, and calls ``on_bar_done(bar)`` after each live bar's
  checkpoint (the real ``_on_bar_processed`` still runs);
- ``TimedPaperBroker``: stamps ``time.perf_counter()`` on entry to ``buy``/``sell``;
- ``synthetic_bars``: a seeded 1-minute random walk with volatility regimes and volume.
"""
from __future__ import annotations

import gc
import json
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:  # works without the editable install too
    sys.path.insert(0, str(REPO / "src"))

from brokers.paper import PaperBroker  # noqa: E402
from feeds.csv_bars import BarArrays  # noqa: E402
from trading.runtime.bot import LiveTradingBot  # noqa: E402

from _synthetic import SEED, synthetic_bars  # noqa: E402,F401  (re-exported)

# The demo config's strategy (0001.json), with the kill switch and daily limits off so a long run
# keeps trading instead of stopping after its first bad day.
DEMO_STRATEGY = {
    "entry_logic": {"name": "RSIBBVolumeEntryMixin",
                    "params": {"e_rsi_period": 14, "e_rsi_oversold": 30, "e_bb_period": 20,
                               "e_bb_dev": 2.0}},
    "exit_logic": {"name": "RSIBBExitMixin",
                   "params": {"x_rsi_period": 14, "x_rsi_overbought": 70}},
}
# A strategy that trades nearly every other bar: enter on RSI <= 60 OR close <= lower band, leave
# after one bar held. Each entry is a market buy; each exit cancels the stop-loss/take-profit pair
# and sends a market sell.
BUSY_STRATEGY = {
    "entry_logic": {"name": "RSIOrBBEntryMixin",
                    "params": {"e_rsi_period": 14, "e_rsi_oversold": 60, "e_bb_period": 20,
                               "e_bb_dev": 2.0}},
    "exit_logic": {"name": "TimeBasedExitMixin", "params": {"x_max_bars": 1}},
}


def bot_document(strategy: dict, *, file_path: str | None = None, interval: str = "1m",
                 lookback_bars: int = 100, save_equity: bool = True,
                 save_trades: bool = True) -> dict:
    """A full bot config (paper broker, protective stop 5% / take profit 10%)."""
    return {
        "bot_id": "bench",
        "description": "live-path benchmark",
        "version": "1.0",
        "broker": {"type": "paper", "initial_balance": 10_000.0, "commission": 0.001,
                   "slippage_pct": 0.0},
        "trading": {"symbol": "BENCH", "position_size": 0.1, "max_positions": 1,
                    "max_drawdown_pct": 0, "max_exposure": 1.0},
        "data": {"data_source": "file", "symbol": "BENCH", "interval": interval,
                 "lookback_bars": lookback_bars, "speed": 0,
                 "file_path": file_path or str(REPO / "data" / "sample" / "ETHBTC-5m.csv")},
        "strategy": {"type": "custom", **json.loads(json.dumps(strategy))},
        "risk_management": {"stop_loss_pct": 5.0, "take_profit_pct": 10.0,
                            "trailing_stop": {"enabled": False}, "max_daily_trades": 0,
                            "max_daily_loss": 0, "max_orders_per_minute": 0,
                            "max_consecutive_errors": 5},
        "notifications": {"enabled": False},
        "logging": {"level": "INFO", "save_trades": save_trades,
                    "save_equity_curve": save_equity},
    }


def build_bot_config(doc: dict, workdir: Path):
    """Validate ``doc`` like the CLI does and build the BotConfig with paths under ``workdir``."""
    from trading.config.loading import build_config
    from trading.config.validator import validate_document

    report = validate_document(doc, source="benchmark")
    if report.errors:
        raise SystemExit("benchmark config is invalid:\n" + "\n".join(report.errors))
    return build_config(report.document, base_dir=workdir)


def file_logging(log_file: Path) -> None:
    """The bot's own logging (INFO to a rotating file, as ``tradingbot run``); console WARNING+."""
    from trading.runtime.logging_setup import setup_logging

    setup_logging("INFO", log_file)
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.WARNING)


def write_csv(bars: BarArrays, path: Path) -> None:
    """``datetime`` (epoch ms) + OHLCV, the format FileBarSource / load_bars read."""
    import numpy as np

    table = np.column_stack([bars.ts * 1000.0, bars.open, bars.high, bars.low, bars.close,
                             bars.volume])
    np.savetxt(path, table, delimiter=",", fmt=["%d", "%.10g", "%.10g", "%.10g", "%.10g", "%.6f"],
               header="datetime,open,high,low,close,volume", comments="")


def rss_mb() -> float:
    """Resident set size of this process now (VmRSS), in MB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an already sorted list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


class TimedPaperBroker(PaperBroker):
    """PaperBroker that records (bar ts, perf_counter at entry, exectype) for every order."""

    def __init__(self) -> None:
        super().__init__()
        self.stamps: list[tuple[float | None, float, int | None]] = []

    def buy(self, owner, data, size, price=None, plimit=None, exectype=None, *args, **kwargs):
        self.stamps.append((getattr(data, "last_bar_ts", None), time.perf_counter(), exectype))
        return super().buy(owner, data, size, price, plimit, exectype, *args, **kwargs)

    def sell(self, owner, data, size, price=None, plimit=None, exectype=None, *args, **kwargs):
        self.stamps.append((getattr(data, "last_bar_ts", None), time.perf_counter(), exectype))
        return super().sell(owner, data, size, price, plimit, exectype, *args, **kwargs)


class BenchBot(LiveTradingBot):
    """The real LiveTradingBot with a given bar source, a timing broker and a per-bar hook."""

    def __init__(self, config: Any, *, source: Any | None = None,
                 on_bar_done: Callable[[Any], None] | None = None,
                 on_built: Callable[["BenchBot"], None] | None = None) -> None:
        super().__init__(config)
        self._bench_source = source
        self._bench_on_bar_done = on_bar_done
        self._bench_on_built = on_built

    def _build(self) -> None:
        super()._build()
        cfg = self.config
        if self._bench_source is not None:
            self._source = self._bench_source
        # same arguments as brokers.factory.build_broker gives a fresh paper broker
        broker = TimedPaperBroker(cash=cfg.broker.initial_balance, commission=cfg.broker.commission,
                                  slippage_pct=cfg.broker.slippage_pct,
                                  restore=self.broker.p.restore)
        assert self.cerebro is not None and self.listener is not None
        self.cerebro.setbroker(broker)
        self.listener.broker = broker
        self.broker = broker
        if self._bench_on_built is not None:
            self._bench_on_built(self)

    def _on_bar_processed(self, bar: Any, warmup: bool) -> None:
        # called by BotListener.on_bar_done, after the bar's checkpoint committed
        if not warmup and self._bench_on_bar_done is not None:
            self._bench_on_bar_done(bar)
        super()._on_bar_processed(bar, warmup)


class GcPauses:
    """Times every garbage collection (``gc.callbacks``) while ``active``; by generation."""

    def __init__(self) -> None:
        self.active = False
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._start = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        elif self.active:
            self.pauses[info["generation"]].append(time.perf_counter() - self._start)

    def close(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def summary(self) -> str:
        parts = []
        for gen, values in self.pauses.items():
            if values:
                parts.append(f"gen{gen} {len(values)}x (max {max(values) * 1000:.1f} ms, "
                             f"total {sum(values) * 1000:.0f} ms)")
            else:
                parts.append(f"gen{gen} 0x")
        return ", ".join(parts)


def live_protective_orders(broker: Any) -> int:
    """Stop/limit/trailing orders still alive at the broker (accepted or just submitted).

    The bot only places these as the open position's protection, so at most 2-3 while a position
    is open and 0 when flat: more are orders the strategy believed it had cancelled.
    """
    import backtrader as bt

    queued = list(getattr(broker, "pending", ())) + list(getattr(broker, "submitted", ()))
    return sum(1 for o in queued
               if o is not None and o.alive() and o.exectype != bt.Order.Market)


def in_workdir(path: Path) -> Callable[[], None]:
    """chdir to ``path`` (the bot writes logs/ and data/ relative to the cwd); returns undo."""
    before = os.getcwd()
    os.chdir(path)
    return lambda: os.chdir(before)


def _serve_fakes(folder: str, token: str, telegram_delay: float, conn: Any) -> None:
    """Child process: run the loopback fakes until told to stop, then report what they got."""
    sys.path.insert(0, str(REPO / "tests"))
    from fakes.smtp_server import FakeSMTP
    from fakes.telegram_api import FakeTelegram
    from fakes.webhook_server import FakeWebhook

    telegram = FakeTelegram(token).start()
    telegram.misbehave.delay = telegram_delay
    webhook = FakeWebhook().start()
    smtp = FakeSMTP(Path(folder), "bench@example.com", "bench-password").start()
    conn.send({"telegram": telegram.url, "webhook": webhook.hook_url, "smtp_port": smtp.port,
               "cert": str(smtp.cert_file)})
    conn.recv()  # stop
    conn.send(f"telegram {len(telegram.sent())}, email {len(smtp.messages)}, "
              f"webhook {len(webhook.bodies())} messages")
    telegram.stop()
    webhook.stop()
    smtp.stop()


class NotifyFakes:
    """The test suite's loopback fakes (tests/fakes) for ``--notify``, in a child process (so
    their threads do not compete for this process's GIL as no real server would): a Telegram Bot
    API server answering each message after ``telegram_delay`` s, aiosmtpd (STARTTLS + AUTH) and
    a webhook receiver. The environment the channels read is set for this process."""

    TOKEN = "123456:bench-token"

    def __init__(self, folder: Path, telegram_delay: float) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve_fakes, daemon=True,
                                 args=(str(folder), self.TOKEN, telegram_delay, child))
        self._proc.start()
        if not self._conn.poll(60):
            raise SystemExit("the notification fakes did not start within 60 s")
        self.where = self._conn.recv()
        os.environ.update(TELEGRAM_BOT_TOKEN=self.TOKEN, TELEGRAM_CHAT_ID="1",
                          TELEGRAM_API_URL=self.where["telegram"], SMTP_USERNAME="bench@example.com",
                          SMTP_PASSWORD="bench-password", SSL_CERT_FILE=self.where["cert"],
                          NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")

    def section(self) -> dict:
        every = ["trade_entry", "trade_exit", "error", "status", "daily_summary",
                 "order_rejected", "kill_switch"]
        return {"enabled": True,
                "telegram": {"enabled": True, "notify_on": every},
                "email": {"enabled": True, "notify_on": every, "smtp_host": "127.0.0.1",
                          "smtp_port": self.where["smtp_port"], "to_addrs": ["ops@example.com"]},
                "webhook": {"enabled": True, "notify_on": every, "url": self.where["webhook"]}}

    def received(self) -> str:
        self._conn.send("stop")
        return self._conn.recv() if self._conn.poll(30) else "(no report from the fakes)"

    def stop(self) -> None:
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.terminate()
