"""``tradingbot reset-kill-switch CONFIG``: clear a bot's drawdown kill switch in its database."""
from __future__ import annotations

import sys

from trading.cli.common import EXIT_RUNTIME, command_parser, report_config_error
from trading.config.loading import load_config
from trading.core.errors import ConfigError, StoreError
from trading.persistence.repository import Store
from trading.risk import RiskState


def main(argv: list[str] | None = None) -> int:
    p = command_parser(prog="tradingbot reset-kill-switch",
                                description="Clear the max-drawdown kill switch of a stopped bot.")
    p.add_argument("config", help="0001, 0001.json or a path to a config file")
    p.add_argument("--db", metavar="URL", help="database URL (default from the config)")
    args = p.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return report_config_error(exc)

    try:
        store = Store(args.db or config.database_url)
        try:
            raw = store.load_risk_state(config.bot_id)
            if not raw or not raw.get("kill_switch"):
                print(f"bot {config.bot_id}: the kill switch is not on; nothing to reset")
                return 0
            state = RiskState.from_dict(raw)
            reason = state.kill_reason
            state.reset_kill_switch()
            store.save_risk_state(config.bot_id, state.to_dict())
        finally:
            store.close()
    except StoreError as exc:
        print(f"bot {config.bot_id}: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    print(f"bot {config.bot_id}: kill switch cleared (it was on: {reason}). "
          "Entries resume at the next start; the drawdown peak restarts from the current equity.")
    return 0
