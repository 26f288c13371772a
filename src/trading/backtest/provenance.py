"""What produced a report: the effective config, the data file (path, hash, bars) and the version.

Recorded in every ``metrics.json`` (and a sweep's ``sweep.json``) so a figure can be traced back to
the exact inputs, and a sweep can tell whether it is resuming the same experiment.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

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
                   overrides: list[str], data: DataProvenance, warmup_bars: int) -> dict[str, Any]:
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
