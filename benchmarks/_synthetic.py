"""Seeded synthetic market data shared by the benchmarks (numpy only: keeps RSS figures honest)."""
from __future__ import annotations

import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "src") not in sys.path:  # works without the editable install too
    sys.path.insert(0, str(REPO / "src"))

from feeds.csv_bars import BarArrays  # noqa: E402

SEED = 20240611


def synthetic_bars(n: int, seed: int = SEED, start_ts: float = 1_577_836_800.0) -> BarArrays:
    """A seeded random walk of 1-minute bars with clustered volatility and volume that follows it."""
    import numpy as np

    rng = np.random.default_rng(seed)
    regime = np.convolve(rng.standard_normal(n + 999), np.ones(1000) / math.sqrt(1000), "valid")
    sigma = 0.0008 * np.exp(0.5 * regime)  # slow volatility regimes
    shocks = rng.standard_normal(n) * sigma
    close = 100.0 * np.exp(np.cumsum(shocks))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + np.abs(rng.standard_normal(n)) * sigma * 0.5)
    low = np.minimum(open_, close) * (1 - np.abs(rng.standard_normal(n)) * sigma * 0.5)
    volume = rng.lognormal(3.0, 0.5, n) * (1.0 + 2.0 * np.abs(shocks) / sigma)
    ts = start_ts + 60.0 * np.arange(n)  # 2020-01-01T00:00:00Z, 1-minute bars
    return BarArrays(ts, open_, high, low, close, volume)


def write_iso_csv(path: Path, bars: BarArrays) -> None:
    """``bars`` as a user's CSV: a header, ISO 8601 times, then OHLCV at full precision (the
    whole-process benchmarks parse times as users' files make them; _live_harness.write_csv
    writes epoch milliseconds for the live source instead)."""
    import numpy as np

    times = np.datetime_as_string(np.asarray(bars.ts).astype("int64").astype("datetime64[s]"), unit="s")
    with Path(path).open("w", encoding="utf-8") as fh:
        fh.write("datetime,open,high,low,close,volume\n")
        fh.writelines(f"{t}Z,{o!r},{h!r},{lo!r},{c!r},{v!r}\n" for t, o, h, lo, c, v in zip(
            times, bars.open.tolist(), bars.high.tolist(), bars.low.tolist(), bars.close.tolist(),
            bars.volume.tolist()))
