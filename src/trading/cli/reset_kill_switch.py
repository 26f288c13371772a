"""``tradingbot reset-kill-switch CONFIG``: clear a stopped bot's drawdown kill switch.

Refused while the bot runs (its lease is held), and never creates a database.
"""
from __future__ import annotations

import sys

from trading.cli.common import (
    EXIT_OK,
    maintenance_parser,
    report_config_error,
    report_store_error,
    stopped_bot,
)
from trading.config.env_file import load_env_file
from trading.config.loading import load_config
from trading.core.errors import ConfigError, LeaseHeld, StoreError
from trading.risk import RiskState
from trading.runtime.status import amend_status_file


def main(argv: list[str] | None = None) -> int:
    """0 cleared (or nothing to clear), 1 bad config, no database or the bot runs, 3 store error."""
    p = maintenance_parser(prog="tradingbot reset-kill-switch",
                       description="Clear the max-drawdown kill switch of a stopped bot.")
    args = p.parse_args(argv)
    try:
        load_env_file()  # TRADINGBOT_DATABASE_URL may be there, as for run
        config = load_config(args.config)
    except ConfigError as exc:
        return report_config_error(exc)
    try:
        with stopped_bot(config, args.db) as store:
            raw = store.load_risk_state(config.bot_id)
            if not raw or not raw.get("kill_switch"):
                print(f"bot {config.bot_id}: the kill switch is not on; nothing to reset")
                return EXIT_OK
            state = RiskState.from_dict(raw)
            reason = state.kill_reason
            state.reset_kill_switch()
            store.save_risk_state(config.bot_id, state.to_dict())
    except (StoreError, LeaseHeld) as exc:
        return report_store_error(config.bot_id, exc, command="tradingbot reset-kill-switch")
    amend_status_file(config.bot_id, {"kill_switch": False})  # what `tradingbot status` shows
    print(f"bot {config.bot_id}: kill switch cleared (it was on: {reason}). "
          "Entries resume at the next start; the drawdown peak restarts from the current equity.")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
