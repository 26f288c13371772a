"""The daily summary's schedule and content on a real store with a driven clock; the pause
switch from another thread, applied by the risk manager and kept in its persisted state."""
from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from trading.core.events import StatusEvent, TradeClosed
from trading.core.settings import RiskConfig, TradingConfig, TrailingStopConfig
from trading.persistence.repository import Store
from trading.risk import PauseSwitch, RiskManager, RiskState
from trading.runtime.control import BotControl
from trading.runtime.daily_summary import DailySummary, last_slot

UTC = timezone.utc
BOT = "0001"


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, tzinfo=UTC)


def closed(exit_time: datetime, pnl: float) -> TradeClosed:
    return TradeClosed(entry_time=exit_time - timedelta(hours=1), exit_time=exit_time,
                       symbol="ETHBTC", side="long", size=1.0, entry_price=100.0,
                       exit_price=100.0 + pnl, pnl=pnl, pnl_pct=pnl, fees=0.1,
                       exit_reason="take_profit", bars_held=12)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_store(tmp_path: Path, trades: list[TradeClosed]) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    store.register_bot(BOT, None, "")
    store.checkpoint(BOT, bar_ts=at(3).timestamp(), cash=1000.0, value=1000.0, orders=[],
                     trades=trades, positions={}, risk_state={}, save_equity=False)
    return store


def summary_for(store: Store, clock: Clock, sent: list) -> DailySummary:
    def publish(event):  # what the bot's publish does with it: record it, then send it
        store.record_event(BOT, event)
        sent.append(event)

    daily = DailySummary(bot_id=BOT, store=store, seconds_of_day=18 * 3600, clock=clock,
                         get_status=lambda: {"value": 1012.5, "drawdown_pct": 0.8},
                         publish=publish)
    daily.prime()
    return daily


def test_slots_are_the_latest_time_of_day_at_or_before_now():
    assert last_slot(at(5, 18), 18 * 3600) == at(5, 18)
    assert last_slot(at(5, 17, 59), 18 * 3600) == at(4, 18)
    assert last_slot(at(5, 0, 0), 0) == at(5)


def test_one_summary_per_day_with_the_day_s_trades_also_across_a_restart(tmp_path):
    trades = [closed(at(3, 19), 5.0), closed(at(4, 9), -2.0), closed(at(4, 17, 59), 1.0),
              closed(at(4, 18), 7.0)]  # the last one belongs to the next day's summary
    store = make_store(tmp_path, trades)
    store.record_event(BOT, StatusEvent(time=at(1), change="started"))  # the bot ran since the 1st
    clock, sent = Clock(at(4, 17)), []
    daily = summary_for(store, clock, sent)
    assert daily.send_if_due() is True  # the slot of the 3rd 18:00 had passed before this start
    sent.clear()
    clock.now = at(4, 18, 0)
    assert daily.send_if_due() is True and daily.send_if_due() is False
    (event,) = sent
    assert (event.day, event.trades, event.wins) == ("2024-03-03", 3, 2)
    assert event.pnl == 4.0 and round(event.fees, 6) == 0.3
    assert (event.equity, event.drawdown_pct) == (1012.5, 0.8)
    assert (event.period_start, event.period_end) == (at(3, 18), at(4, 18))
    # restarted later the same day: the store remembers the summary, nothing is sent again
    restarted = summary_for(store, Clock(at(4, 23)), sent)
    assert restarted.send_if_due() is False and len(sent) == 1


def test_a_bot_down_at_the_time_sends_the_missed_summary_late_but_not_for_before_it_existed(
        tmp_path, caplog):
    store = make_store(tmp_path, [closed(at(6, 9), 3.0)])
    store.record_event(BOT, StatusEvent(time=at(5, 10), change="started"))
    sent: list = []
    assert summary_for(store, Clock(at(5, 17)), sent).send_if_due() is False  # born after the 4th
    with caplog.at_level(logging.INFO, logger="trading.runtime.daily_summary"):
        assert summary_for(store, Clock(at(7, 9)), sent).send_if_due() is True  # down on the 6th
    (late,) = sent
    assert (late.day, late.trades, late.pnl) == ("2024-03-05", 1, 3.0)
    assert "the bot was not running then" in caplog.text


class SteppedClock:
    """The times a clock reads, one per call; the last one stays (a clock set forward once)."""

    def __init__(self, *times: datetime) -> None:
        self.times = list(times)

    def __call__(self) -> datetime:
        return self.times.pop(0) if len(self.times) > 1 else self.times[0]


def run_until_sent(daily: DailySummary, sent: list) -> None:
    """Run the summary's schedule until it has published once (at most 10 s)."""
    async def scenario() -> None:
        loop, published = asyncio.get_running_loop(), asyncio.Event()
        publish = daily.publish

        def publish_and_tell(event):  # called in a worker thread (asyncio.to_thread)
            publish(event)
            loop.call_soon_threadsafe(published.set)

        daily.publish = publish_and_tell
        task = asyncio.create_task(daily.run())
        try:
            await asyncio.wait_for(published.wait(), timeout=10)
        finally:
            task.cancel()

    asyncio.run(scenario())


def test_a_clock_set_forward_past_the_time_while_running_sends_one_summary_and_says_so(
        tmp_path, caplog):
    store, sent = make_store(tmp_path, [closed(at(4, 9), 2.0)]), []
    # started at 17:00 (prime); the schedule waits from 0.05 s before 18:00; during that wait
    # the clock is set to 18:30
    clock = SteppedClock(at(4, 17), at(4, 18) - timedelta(milliseconds=50), at(4, 18, 30))
    daily = summary_for(store, clock, sent)
    with caplog.at_level(logging.INFO, logger="trading.runtime.daily_summary"):
        run_until_sent(daily, sent)
    (event,) = sent
    assert event.day == "2024-03-03" and event.trades == 1
    assert "not running" not in caplog.text
    assert "the system clock was set 1800 s forward past that time" in caplog.text
    assert daily.send_if_due() is False  # and only one


def test_a_summary_sent_late_by_a_running_bot_without_a_clock_step_blames_the_timer(
        tmp_path, caplog):
    store, sent = make_store(tmp_path, []), []
    clock = Clock(at(4, 17))
    daily = summary_for(store, clock, sent)  # running since 17:00
    clock.now = at(4, 19)  # the timer woke an hour late (a suspended machine)
    with caplog.at_level(logging.INFO, logger="trading.runtime.daily_summary"):
        assert daily.send_if_due() is True
    assert "not running" not in caplog.text
    assert "the bot was running, but its timer woke late" in caplog.text


def risk_manager(state: RiskState | None = None, pause: PauseSwitch | None = None) -> RiskManager:
    risk = RiskConfig(stop_loss_pct=0, take_profit_pct=0,
                      trailing_stop=TrailingStopConfig(False, 0, 2.0), max_daily_trades=0,
                      max_daily_loss=0, max_orders_per_minute=0, max_consecutive_errors=0)
    trading = TradingConfig(symbol="ETHBTC", position_size=0.1, max_positions=1,
                            max_drawdown_pct=0, max_exposure=1.0)
    return RiskManager(risk, trading, state=state, pause=pause)


def test_a_pause_asked_from_another_thread_holds_from_the_next_bar_and_survives_a_restart(tmp_path):
    switch = PauseSwitch()
    risk = risk_manager(pause=switch)
    risk.on_bar(0.0, 1000.0)
    assert risk.allow_entry(0.0, 1000.0, 0.0, 0) is None
    store = make_store(tmp_path, [])
    control = BotControl(bot_id=BOT, get_status=dict, store=store, pause_switch=switch,
                         stop=lambda: None)
    asker = threading.Thread(target=control.pause, args=("telegram /pause",))
    asker.start()
    asker.join()
    assert risk.allow_entry(60.0, 1000.0, 0.0, 0) is None  # the bar in hand is not changed
    risk.on_bar(300.0, 1000.0)
    refusal = risk.allow_entry(300.0, 1000.0, 0.0, 0)
    assert refusal.rule == "paused" and "telegram /pause" in refusal.message
    assert control.pause("telegram /pause") is False  # already paused
    # the store keeps the state the checkpoint saves; a restart starts paused
    restored = risk_manager(state=RiskState.from_dict(dict(risk.state.to_dict())))
    assert restored.pause.paused is True
    assert restored.allow_entry(600.0, 1000.0, 0.0, 0).rule == "paused"
    assert BotControl(bot_id=BOT, get_status=dict, store=store, pause_switch=restored.pause,
                      stop=lambda: None).resume("telegram /resume") is True
    restored.on_bar(900.0, 1000.0)
    assert restored.allow_entry(900.0, 1000.0, 0.0, 0) is None and not restored.state.paused
