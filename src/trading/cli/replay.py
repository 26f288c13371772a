"""``tradingbot replay CONFIG... [--data FILE] ...``: replay history and write a report.

    python src/trading/replay.py 0001.json --data data/sample/ETHBTC-5m.csv
    tradingbot replay 0001 --start 2018-01-15 --end 2018-01-20T12:00Z --set risk_management.stop_loss_pct=3
    tradingbot replay 0001 0003 0004 --data data/sample/ETHBTC-5m.csv     # side by side
    tradingbot replay 0007 --data 'data/sample/{symbol}-5m.csv' --symbol XLMBTC   # a basket

By default it replays the config's own ``data.file_path`` with ``data.lookback_bars`` of warm-up,
so it gives the trades ``tradingbot run`` gives on that file. Each config's report (trades.csv,
equity.csv, metrics.json, equity.png, trades.png, report.html) goes to a fresh
``replays/<bot_id>/<UTC time>/`` folder, or ``--out`` (one config) / ``--out/<bot_id>`` (several).
A basket (``trading.symbols``) replays every symbol's file and adds a table per symbol.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from trading.backtest.bars import BarLoader, ReplayData
from trading.backtest.chart_worker import ChartWorker
from trading.backtest.outdirs import REPLAY_ROOT, OutputExists, claim_dir, fresh_dir
from trading.backtest.periods import UNITS
from trading.backtest.comparison import common_spans, warn_symbol_mismatch
from trading.backtest.provenance import data_paths, run_data
from trading.backtest.replay import check_warmup, config_label, run_replay
from trading.backtest.report import write_report
from trading.backtest.report_inputs import ReplayReport
from trading.backtest.spans import Span
from trading.cli import tables
from trading.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNREADABLE,
    EXIT_USAGE,
    command_parser,
)
from trading.cli.progress import ProgressBar
from trading.cli.research_args import add_research_arguments, fail
from trading.config.loading import CheckedConfig, check_config
from trading.config.secrets import register_config_secrets
from trading.core.settings import interval_label
from trading.core.errors import (
    ConfigError,
    MixinError,
    TradingBotError,
    UnreadableConfig,
)
from trading.runtime.logging_setup import setup_warnings_logging


def _parser() -> argparse.ArgumentParser:
    parser = command_parser(
        prog="tradingbot replay",
        description="Replay historical bars through one or more configs' strategies and write a "
                    "report per config. Without options it replays the config's data.file_path "
                    "with data.lookback_bars of warm-up: the trades 'tradingbot run' makes on it.")
    parser.add_argument("configs", nargs="+", metavar="CONFIG",
                        help="0001, 0001.json (both mean config/trading/0001.json) or a path; "
                             "several are replayed on the same bars and compared")
    add_research_arguments(parser)
    parser.add_argument("--out", type=Path,
                        help="output folder (default: a fresh replays/<bot_id>/<UTC time>/); with "
                             "several configs each gets OUT/<bot_id>/")
    parser.add_argument("--breakdown", action="append", choices=UNITS, default=[],
                        help="print (and add to metrics.json) a table of pnl and trades per day, "
                             "week or month (repeatable; default: month)")
    parser.add_argument("--no-pictures", action="store_true",
                        help="skip equity.png and trades.png (report.html is always written)")
    parser.add_argument("--symbol", metavar="SYMBOL",
                        help="a basket's symbol to draw alone in trades.png and to open "
                             "report.html on (default: a panel per symbol)")
    return parser


def _fail(message: str, code: int, details: list[str] | None = None) -> int:
    return fail("replay", message, code, details)


def _check_all(names: list[str], overrides: list) -> list[CheckedConfig] | int:
    """Every config checked before anything runs; on problems, print them all, return the code."""
    checked, problems, code = [], [], EXIT_OK
    for name in names:
        try:
            checked.append(check_config(name, overrides))
            register_config_secrets(checked[-1].document, os.environ)
        except ConfigError as exc:
            problems += exc.problems
            code = max(code, EXIT_UNREADABLE if isinstance(exc, UnreadableConfig) else EXIT_INVALID)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return code
    return checked


def _out_dirs(checked: list[CheckedConfig], out: Path | None) -> list[Path]:
    if out is None:
        return [fresh_dir(REPLAY_ROOT, c.config.bot_id) for c in checked]
    if len(checked) == 1:
        return [claim_dir(out)]
    names: list[str] = []
    for c in checked:  # the same config twice gets 0001, 0001-2
        name, k = c.config.bot_id, 2
        while name in names:
            name, k = f"{c.config.bot_id}-{k}", k + 1
        names.append(name)
    return [claim_dir(out / name) for name in names]


def main(argv: list[str] | None = None) -> int:
    """0 done, 1 invalid config or unusable data, 2 unreadable config or usage error."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return int(exc.code or 0) and EXIT_USAGE
    setup_warnings_logging()
    checked = _check_all(args.configs, args.overrides)
    if isinstance(checked, int):
        return checked
    if args.symbol:
        strangers = [c.config for c in checked if args.symbol not in c.config.trading.symbols]
        if strangers:
            return _fail("; ".join(f"--symbol {args.symbol}: {config_label(c)} trades "
                                   f"{', '.join(c.trading.symbols)}, not {args.symbol}"
                                   for c in strangers) + "; pick one of its symbols", EXIT_USAGE)
    loader = BarLoader(args.data, args.start, args.end)
    console = tables.console()
    # pictures: a helper process imports matplotlib and draws while this one replays
    pictures = None if args.no_pictures else ChartWorker.start()
    try:
        return _replay_all(args, checked, loader, console, pictures)
    finally:
        if pictures is not None:
            pictures.close()


def _replay_all(args: argparse.Namespace, checked: list[CheckedConfig], loader: BarLoader,
                console: Any, pictures: ChartWorker | None) -> int:
    done: list[tuple[str, ReplayReport, Path]] = []
    try:
        # unusable data, or a warm-up that leaves nothing to trade, is reported before any
        # folder is made
        datas = [loader.load(c.config) for c in checked]
        for c, data in zip(checked, datas):
            for symbol, path in data_paths(data.provenance):
                warn_symbol_mismatch(c.config, path, symbol)
        spans = _spans(checked, datas, args.warmup)
        outs = _out_dirs(checked, args.out)
        for c, data, span, out in zip(checked, datas, spans, outs):
            progress = (ProgressBar(span.steps, f"replay {c.config.bot_id}")
                        if not args.no_progress and sys.stderr.isatty() else None)
            result = run_replay(c.config, span.bars, span.warmup, on_progress=progress,
                                basket=span.basket)
            if progress is not None:
                progress.finish()
            provenance = run_data(data.provenance, span.bars, span.basket)
            report = ReplayReport.of(c, result, provenance, args.breakdown, focus=args.symbol or "")
            if pictures is not None:  # first, so they are drawn while the rest is written
                pictures.draw(out, report)
            write_report(out, report, pictures=False)
            done.append((c.config.bot_id, report, out))
    except OutputExists as exc:
        return _fail(str(exc), EXIT_USAGE)
    except (ConfigError, MixinError) as exc:
        return _fail(str(exc), EXIT_INVALID, getattr(exc, "problems", None))
    except TradingBotError as exc:
        return _fail(str(exc), EXIT_INVALID)
    except OSError as exc:
        return _fail(f"cannot write the report: {exc}", EXIT_INVALID)
    if len(done) == 1:
        _print_one(console, done[0][1], args.breakdown or ["month"])
    try:
        if pictures is not None:
            pictures.finish()
    except OSError as exc:
        return _fail(f"cannot write the report: {exc}", EXIT_INVALID)
    if len(done) == 1:
        _, report, out = done[0]
        console.print(f"files in {out}/: " + ", ".join(sorted(p.name for p in out.iterdir())))
    else:
        columns = [(_label(bot_id, i, done), r.document["summary"]) for i, (bot_id, r, _) in enumerate(done)]
        # each symbol's own warm-up (a basket's result counts its warm-up in time steps)
        warmups = [f"{r.views[0].warmup:,} x {interval_label(r.result.data.interval_seconds)}"
                   for _, r, _ in done]
        extra = [("Warm-up bars", warmups)]
        same = "traded bars"
        if any(r.is_basket for _, r, _ in done):  # the same times, each config its own symbols
            extra.insert(0, ("Symbols", [_symbols_cell(r) for _, r, _ in done]))
            same = "traded span"
        console.print(tables.comparison_table(columns, f"Replay of {len(done)} configs on the same "
                                              f"{same}", extra=extra))
        for label, (_, _, out) in zip((c for c, _ in columns), done):
            console.print(f"  {label}: {out}/")
    return EXIT_OK


def _spans(checked: list[CheckedConfig], datas: list[ReplayData], warmup: int | None) -> list[Span]:
    """What each config replays: alone, its bars (a basket's: every symbol's) after its warm-up;
    side by side, the span every config (and every symbol of a basket) can trade."""
    if len(checked) == 1:
        data = datas[0]
        return [Span(data.bars, check_warmup(checked[0].config, data.bars, warmup), data.basket)]
    return common_spans([c.config for c in checked], [d.bars for d in datas], warmup,
                        [d.basket for d in datas])


def _symbols_cell(report: ReplayReport) -> str:
    symbols = [view.symbol for view in report.views]
    return symbols[0] if len(symbols) == 1 else f"basket of {len(symbols)}"


def _label(bot_id: str, index: int, done: list) -> str:
    same = [i for i, (b, _, _) in enumerate(done) if b == bot_id]
    return bot_id if len(same) == 1 else f"{bot_id} #{same.index(index) + 1}"


def _print_one(console, report: ReplayReport, breakdown: list[str]) -> None:
    result = report.result
    document = report.document
    if report.is_basket:
        symbol_bars = sum(len(view.bars) for view in report.views)
        rate = symbol_bars / result.seconds if result.seconds else 0.0
        title = (f"Replay {report.title} ({result.bars:,} time steps, {symbol_bars:,} bars of "
                 f"{len(report.views)} symbols, {report.views[0].warmup:,} warm-up bars each, "
                 f"{rate:,.0f} bars/s)")
    else:
        rate = result.bars / result.seconds if result.seconds else 0.0
        title = (f"Replay {report.title} ({result.bars:,} bars, {result.warmup_bars:,} warm-up, "
                 f"{rate:,.0f} bars/s)")
    console.print(title)
    console.print(tables.summary_table(document["summary"]))
    currency = document["summary"].get("quote_currency") or ""
    if "by_symbol" in document:
        console.print(tables.symbol_table(document["by_symbol"], currency))
    if document["by_exit_reason"]:
        console.print(tables.exit_reason_table(document["by_exit_reason"], currency))
    for unit in dict.fromkeys(breakdown):
        console.print(tables.period_table(document[f"by_{unit}"], unit, currency))
    console.print(tables.risk_table(document["risk"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
