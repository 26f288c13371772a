"""What produced a report: the effective config, the data file (path, hash, bars) and the version.

Recorded in every ``metrics.json`` (and a sweep's ``sweep.json``) so a figure can be traced back to
the exact inputs, and a sweep can tell whether it is resuming the same experiment. A basket's
run lists every symbol's file (``BasketProvenance``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Union

from feeds.csv_bars import BarArrays
from trading.config.secrets import scrub_config
from trading.core.settings import interval_label
from trading.core.timeutil import iso_z, utcnow
from trading.core.version import version

CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class DataProvenance:
    """The bars a run used: the file, its content hash, and the bars taken from it."""

    path: str
    sha256: str
    file_bytes: int
    bars: int
    interval: str
    first: str
    last: str
    start: str | None = None  # the --start/--end filters, when given
    end: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def part(self, bars: BarArrays) -> "DataProvenance":
        """The same file, for a run on ``bars``, a part of its bars (a sweep's in/out of sample)."""
        return replace(self, bars=len(bars), first=iso_z(float(bars.ts[0])),
                       last=iso_z(float(bars.ts[-1])))


@dataclass(frozen=True)
class BasketProvenance:
    """A basket's bars: each symbol's file (a DataProvenance each), in the basket's order."""

    files: Mapping[str, DataProvenance]

    @property
    def first(self) -> str:
        """The earliest first bar of any symbol."""
        return min(p.first for p in self.files.values())

    @property
    def last(self) -> str:
        """The latest last bar of any symbol."""
        return max(p.last for p in self.files.values())

    def as_dict(self) -> dict[str, Any]:
        """``interval``, ``first``/``last`` over every symbol, the --start/--end filters, and
        ``symbols``: each symbol's file (path, sha256, bytes, bars, first, last)."""
        some = next(iter(self.files.values()))
        per_file = ("path", "sha256", "file_bytes", "bars", "first", "last")
        return {"interval": some.interval, "first": self.first, "last": self.last,
                "start": some.start, "end": some.end,
                "symbols": {symbol: {k: getattr(p, k) for k in per_file}
                            for symbol, p in self.files.items()}}

    def part(self, basket: Mapping[str, BarArrays]) -> "BasketProvenance":
        """The same files, for a run on a part of each symbol's bars."""
        return BasketProvenance({symbol: p.part(basket[symbol]) for symbol, p in self.files.items()})


Provenance = Union[DataProvenance, BasketProvenance]


def data_paths(data: Provenance) -> list[tuple[str | None, str]]:
    """(symbol, file) of every data file: a basket's by symbol, one file's with None."""
    if isinstance(data, BasketProvenance):
        return [(symbol, p.path) for symbol, p in data.files.items()]
    return [(None, data.path)]


def run_data(data: Provenance, bars: BarArrays, basket: Mapping[str, BarArrays] | None) -> Provenance:
    """The provenance of a run on ``bars`` (a basket's: on ``basket``), a part of ``data``'s."""
    if isinstance(data, BasketProvenance):
        if basket is None:
            raise ValueError("a basket's provenance needs the bars of every symbol")
        return data.part(basket)
    return data.part(bars)


def describe_data(path: Path, bars: BarArrays, start: datetime | None = None,
                  end: datetime | None = None, sha256: str | None = None) -> DataProvenance:
    """Provenance of ``bars`` read from ``path`` (pass ``sha256`` when it is already known)."""
    path = Path(path)
    return DataProvenance(
        path=str(path), sha256=sha256 or file_sha256(path), file_bytes=path.stat().st_size,
        bars=len(bars), interval=interval_label(bars.interval_seconds),
        first=iso_z(float(bars.ts[0])), last=iso_z(float(bars.ts[-1])),
        start=iso_z(start) if start else None, end=iso_z(end) if end else None)


def run_provenance(config_document: Mapping[str, Any], config_file: Path | None,
                   overrides: list[str], data: Provenance, warmup_bars: int) -> dict[str, Any]:
    """The ``provenance`` section of metrics.json (the config with its secrets scrubbed)."""
    return {
        "created": iso_z(utcnow().replace(microsecond=0)),
        "version": version(),
        "config_file": str(config_file) if config_file else None,
        "overrides": list(overrides),
        "data": data.as_dict(),
        "warmup_bars": warmup_bars,
        "config": scrub_config(config_document),
    }
