"""RiskManager: the limits consulted before every entry, and the drawdown kill switch.

Time is the market's clock (bar times), not the wall clock, so replay and live make the same
decisions on the same bars. The state is a plain dataclass the store persists, so daily counters
and the kill switch survive restarts.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from trading.core.equity import drawdown_pct
from trading.core.settings import RiskConfig, TradingConfig
from trading.core.timeutil import iso_z

log = logging.getLogger(__name__)

DAY = 86400
ERROR_PAUSE_SECONDS = 900  # pause entries 15 minutes (market time) after too many errors


@dataclass(frozen=True)
class Refusal:
    """Why an entry was refused: ``rule`` names the rule, ``message`` says it for a person."""

    rule: str
    message: str


@dataclass
class RiskState:
    """Everything the risk rules remember; persisted by the store."""

    day: int = -1  # UTC day number (ts // 86400)
    day_start_equity: float = 0.0
    trades_today: int = 0
    realized_pnl_today: float = 0.0
    peak_equity: float = 0.0
    kill_switch: bool = False
    kill_reason: str = ""
    consecutive_errors: int = 0
    paused_until: float = 0.0
    order_times: list[float] = field(default_factory=list)  # orders of the last minute, oldest first
    paused: bool = False  # the owner paused new entries (remote control) until resumed
    paused_by: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The state as plain values, a snapshot: later changes do not show in it."""
        data = dict(vars(self))
        data["order_times"] = list(self.order_times)  # trimmed in place by the risk manager
        return data

    def reset_kill_switch(self) -> None:
        """Clear the kill switch; the drawdown peak is re-based on the next bar's equity."""
        self.kill_switch = False
        self.kill_reason = ""
        self.peak_equity = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RiskState":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class PauseSwitch:
    """The owner's pause: no new entries (exits and protective orders go on) until resumed.

    Set from any thread (a Telegram command, later the REST API); the Cerebro thread applies it
    to the risk state at the start of the next bar, and the store persists it from there, so a
    pause outlives a restart. ``paused`` is what the next bar trades under.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paused = False
        self._by = ""
        self.version = 0  # counts changes, so the risk manager sees each one once

    @property
    def paused(self) -> bool:
        return self._paused

    def set(self, paused: bool, by: str) -> bool:
        """Pause (or resume) from the next bar on; False when it already was so."""
        with self._lock:
            if paused == self._paused:
                return False
            self._paused, self._by = paused, by
            self.version += 1
            return True

    def snapshot(self) -> tuple[int, bool, str]:
        with self._lock:
            return self.version, self._paused, self._by


class RiskManager:
    """Applies ``trading`` and ``risk_management`` limits; the strategy calls it on every bar."""

    def __init__(self, risk: RiskConfig, trading: TradingConfig, state: RiskState | None = None,
                 on_kill_switch: Callable[[str, float], None] | None = None,
                 pause: PauseSwitch | None = None) -> None:
        self.risk = risk
        self.trading = trading
        self.state = state or RiskState()
        # a list of its own, trimmed in place from here on (the restored one may be shared)
        self.state.order_times = list(self.state.order_times)
        self._on_kill_switch = on_kill_switch
        self.last_equity = 0.0
        self.pause = pause or PauseSwitch()
        if self.state.paused:  # restored: still paused after a restart
            self.pause.set(True, self.state.paused_by)
        self._pause_version = self.pause.version
        self._held = ""  # why entries are held by the runtime now (not persisted); "" when not

    def hold_entries(self, reason: str) -> None:
        """Refuse every entry, saying ``reason``, until ``release_entries``: the runtime's own
        hold (the bot cannot prove it holds its lease), never persisted. Any thread."""
        self._held = reason  # one reference assignment: safe across threads

    def release_entries(self) -> None:
        """End the hold of ``hold_entries`` (any thread)."""
        self._held = ""

    def apply_pause(self) -> bool:
        """Take a pause or resume asked since the last bar (Cerebro thread); True if one was."""
        version, paused, by = self.pause.snapshot()
        if version == self._pause_version:
            return False
        self._pause_version = version
        if paused != self.state.paused:
            log.warning("entries %s by %s", "paused" if paused else "resumed", by or "the owner")
        self.state.paused, self.state.paused_by = paused, by if paused else ""
        return True

    # -- what the strategy reports -------------------------------------------------------------
    def on_bar(self, ts: float, equity: float) -> None:
        """Roll the UTC day, track the equity peak, and trip the kill switch on max drawdown."""
        s = self.state
        self.last_equity = equity
        self.apply_pause()
        day = int(ts // DAY)
        if day != s.day:
            s.day, s.day_start_equity, s.trades_today, s.realized_pnl_today = day, equity, 0, 0.0
        if equity > s.peak_equity:
            s.peak_equity = equity
        limit = self.trading.max_drawdown_pct
        if limit > 0 and not s.kill_switch and s.peak_equity > 0:
            drawdown = drawdown_pct(s.peak_equity, equity)
            if drawdown >= limit:
                s.kill_switch = True
                s.kill_reason = (f"drawdown {drawdown:.2f}% from peak {s.peak_equity:.2f} reached "
                                 f"trading.max_drawdown_pct {limit:g}%")
                log.error("%s kill switch ON: %s; no new entries until reset (tradingbot "
                          "reset-kill-switch)", iso_z(ts), s.kill_reason)
                if self._on_kill_switch:
                    self._on_kill_switch(s.kill_reason, drawdown)

    def on_order(self, ts: float) -> None:
        self.state.order_times.append(ts)
        self._trim_orders(ts)

    def on_entry_filled(self) -> None:
        self.state.trades_today += 1
        self.state.consecutive_errors = 0

    def on_trade_closed(self, pnl: float) -> None:
        self.state.realized_pnl_today += pnl

    def on_error(self, ts: float) -> None:
        s = self.state
        s.consecutive_errors += 1
        limit = self.risk.max_consecutive_errors
        if limit and s.consecutive_errors >= limit:
            s.paused_until = ts + ERROR_PAUSE_SECONDS
            log.error("%d consecutive errors: entries paused for %d minutes",
                      s.consecutive_errors, ERROR_PAUSE_SECONDS // 60)

    # -- the decision ----------------------------------------------------------------------------
    def allow_entry(self, ts: float, equity: float, exposure_value: float,
                    open_positions: int) -> Refusal | None:
        """None when an entry may go ahead; otherwise the first rule that refuses it."""
        s, r, t = self.state, self.risk, self.trading
        held = self._held
        if held:
            return Refusal("lease", held)
        if s.kill_switch:
            return Refusal("max_drawdown_pct", f"kill switch is on ({s.kill_reason}); "
                           "reset it with 'tradingbot reset-kill-switch CONFIG'")
        if s.paused:
            return Refusal("paused", f"entries paused by {s.paused_by or 'the owner'}; "
                           "/resume (Telegram) resumes them")
        if ts < s.paused_until:
            return Refusal("max_consecutive_errors",
                           f"paused after {s.consecutive_errors} consecutive errors, "
                           f"risk_management.max_consecutive_errors is {r.max_consecutive_errors}")
        if open_positions >= t.max_positions:
            return Refusal("max_positions", f"{open_positions} open position(s), "
                           f"trading.max_positions is {t.max_positions}")
        new_value = t.position_size * equity
        if equity > 0 and (exposure_value + new_value) > t.max_exposure * equity * (1 + 1e-9):
            return Refusal("max_exposure", f"exposure would be {(exposure_value + new_value) / equity:.2f} "
                           f"of equity, trading.max_exposure is {t.max_exposure:g}")
        if r.max_daily_trades and s.trades_today >= r.max_daily_trades:
            return Refusal("max_daily_trades", f"{s.trades_today} entries today, "
                           f"risk_management.max_daily_trades is {r.max_daily_trades}")
        if r.max_daily_loss and s.day_start_equity - equity >= r.max_daily_loss:
            return Refusal("max_daily_loss", f"down {s.day_start_equity - equity:.2f} today, "
                           f"risk_management.max_daily_loss is {r.max_daily_loss:g}")
        self._trim_orders(ts)
        recent = len(s.order_times)
        if r.max_orders_per_minute and recent >= r.max_orders_per_minute:
            return Refusal("max_orders_per_minute", f"{recent} orders in the last minute, "
                           f"risk_management.max_orders_per_minute is {r.max_orders_per_minute}")
        return None

    def _trim_orders(self, ts: float) -> None:
        """Forget the orders older than a minute before ``ts``, in place (called on every entry
        check and every order: no copy)."""
        times, cutoff = self.state.order_times, ts - 60
        old = 0
        while old < len(times) and times[old] <= cutoff:
            old += 1
        if old:
            del times[:old]
