"""The drawdown formula, written once for the risk manager, the status report and the replay."""
from __future__ import annotations

from typing import Any


def drawdown_pct(peak: Any, value: Any) -> Any:
    """How far ``value`` has fallen below ``peak``, in percent of the peak.

    Works on floats and numpy arrays alike; the caller guards against a peak that is not positive.
    """
    return (peak - value) / peak * 100.0
