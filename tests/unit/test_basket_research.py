"""Research on a basket: a sweep's in/out-of-sample split is a time, the same in every symbol (not
one symbol's bar index), and a basket compared with a one-symbol config trades the same span of
time, each of its symbols from the same first time."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from replay_helpers import BASKET, BASKET_DATA, DEMO, SAMPLE
from trading.backtest.bars import BarLoader
from trading.backtest.comparison import common_spans
from trading.backtest.replay import run_replay
from trading.backtest.sweep import plan_sweep
from trading.backtest.sweep_worker import run_point
from trading.config.loading import check_config
from trading.config.overrides import parse_override
from trading.core.errors import DataError
from trading.core.timeutil import epoch_seconds, iso_z

TRAIN_END = datetime(2018, 1, 22, tzinfo=timezone.utc)


def _basket_files(folder, drop_xlm=range(200, 240), keep_xlm_until=None):
    """ETCBTC's sample as it is and XLMBTC's with bars missing early on (``drop_xlm``, line
    numbers of its bars), so its n-th bar is not ETCBTC's n-th; ``keep_xlm_until`` ends it early."""
    for symbol in ("ETCBTC", "XLMBTC"):
        lines = (SAMPLE.parent / f"{symbol}-5m.csv").read_text().splitlines()
        if symbol == "XLMBTC":
            head, bars = lines[0], lines[1:]
            bars = [b for i, b in enumerate(bars) if i not in drop_xlm]
            if keep_xlm_until:
                bars = [b for b in bars if b[:19] < keep_xlm_until]
            lines = [head, *bars]
        (folder / f"{symbol}-5m.csv").write_text("\n".join(lines) + "\n")
    return folder / "{symbol}-5m.csv"


def _pair(*more: str):
    return check_config(BASKET, [parse_override(o) for o in
                                 ('trading.symbols=["ETCBTC", "XLMBTC"]', "trading.max_positions=2", *more)])


def test_a_basket_sweep_splits_every_symbol_at_the_train_end_time_not_at_a_bar_index(tmp_path):
    checked = _pair()
    data = BarLoader(_basket_files(tmp_path)).load(checked.config)
    plan = plan_sweep(checked, ["e_rsi_oversold=30,35"], data, train_end=TRAIN_END)
    when = epoch_seconds(TRAIN_END)
    before = {s: int(np.searchsorted(b.ts, when)) for s, b in data.basket.items()}
    assert before["XLMBTC"] == before["ETCBTC"] - 40  # one symbol's index is not the other's

    inside = plan.bars.in_sample(checked.config)
    for symbol, bars in inside.basket.items():
        assert len(bars) == before[symbol] and bars.ts[-1] < when
    outside = plan.bars.out_of_sample(checked.config)
    assert outside.warmup == 100
    for symbol, bars in outside.basket.items():
        assert bars.ts[outside.warmup] == when and bars.ts[outside.warmup - 1] < when
        assert bars.ts[-1] == data.basket[symbol].ts[-1]

    outcome = run_point(plan.tasks()[0], plan.bars)
    assert outcome.metrics["end"] < iso_z(when) == outcome.oos_metrics["start"]
    assert plan.definition()["split_bar"] == before
    # every symbol's file names the sweep; its place does not
    assert list(plan.definition()["data"]["symbols"]) == ["ETCBTC", "XLMBTC"]


def test_a_basket_sweep_names_the_symbol_a_train_end_leaves_nothing_of(tmp_path):
    checked = _pair()
    data = BarLoader(_basket_files(tmp_path, keep_xlm_until="2018-01-20")).load(checked.config)
    with pytest.raises(DataError, match=r"--train-end 2018-01-22T00:00:00Z is after the last bar of "
                                        r"XLMBTC \(2018-01-10T04:55:00Z \.\. 2018-01-19T23:55:00Z\): "
                                        r"nothing is left out of sample"):
        plan_sweep(checked, ["e_rsi_oversold=30,35"], data, train_end=TRAIN_END)
    late = tmp_path / "late"
    late.mkdir()
    data = BarLoader(_basket_files(late, drop_xlm=range(60))).load(checked.config)  # from 09:55
    with pytest.raises(DataError, match=r"--train-end 2018-01-10T14:00:00Z leaves 49 bar\(s\) of "
                                        r"XLMBTC \(2018-01-10T09:55:00Z .*\) before it, not more "
                                        r"than the 100 warm-up bars"):
        plan_sweep(checked, ["e_rsi_oversold=30,35"], data,  # ETCBTC has 109 bars before it
                   train_end=datetime(2018, 1, 10, 14, tzinfo=timezone.utc))


def test_a_basket_and_a_one_symbol_config_trade_the_same_span_each_symbol_from_the_same_time(tmp_path):
    one = check_config(DEMO, []).config  # ETHBTC
    basket = _pair().config
    files = _basket_files(tmp_path, drop_xlm=range(10, 30))  # XLMBTC warms up 100 minutes later
    (tmp_path / "ETHBTC-5m.csv").write_bytes(SAMPLE.read_bytes())
    loader = BarLoader(files)  # {symbol} stands for the one-symbol config's symbol too
    first, second = loader.load(one), loader.load(basket)
    spans = common_spans([one, basket], [first.bars, second.bars], None, [None, second.basket])
    start = float(second.basket["XLMBTC"].ts[100])  # the last of every series to be warmed up
    assert spans[0].bars.ts[spans[0].warmup] == start and spans[0].warmup == 120
    assert spans[1].warmup == 100  # the fewest any symbol has before the span
    for bars in spans[1].basket.values():
        assert bars.ts[spans[1].warmup] == start  # every symbol trades from the same time

    results = [run_replay(c, s.bars, s.warmup, basket=s.basket) for c, s in zip((one, basket), spans)]
    assert results[0].metrics["start"] == results[1].metrics["start"] == iso_z(start)
    assert results[0].metrics["end"] == results[1].metrics["end"]
    # each market is its own: ETHBTC's, and equal parts of the basket's symbols, over the span
    eth = spans[0].bars
    assert results[0].metrics["market_change_pct"] == pytest.approx(
        (eth.close[-1] / eth.open[spans[0].warmup] - 1) * 100, abs=1e-4)
    parts = [b.close[-1] / b.open[spans[1].warmup] for b in spans[1].basket.values()]
    assert results[1].metrics["market_change_pct"] == pytest.approx((np.mean(parts) - 1) * 100, abs=1e-4)


def test_a_one_symbol_data_file_without_symbol_cannot_serve_a_basket():
    basket = _pair().config
    with pytest.raises(Exception, match=r"trades a basket of 2 symbols: --data needs \{symbol\}"):
        BarLoader(SAMPLE).load(basket)
    assert BarLoader(BASKET_DATA).load(check_config(DEMO, []).config).provenance.path.endswith("ETHBTC-5m.csv")
