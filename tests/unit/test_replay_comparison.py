"""Several configs compared on one file: one traded span, the config named in a warm-up problem, and
a warning when a config trades another symbol than the file holds."""
from __future__ import annotations

import logging

import pytest

from replay_helpers import DEMO, SAMPLE
from trading.backtest.bars import BarLoader
from trading.backtest.comparison import common_spans, file_symbol, symbol_mismatch, warn_symbol_mismatch
from trading.backtest.replay import run_replay
from trading.config.loading import check_config
from trading.config.overrides import parse_override
from trading.core.errors import DataError


def _config(*overrides: str):
    return check_config(DEMO, [parse_override(o) for o in overrides]).config


def test_a_warm_up_longer_than_the_data_names_the_config_and_the_largest_that_fits():
    config = _config("data.interval=1h", "data.lookback_bars=500")
    bars = BarLoader(SAMPLE).load(config).bars  # 479 hourly bars
    with pytest.raises(DataError) as caught:
        run_replay(config, bars)
    message = str(caught.value)
    assert message.startswith(f"0001 ({DEMO}): data.lookback_bars 500 leaves none of the 479 bars at 1h")
    assert "--warmup N, at most 478 here" in message


def test_configs_of_different_warm_ups_and_intervals_trade_the_same_span_and_market():
    configs = [_config(), _config("data.lookback_bars=600"),
               _config("data.interval=1h", "data.lookback_bars=60")]
    bars = [BarLoader(SAMPLE).load(c).bars for c in configs]
    spans = common_spans(configs, bars)
    results = [run_replay(c, s.bars, s.warmup) for c, s in zip(configs, spans)]
    starts = {r.metrics["start"] for r in results[:2]}
    assert len(starts) == 1  # the two 5-minute configs start on the same bar ...
    assert results[2].metrics["start"] == starts.pop()  # ... and the hourly one with them
    assert spans[0].warmup >= 600 and spans[1].warmup >= 600  # nobody warms up on less than asked
    assert spans[2].warmup >= 60
    market = {r.metrics["market_change_pct"] for r in results}
    assert len(market) == 1, market  # one "Market (buy & hold)" figure for one file
    # the 5-minute bars end where the last complete hour ends
    assert bars[0].ts[-1] > spans[0].bars.ts[-1] == spans[2].bars.ts[-1] + 55 * 60


def test_one_config_whose_warm_up_leaves_nothing_stops_the_comparison_by_name():
    configs = [_config(), _config("data.interval=1h", "data.lookback_bars=500")]
    bars = [BarLoader(SAMPLE).load(c).bars for c in configs]
    with pytest.raises(DataError, match=r"^0001 \(.*\): data.lookback_bars 500 leaves none of the 479 bars at 1h"):
        common_spans(configs, bars)


@pytest.mark.parametrize("name, symbol", [
    ("ETHBTC-5m.csv", "ETHBTC"), ("BTCUSDT-1h-2024-01.csv", "BTCUSDT"), ("BTC-USD-1d.csv", "BTC-USD"),
    ("AAPL_15m.csv", "AAPL"), ("prices-5m.csv", None), ("history.csv", None), ("ETHBTC.csv", None)])
def test_the_symbol_a_data_file_name_gives(name, symbol):
    assert file_symbol(name) == symbol


def test_a_config_trading_another_symbol_than_the_file_is_warned_about(caplog):
    assert symbol_mismatch(_config(), SAMPLE) is None  # ETHBTC on ETHBTC-5m.csv
    assert symbol_mismatch(_config("trading.symbol=ethbtc", "data.symbol=null"), SAMPLE) is None
    other = _config("trading.symbol=BTCUSDT", "data.symbol=null")
    with caplog.at_level(logging.WARNING):
        message = warn_symbol_mismatch(other, SAMPLE)
    assert message == (f"0001 ({DEMO}) trades BTCUSDT, but the data file ETHBTC-5m.csv holds ETHBTC "
                       f"by its name: its figures are BTCUSDT's rules on ETHBTC's prices")
    assert message in caplog.text
