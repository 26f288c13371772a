"""Sweep grids: values, names resolved to config paths, every point checked before anything runs."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from replay_helpers import DEMO, SAMPLE
from trading.backtest.bars import BarLoader
from trading.backtest.grid import grid_points, parse_grid, parse_values
from trading.backtest.results import rank_rows
from trading.backtest.sweep import plan_sweep
from trading.config.loading import check_config
from trading.config.overrides import parse_override
from trading.core.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def demo():
    return check_config(DEMO)


def test_ranges_include_their_stop_and_lists_read_json_or_text():
    assert parse_values("20:40:5") == (20, 25, 30, 35, 40)
    assert parse_values("1.5:2.5:0.5") == (1.5, 2.0, 2.5)
    assert parse_values("0.1:0.3:0.1") == (0.1, 0.2, 0.3)  # exact, no 0.30000000000000004
    assert parse_values("60,70,80") == (60, 70, 80)
    assert parse_values("sma,ema") == ("sma", "ema")
    assert parse_values("true") == (True,)
    assert all(isinstance(v, int) for v in parse_values("1:3:1"))


@pytest.mark.parametrize("text, message", [
    ("40:20:5", "is empty"), ("20:40:0", "step of 20:40:0 must be above 0"),
    ("20:x:5", "'x' is not a number"), ("60,,80", "empty value"), ("", "empty value"),
    ("5,5", "lists a value twice"),
])
def test_bad_values_are_explained(text, message):
    with pytest.raises(ValueError, match=message):
        parse_values(text)


def test_names_resolve_to_the_mixin_that_declares_them_or_are_paths(demo):
    axes = parse_grid(["e_rsi_oversold=20:30:10", "x_rsi_overbought=70,80",
                       "risk_management.stop_loss_pct=2,4"], demo.document)
    assert [a.path for a in axes] == [("strategy", "entry_logic", "params", "e_rsi_oversold"),
                                      ("strategy", "exit_logic", "params", "x_rsi_overbought"),
                                      ("risk_management", "stop_loss_pct")]
    points = grid_points(axes)
    assert len(points) == 8
    assert dict(points[0].params) == {"e_rsi_oversold": 20, "x_rsi_overbought": 70,
                                      "risk_management.stop_loss_pct": 2}
    assert len({p.key for p in points}) == 8
    assert points[0].key == grid_points(axes)[0].key  # stable: a resumed sweep finds its points


def test_in_an_exit_list_a_param_finds_its_mixin_and_a_shared_one_must_be_named(tmp_path):
    checked = check_config(DEMO, [parse_override(
        'strategy.exit_logic=[{"name": "RSIBBExitMixin"}, {"name": "RSIOrBBExitMixin"}, '
        '{"name": "TimeBasedExitMixin"}]')])
    axes = parse_grid(["x_max_bars=10,20"], checked.document)
    assert axes[0].path == ("strategy", "exit_logic", 2, "params", "x_max_bars")
    with pytest.raises(ConfigError) as caught:
        parse_grid(["x_rsi_period=10,14"], checked.document)
    assert ("more than one mixin of the config has 'x_rsi_period'; name one by its path: "
            "strategy.exit_logic[0].params.x_rsi_period or strategy.exit_logic[1].params.x_rsi_period"
            in caught.value.problems[0])


def test_every_grid_problem_is_reported_at_once(demo):
    with pytest.raises(ConfigError) as caught:
        parse_grid(["e_rsi_oversld=20:40:5", "x_atr_period=10,14", "e_bb_period=30:10:5", "nothing"],
                   demo.document)
    problems = caught.value.problems
    assert problems[0] == ("--grid e_rsi_oversld: no mixin of the config (RSIBBVolumeEntryMixin, "
                           "RSIBBExitMixin) has a param 'e_rsi_oversld'; did you mean 'e_rsi_oversold'?")
    assert problems[1].startswith("--grid x_atr_period: no mixin of the config")
    assert "e_bb_period=30:10:5: the range 30:10:5 is empty" in problems[2]
    assert problems[3].startswith("--grid nothing: expected NAME=VALUES")


def test_points_the_validator_refuses_stop_the_sweep_with_its_messages(demo):
    data = BarLoader(SAMPLE).load(demo.config)
    with pytest.raises(ConfigError) as caught:
        plan_sweep(demo, ["e_rsi_oversold=80:120:20", "risk_management.stop_loss_pct=-1,2"], data)
    problems = caught.value.problems
    assert any(p.endswith("strategy.entry_logic.params.e_rsi_oversold: must be <= 100, got 120 "
                          "(from --grid e_rsi_oversold=120)") for p in problems)
    assert any(p.endswith("risk_management.stop_loss_pct: must be >= 0, got -1 "
                          "(from --grid risk_management.stop_loss_pct=-1)") for p in problems)
    assert len(problems) == 2  # each problem once, however many points share it


def test_train_end_must_leave_bars_on_both_sides(demo):
    data = BarLoader(SAMPLE).load(demo.config)
    plan = plan_sweep(demo, ["e_rsi_oversold=30"], data, train_end=datetime(2018, 1, 20))
    split, ts = plan.bars.split, data.bars.ts
    cut = datetime(2018, 1, 20, tzinfo=timezone.utc).timestamp()
    assert ts[split - 1] < cut == ts[split]  # the first out-of-sample bar opens at --train-end
    with pytest.raises(DataError, match="is after the last bar"):
        plan_sweep(demo, ["e_rsi_oversold=30"], data, train_end=datetime(2018, 2, 1))
    with pytest.raises(DataError, match="not more than the 100 warm-up bars"):
        plan_sweep(demo, ["e_rsi_oversold=30"], data, train_end=datetime(2018, 1, 10, 8))


def test_ranking_follows_the_metric_direction_and_no_loss_profit_factor_ranks_first():
    rows = [{"point": "a", "sharpe": 1.0, "max_drawdown_pct": 5.0, "profit_factor": 2.0, "trades": 3,
             "total_return_pct": 1.0},
            {"point": "b", "sharpe": 2.0, "max_drawdown_pct": 9.0, "profit_factor": None, "trades": 1,
             "total_return_pct": 0.5},
            {"point": "c", "sharpe": -1.0, "max_drawdown_pct": 1.0, "profit_factor": None, "trades": 0,
             "total_return_pct": 0.0}]
    assert [r["point"] for r in rank_rows(rows, "sharpe")] == ["b", "a", "c"]
    assert [r["point"] for r in rank_rows(rows, "max_drawdown")] == ["c", "a", "b"]
    assert [r["point"] for r in rank_rows(rows, "profit_factor")] == ["b", "a", "c"]
    assert [r["rank"] for r in rank_rows(rows, "sharpe")] == [1, 2, 3]


def test_points_below_the_least_trades_are_listed_after_the_ranked_ones_without_a_rank():
    from trading.backtest.results import rank_rows

    rows = [{"point": "a", "trades": 2, "sharpe": 5.14, "total_return_pct": 0.9},
            {"point": "b", "trades": 16, "sharpe": -0.38, "total_return_pct": -0.2},
            {"point": "c", "trades": 31, "sharpe": -3.2, "total_return_pct": -1.4},
            {"point": "d", "trades": 9, "sharpe": 1.0, "total_return_pct": 0.1}]
    ranked = rank_rows(rows, "sharpe", min_trades=10)
    assert [(r["point"], r["rank"]) for r in ranked] == [("b", 1), ("c", 2), ("a", None), ("d", None)]
    assert [r["rank"] for r in rank_rows(rows, "sharpe")] == [1, 2, 3, 4]  # 0: every point ranked
