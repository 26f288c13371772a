"""What a finished run tells the user, on the terminal and in the log."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunSummary:
    """The end-of-run figures of one bot."""

    bot_id: str
    bars: int
    live_bars: int
    trades: int
    pnl: float
    cash: float
    value: float
    open_position: bool
    database: str
    log_file: str
    journal: str | None
    entries_refused: str = ""  # "max_drawdown_pct 31, ..." (empty when none)
    kill_switch: str = ""  # why the kill switch is on (empty when off)
    status_file: str | None = None  # the status file written at the end (None: not written)

    def format(self) -> str:
        lines = [
            f"bot {self.bot_id}: {self.live_bars} new bars traded this run "
            f"({self.bars - self.live_bars} history bars for warm-up)",
            f"  trades (all runs): {self.trades}   realised pnl: {self.pnl:.4f}",
            f"  cash: {self.cash:.4f}   value: {self.value:.4f}   "
            f"open position: {'yes' if self.open_position else 'no'}",
        ]
        if self.kill_switch:
            lines.append(f"  kill switch ON: {self.kill_switch}")
        if self.entries_refused:
            lines.append(f"  entries refused this run (by rule): {self.entries_refused}")
        lines += [f"  database: {self.database}", f"  log file: {self.log_file}"]
        if self.journal:
            lines.append(f"  journal:  {self.journal}")
        if self.status_file:
            lines.append(f"  status file: {self.status_file}")
        return "\n".join(lines)
