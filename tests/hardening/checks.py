"""What a user must see for each corpus variant, checked in-process through the real code paths.

Each ``check_*`` returns None when the variant behaved, else one line saying what went wrong, so
a test can run hundreds of variants and list every failure at once. An exception escaping the
code under test is such a failure (it would be a traceback for the user), reported with its
type and message.
"""
from __future__ import annotations

import asyncio
import dataclasses
import io
import math
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Callable

import backtrader as bt

from config_corpus import ConfigVariant
from data_corpus import SAMPLE, DataVariant
from feeds.csv_bars import load_bars
from feeds.live import LIVE, BarSink, LiveFeed
from trading.core.types import Bar
from trading.cli import validate as validate_cli
from trading.config.loading import load_config
from trading.core.errors import ConfigError, DataError, UnreadableConfig

MAX_MESSAGE = 500  # characters of one message past the file name
SHOWN_FAILURES = 15


def _escaped(exc: BaseException) -> str:
    return f"raised {type(exc).__name__}: {str(exc)[:200]}"


def materialize(variant: ConfigVariant | DataVariant, folder: Path) -> Path:
    """Write the variant's file in ``folder``; a FIFO or a folder is made for real, a device is
    /dev/null, a missing file is left missing."""
    if variant.special == "device":
        return Path("/dev/null")
    path = folder / variant.file_name
    if variant.special == "fifo":
        os.mkfifo(path)
    elif variant.special == "folder":
        path.mkdir()
    elif variant.special is None:
        assert variant.content is not None
        path.write_bytes(variant.content)
    return path


def run_checks(variants: list[Any], check: Callable[[Any, Path], str | None], root: Path
               ) -> list[tuple[Any, str | None]]:
    """Each variant checked in a folder of its own under ``root``: (variant, problem or None)."""
    results = []
    for n, variant in enumerate(variants):
        folder = root / str(n)
        folder.mkdir()
        results.append((variant, check(variant, folder)))
    return results


def assert_family_passes(variants: list[Any], family: str,
                         check: Callable[[Any, Path], str | None], root: Path) -> None:
    """Check every variant of ``family``; fail listing the first failures, with the count."""
    mine = [v for v in variants if v.family == family]
    assert mine, f"no {family} variants"
    found = [f"{variant.name[:90]}: {problem}"
             for variant, problem in run_checks(mine, check, root) if problem]
    assert not found, f"{len(found)} of {len(mine)} {family} variants failed:\n" + \
        "\n".join(found[:SHOWN_FAILURES])


# --- configs ---------------------------------------------------------------------------------------


def run_validate(path: Path) -> tuple[int, list[str]]:
    """``tradingbot validate PATH`` in this process: its exit code and output lines."""
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(out):
        code = validate_cli.main([str(path)])
    return code, out.getvalue().splitlines()


def names_path(lines: list[str], source: str, expect: str) -> bool:
    """A line ``source: expect: ...`` or about a key beneath ``expect``."""
    heads = (f"{source}: {expect}: ", f"{source}: {expect}.", f"{source}: {expect}[")
    return any(line.startswith(heads) for line in lines)


def _bad_line(lines: list[str], source: str) -> str | None:
    for line in lines:
        if not line.startswith((f"{source}: ", f"warning: {source}: ")):
            return f"a line that does not start with the file name: {line[:120]!r}"
        if len(line) > len(source) + MAX_MESSAGE + len("warning: "):
            return f"a line of {len(line):,} characters: {line[:120]!r}..."
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            return f"an unprintable line: {line[:120]!r}"
    return None


def sane_config(value: Any, where: str = "config") -> str | None:
    """Why a built config holds something no run should see (a non-finite number, a NUL)."""
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            problem = sane_config(getattr(value, f.name), f"{where}.{f.name}")
            if problem:
                return problem
    elif isinstance(value, dict) or hasattr(value, "items"):
        for key, item in value.items():
            problem = sane_config(item, f"{where}.{key}")
            if problem:
                return problem
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            problem = sane_config(item, f"{where}[{i}]")
            if problem:
                return problem
    elif isinstance(value, float) and not math.isfinite(value):
        return f"{where} is {value!r}"
    elif isinstance(value, (str, Path)) and ("\x00" in str(value) or len(str(value)) > 5000):
        return f"{where} holds a NUL or is {len(str(value)):,} characters long"
    return None


def check_config(variant: ConfigVariant, folder: Path) -> str | None:
    """The validator's exit code and lines, and that ``run``'s loader agrees with it."""
    path = materialize(variant, folder)
    source = str(path)
    try:
        code, lines = run_validate(path)
    except Exception as exc:  # any escape is a traceback for the user
        return _escaped(exc)
    if variant.strict and code != variant.expect_code:
        return f"exit {code}, expected {variant.expect_code}: {lines[:3]}"
    if not variant.strict and code not in (0, 1):
        return f"exit {code}, expected 0 or 1: {lines[:3]}"
    bad = _bad_line(lines, source)
    if bad:
        return bad
    errors = [line for line in lines if not line.startswith("warning: ") and not line.endswith(": OK")]
    if code == 1 and variant.strict and variant.expect_path is not None \
            and not names_path(errors, source, variant.expect_path):
        return f"no error names {variant.expect_path}: {errors[:3]}"
    return _check_loader(path, code, errors)


def _check_loader(path: Path, code: int, errors: list[str]) -> str | None:
    """``run`` and ``replay`` load through ``load_config``: same verdict, same lines."""
    try:
        config = load_config(path)
    except UnreadableConfig as exc:
        return None if code == 2 else f"the loader found it unreadable, validate said {code}: {exc}"
    except ConfigError as exc:
        if code != 1:
            return f"the loader refused it, validate said {code}: {exc.problems[:2]}"
        return None if exc.problems == errors else f"the loader says {exc.problems[:2]}, validate {errors[:2]}"
    except Exception as exc:
        return "the loader " + _escaped(exc)
    if code != 0:
        return f"the loader accepted it, validate said {code}"
    return sane_config(config)


# --- data ------------------------------------------------------------------------------------------

def check_data(variant: DataVariant, folder: Path) -> str | None:
    """``load_bars`` (the file source and replay read through it) refuses naming the line, or
    loads a valid file with every bar."""
    path = materialize(variant, folder)
    try:
        bars = load_bars(path)
    except DataError as exc:
        message = str(exc)
        if variant.expect_line == 0:
            return f"refused a valid file: {message[:200]}"
        if not message.startswith(f"{path}: "):
            return f"the message does not start with the file: {message[:200]!r}"
        if len(message) > len(str(path)) + MAX_MESSAGE:
            return f"a message of {len(message):,} characters: {message[:120]!r}..."
        if variant.expect_line is not None and f": line {variant.expect_line}: " not in message:
            return f"does not name line {variant.expect_line}: {message[:200]}"
        if variant.words and variant.words not in message:
            return f"does not say {variant.words!r}: {message[:200]}"
        return None
    except Exception as exc:
        return _escaped(exc)
    if variant.expect_line != 0:
        return f"accepted {len(bars)} bars (expected a refusal at line {variant.expect_line})"
    if len(bars) != variant.bars:
        return f"loaded {len(bars)} bars, expected {variant.bars}"
    return None


# --- live bars -------------------------------------------------------------------------------------

class _Seen(bt.Strategy):
    def __init__(self) -> None:
        self.bars: list[Bar] = []

    def next(self) -> None:
        self.bars.append(self.data.current_bar())


def check_live_bars(bad: list[tuple[str, Bar]]) -> list[str]:
    """Send each bad bar between two real ones through a ``LiveFeed``: the strategy must see
    only the real bars, and each bad one must be reported once, naming the problem."""
    good = load_bars(SAMPLE)
    sent, expected = [], []
    for i in range(len(bad) + 1):
        expected.append(good.bar(2 * i))
        sent.append(good.bar(2 * i))
        if i < len(bad):  # at a time of its own, after the real bar (a NaN time stays NaN)
            bar = bad[i][1]
            sent.append(bar._replace(ts=float(good.ts[2 * i + 1])) if bar.ts == bar.ts else bar)
    sink = BarSink(maxsize=len(sent) + 2)

    async def produce() -> None:
        await sink.put_status(LIVE)
        for bar in sent:
            await sink.put_bar(bar)
        await sink.end()

    asyncio.run(produce())
    reported: list[str] = []
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(LiveFeed(sink=sink, interval_seconds=300, on_invalid=reported.append))
    cerebro.addstrategy(_Seen)
    seen = cerebro.run(runonce=False, preload=False, exactbars=1)[0]
    failures = [] if seen.bars == expected else [
        f"the strategy saw {len(seen.bars)} bars, {len(expected)} real ones were sent"]
    if len(reported) != len(bad):
        return failures + [f"{len(reported)} bars reported, {len(bad)} bad ones sent"]
    return failures + [f"{name}: {message}" for (name, _), message in zip(bad, reported)
                       if "dropped invalid bar" not in message]
