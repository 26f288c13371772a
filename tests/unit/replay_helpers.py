"""Replays of the shipped demo config on the bundled real sample, for report tests."""
from __future__ import annotations

from pathlib import Path

from trading.backtest.bars import BarLoader, ReplayData
from trading.backtest.replay import ReplayResult, run_replay
from trading.backtest.report_inputs import ReplayReport
from trading.config.loading import CheckedConfig, check_config
from trading.config.overrides import parse_override

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "ETHBTC-5m.csv"
DEMO = REPO / "config" / "trading" / "0001.json"


def demo_replay(*overrides: str, warmup: int | None = None) -> tuple[CheckedConfig, ReplayData, ReplayResult]:
    """Config 0001 with ``--set`` overrides, replayed on the sample."""
    checked = check_config(DEMO, [parse_override(o) for o in overrides])
    data = BarLoader(SAMPLE).load(checked.config)
    return checked, data, run_replay(checked.config, data.bars, warmup)


def demo_report(*overrides: str) -> ReplayReport:
    checked, data, result = demo_replay(*overrides)
    return ReplayReport.of(checked, result, data.provenance)


BASKET = REPO / "config" / "trading" / "0007.json"
BASKET_DATA = REPO / "data" / "sample" / "{symbol}-5m.csv"


def basket_replay(*overrides: str, data=BASKET_DATA) -> tuple[CheckedConfig, ReplayData, ReplayResult]:
    """Config 0007 (a basket of five) with ``--set`` overrides, replayed on the bundled samples."""
    checked = check_config(BASKET, [parse_override(o) for o in overrides])
    loaded = BarLoader(data).load(checked.config)
    return checked, loaded, run_replay(checked.config, loaded.bars, basket=loaded.basket)


def basket_report(*overrides: str, focus: str = "", breakdown=()) -> ReplayReport:
    checked, data, result = basket_replay(*overrides)
    return ReplayReport.of(checked, result, data.provenance, breakdown, focus=focus)
