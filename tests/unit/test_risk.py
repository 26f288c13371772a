"""RiskManager: each rule refuses an entry at its limit, allows one just below it, names itself."""
from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import datetime, timezone

import pytest

from trading.core.settings import RiskConfig, TradingConfig, TrailingStopConfig
from trading.risk import ERROR_PAUSE_SECONDS, Refusal, RiskManager, RiskState

DAY0 = datetime(2024, 3, 1, tzinfo=timezone.utc).timestamp()  # 00:00 UTC
NOON = DAY0 + 12 * 3600
NEXT_DAY = DAY0 + 86400

NO_LIMITS_RISK = RiskConfig(stop_loss_pct=0.0, take_profit_pct=0.0,
                            trailing_stop=TrailingStopConfig(False, 0.0, 0.0),
                            max_daily_trades=0, max_daily_loss=0.0, max_orders_per_minute=0,
                            max_consecutive_errors=0)
NO_LIMITS_TRADING = TradingConfig(symbol="BTCUSDT", position_size=0.1, max_positions=10,
                                  max_drawdown_pct=0.0, max_exposure=100.0)
RISK_KEYS = {f.name for f in fields(RiskConfig)}


def manager(state: RiskState | None = None, on_kill_switch=None, **limits) -> RiskManager:
    """A manager with every limit off but the ones given (RiskConfig or TradingConfig keys)."""
    risk = replace(NO_LIMITS_RISK, **{k: v for k, v in limits.items() if k in RISK_KEYS})
    trading = replace(NO_LIMITS_TRADING, **{k: v for k, v in limits.items() if k not in RISK_KEYS})
    return RiskManager(risk, trading, state=state, on_kill_switch=on_kill_switch)


def entry_on_bar(rm: RiskManager, ts: float, equity: float, exposure: float = 0.0,
                 open_positions: int = 0) -> Refusal | None:
    """What the strategy does on a bar while flat: report the bar, then ask."""
    rm.on_bar(ts, equity)
    return rm.allow_entry(ts, equity, exposure, open_positions)


def saved(rm: RiskManager) -> RiskState:
    """The state as the store keeps it (JSON) and loads it back."""
    return RiskState.from_dict(json.loads(json.dumps(rm.state.to_dict())))


def restarted(rm: RiskManager, **limits) -> RiskManager:
    """A new manager from the saved state, as after a restart."""
    return manager(state=saved(rm), **limits)


def assert_refused(refusal: Refusal | None, rule: str, config_key: str) -> None:
    assert refusal is not None, f"{rule} should refuse"
    assert refusal.rule == rule
    assert config_key in refusal.message


def test_no_limit_set_allows_entries():
    assert entry_on_bar(manager(), NOON, 1000.0) is None


def test_max_positions():
    rm = manager(max_positions=2)
    assert entry_on_bar(rm, NOON, 1000.0, open_positions=1) is None
    assert_refused(entry_on_bar(rm, NOON, 1000.0, open_positions=2),
                   "max_positions", "trading.max_positions")


def test_max_exposure_counts_the_new_position():
    rm = manager(max_exposure=0.5, position_size=0.1)  # the entry adds 100 on 1000 equity
    assert entry_on_bar(rm, NOON, 1000.0, exposure=400.0) is None  # lands exactly on 0.5
    assert_refused(entry_on_bar(rm, NOON, 1000.0, exposure=400.01),
                   "max_exposure", "trading.max_exposure")


def test_max_daily_trades():
    rm = manager(max_daily_trades=2)
    entry_on_bar(rm, NOON, 1000.0)
    rm.on_entry_filled()
    assert rm.allow_entry(NOON, 1000.0, 0.0, 0) is None
    rm.on_entry_filled()
    assert_refused(rm.allow_entry(NOON, 1000.0, 0.0, 0),
                   "max_daily_trades", "risk_management.max_daily_trades")


def test_max_daily_loss_is_equity_lost_since_the_day_started():
    rm = manager(max_daily_loss=50.0)
    assert entry_on_bar(rm, DAY0, 1000.0) is None
    rm.on_trade_closed(-30.0)  # realised; equity below also holds 20 of open (unrealised) loss
    assert entry_on_bar(rm, NOON, 950.01) is None
    assert_refused(entry_on_bar(rm, NOON + 3600, 950.0),
                   "max_daily_loss", "risk_management.max_daily_loss")


def test_daily_counters_reset_at_midnight_utc():
    rm = manager(max_daily_trades=1, max_daily_loss=50.0)
    entry_on_bar(rm, DAY0, 1000.0)
    rm.on_entry_filled()
    assert_refused(entry_on_bar(rm, NEXT_DAY - 1, 1000.0), "max_daily_trades",
                   "risk_management.max_daily_trades")
    assert_refused(entry_on_bar(rm, NEXT_DAY - 1, 940.0), "max_daily_trades",
                   "risk_management.max_daily_trades")
    # the new day starts from today's equity: yesterday's entry and loss no longer count
    assert entry_on_bar(rm, NEXT_DAY, 940.0) is None
    assert rm.state.trades_today == 0 and rm.state.realized_pnl_today == 0.0


def test_daily_counters_survive_a_restart_within_the_day():
    rm = manager(max_daily_trades=1)
    entry_on_bar(rm, NOON, 1000.0)
    rm.on_entry_filled()
    again = restarted(rm, max_daily_trades=1)
    assert_refused(entry_on_bar(again, NOON + 3600, 1000.0), "max_daily_trades",
                   "risk_management.max_daily_trades")


def test_drawdown_kill_switch_trips_at_the_limit_and_stays_on_across_a_restart():
    tripped = []
    rm = manager(max_drawdown_pct=10.0, on_kill_switch=lambda reason, dd: tripped.append(dd))
    assert entry_on_bar(rm, DAY0, 1000.0) is None  # the peak
    assert entry_on_bar(rm, NOON, 900.01) is None  # just under 10%
    assert not tripped
    assert_refused(entry_on_bar(rm, NOON + 3600, 900.0),
                   "max_drawdown_pct", "trading.max_drawdown_pct")
    assert tripped == [pytest.approx(10.0)]
    # recovering does not turn it off; a restart does not either
    assert_refused(entry_on_bar(rm, NOON + 7200, 1000.0),
                   "max_drawdown_pct", "trading.max_drawdown_pct")
    again = restarted(rm, max_drawdown_pct=10.0)
    assert_refused(entry_on_bar(again, NEXT_DAY, 1000.0),
                   "max_drawdown_pct", "trading.max_drawdown_pct")
    assert len(tripped) == 1


def test_reset_kill_switch_allows_entries_again_from_the_current_equity():
    rm = manager(max_drawdown_pct=10.0)
    entry_on_bar(rm, DAY0, 1000.0)
    entry_on_bar(rm, NOON, 850.0)
    # what 'tradingbot reset-kill-switch' does to the saved state of the stopped bot
    state = saved(rm)
    state.reset_kill_switch()
    again = manager(state=state, max_drawdown_pct=10.0)
    assert entry_on_bar(again, NOON + 3600, 850.0) is None  # 850 is the new peak
    assert_refused(entry_on_bar(again, NOON + 7200, 765.0),
                   "max_drawdown_pct", "trading.max_drawdown_pct")  # 10% under the new peak


def test_max_orders_per_minute_counts_a_60_second_market_time_window():
    rm = manager(max_orders_per_minute=3)
    for offset in (0, 10, 20):
        rm.on_order(NOON + offset)
    assert_refused(entry_on_bar(rm, NOON + 59, 1000.0),
                   "max_orders_per_minute", "risk_management.max_orders_per_minute")
    # bar times, not the wall clock: the first order leaves the window at exactly +60 s
    assert entry_on_bar(rm, NOON + 60, 1000.0) is None


def test_max_orders_per_minute_allows_just_below_the_limit_and_survives_a_restart():
    rm = manager(max_orders_per_minute=3)
    rm.on_order(NOON)
    rm.on_order(NOON + 10)
    assert entry_on_bar(rm, NOON + 20, 1000.0) is None
    rm.on_order(NOON + 20)
    again = restarted(rm, max_orders_per_minute=3)
    assert_refused(entry_on_bar(again, NOON + 30, 1000.0),
                   "max_orders_per_minute", "risk_management.max_orders_per_minute")


def test_max_consecutive_errors_pauses_entries():
    rm = manager(max_consecutive_errors=3)
    rm.on_error(NOON)
    rm.on_error(NOON)
    assert entry_on_bar(rm, NOON, 1000.0) is None
    rm.on_error(NOON)
    assert_refused(entry_on_bar(rm, NOON + ERROR_PAUSE_SECONDS - 1, 1000.0),
                   "max_consecutive_errors", "risk_management.max_consecutive_errors")
    assert entry_on_bar(rm, NOON + ERROR_PAUSE_SECONDS, 1000.0) is None


def test_a_filled_entry_resets_the_consecutive_error_count():
    rm = manager(max_consecutive_errors=3)
    rm.on_error(NOON)
    rm.on_error(NOON)
    rm.on_entry_filled()
    rm.on_error(NOON)
    assert entry_on_bar(rm, NOON, 1000.0) is None
