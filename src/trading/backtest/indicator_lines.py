"""The indicators a config's mixins trade on, as lines for report.html.

The mixins are built from the config and asked for their indicators (``init``) on a fresh
``IndicatorSet``, exactly as the strategy does; every bar of the replay (warm-up included) is then
streamed through that set, so the lines are the very values the rules compared. Each indicator
kind is drawn where a trader looks for it: moving averages, Bollinger bands, SuperTrend, Donchian
and Ichimoku over the price; RSI (with the levels the mixins trigger on) and ATR in a pane of
their own; a volume average with the volume. An indicator built only to feed another (the SMA
under Bollinger bands, the Donchian channels under Ichimoku) is not drawn twice. Kinds this
module does not know (a plugin's own indicator) are left out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from feeds.csv_bars import BarArrays
from strategies.indicators import Indicator, IndicatorSet
from strategies.mixins.base import Bar, Mixin
from strategies.mixins.registry import default_registry
from trading.config.models import BotConfig

PALETTE = ("#7b3294", "#e66101", "#1b7837", "#5e3c99", "#b35806", "#0571b0", "#a6611a", "#c51b7d")
PRICE = "price"


@dataclass
class Pane:
    """A chart of lines: the price (overlays) or one of its own below it."""

    title: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    levels: list[float] = field(default_factory=list)  # horizontal guides (an RSI's 30 and 70)
    fixed: tuple[float, float] | None = None  # the y range, when the indicator has one (0..100)


def build_mixins(config: BotConfig) -> list[Mixin]:
    """Fresh entry and exit mixins of ``config``."""
    registry = default_registry()
    spec = config.strategy
    return [registry.build("entry", spec.entry.name, spec.entry.params),
            *(registry.build("exit", x.name, x.params) for x in spec.exits)]


def _feeders(items: Sequence[tuple[tuple[Any, ...], Indicator]]) -> set[int]:
    """The ids of indicators another one is built on (found in its slots)."""
    ids = {id(ind) for _, ind in items}
    fed = set()
    for _, ind in items:
        for cls in type(ind).__mro__:
            for name in getattr(cls, "__slots__", ()):
                value = getattr(ind, name, None)
                if isinstance(value, Indicator) and id(value) in ids:
                    fed.add(id(value))
    return fed


def _levels(mixins: Sequence[Mixin], word: str) -> list[float]:
    """The 0..100 levels the mixins' ``*{word}*`` params set (e_rsi_oversold, x_rsi_overbought)."""
    found = []
    for mixin in mixins:
        for param in mixin.params:
            if word in param.name and param.minimum == 0 and param.maximum == 100:
                found.append(float(getattr(mixin.p, param.name)))
    return sorted(set(found))


Reader = Callable[[], float]


def _describe(key: tuple[Any, ...], ind: Any, mixins: Sequence[Mixin]
              ) -> tuple[str, list[tuple[str, Reader]], dict[str, Any]] | None:
    """(pane, [(label, reader)], pane options) of one indicator; None for a kind not drawn."""
    kind, args = key[0].__name__, key[1:]
    if kind in ("SMA", "EMA"):
        period, column = args
        label = f"{kind}({period})" if column == "close" else f"{kind}({period}) of {column}"
        pane = PRICE if column in ("open", "high", "low", "close") else column
        return pane, [(label, lambda: ind.value)], {}
    if kind == "Bollinger":
        name = f"BB({args[0]}, {args[1]:g})"
        return PRICE, [(f"{name} upper", lambda: ind.top), (f"{name} middle", lambda: ind.mid),
                       (f"{name} lower", lambda: ind.bot)], {"one_color": True}
    if kind == "RSI":
        return f"RSI({args[0]})", [(f"RSI({args[0]})", lambda: ind.value)], {
            "levels": _levels(mixins, "rsi"), "fixed": (0.0, 100.0)}
    if kind == "ATR":
        return f"ATR({args[0]})", [(f"ATR({args[0]})", lambda: ind.value)], {}
    if kind == "SuperTrend":
        return PRICE, [(f"SuperTrend({args[0]}, {args[1]:g})", lambda: ind.value)], {}
    if kind == "Donchian":
        return PRICE, [(f"Donchian({args[0]}) upper", lambda: ind.upper),
                       (f"Donchian({args[0]}) lower", lambda: ind.lower)], {"one_color": True}
    if kind == "Ichimoku":
        return PRICE, [("Tenkan-sen", lambda: ind.tenkan), ("Kijun-sen", lambda: ind.kijun),
                       ("cloud top", lambda: ind.cloud_top),
                       ("cloud bottom", lambda: ind.cloud_bottom)], {}
    return None


def _rounded(values: np.ndarray) -> list[float | None]:
    # 10 significant digits, and null where the indicator is not ready yet
    return [float(f"{v:.10g}") if v == v else None for v in values.tolist()]


def indicator_panes(config: BotConfig, bars: BarArrays, warmup: int,
                    picks: np.ndarray) -> list[Pane]:
    """The price pane's overlays, then one pane per other chart: each line's values at the traded
    bars ``picks`` (indices from the first traded bar), from a stream over all ``bars``."""
    mixins = build_mixins(config)
    indicators = IndicatorSet()
    for mixin in mixins:
        mixin.init(indicators)  # type: ignore[attr-defined]
    items = indicators.requested()
    fed = _feeders(items)
    panes: dict[str, Pane] = {PRICE: Pane(PRICE)}
    readers: list[Reader] = []
    colors = iter(PALETTE * 8)
    for key, ind in items:
        described = None if id(ind) in fed else _describe(key, ind, mixins)
        if described is None:
            continue
        where, lines, options = described
        color = next(colors) if options.pop("one_color", False) else None
        if where not in panes:
            panes[where] = Pane(where, **options)
            if where == "volume":  # the volume itself under its average
                panes[where].lines.append({"label": "volume", "column": "volume"})
        for label, reader in lines:
            panes[where].lines.append({"label": label, "reader": len(readers),
                                       "color": color or next(colors), "dash": "middle" in label})
            readers.append(reader)
    picked = warmup + np.asarray(picks, dtype=np.int64)
    recorded = _stream(indicators, bars, picked, readers)
    for pane in panes.values():
        for line in pane.lines:
            if "column" in line:
                line["v"] = _rounded(np.asarray(getattr(bars, line.pop("column")))[picked])
                line["color"] = "#9e9e9e"
            else:
                line["v"] = _rounded(recorded[:, line.pop("reader")])
    return [pane for name, pane in panes.items() if name == PRICE or pane.lines]


def _stream(indicators: IndicatorSet, bars: BarArrays, picked: np.ndarray,
            readers: Sequence[Reader]) -> np.ndarray:
    """Every bar through ``indicators``; the readers' values after the bars ``picked``."""
    recorded = np.full((len(picked), len(readers)), np.nan)
    if not readers or not len(picked):
        return recorded
    wanted = np.zeros(len(bars), dtype=bool)
    wanted[picked] = True
    last = int(picked[-1])
    columns = [np.asarray(getattr(bars, name))[:last + 1].tolist()
               for name in ("ts", "open", "high", "low", "close", "volume")]
    row = 0
    update = indicators.update
    for i, values in enumerate(zip(*columns)):
        update(Bar(*values))
        if wanted[i]:
            recorded[row] = [read() for read in readers]
            row += 1
    return recorded
