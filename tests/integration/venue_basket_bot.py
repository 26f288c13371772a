"""Run a basket bot whose orders go to a loopback venue, as a user runs a bot (the CLI, in a
process of its own that a test can kill):

    python tests/integration/venue_basket_bot.py 7402.json     # in the bot's workspace

Until a basket reads a venue's bars (the venue bar sources' part of issue 17), the bot reads its
symbols' bars from files: its config is a valid basket on the file source with the paper broker,
and this runner trades it at Binance instead. The broker's venue is Binance, its connection
pointed at the fake by the ``BINANCE_*`` variables; its broker is the broker contract's
``LockstepBinanceBroker`` (a real ``BinanceBroker`` that plays each symbol's bar at the fake as
the bar arrives: market orders at its open, resting orders against its range), driving the fake
in the test's process through its control routes (``FAKE_BINANCE_URL``). Everything else is the
bot as the CLI runs it: ``trading.cli.run``.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for path in (HERE.parents[1] / "src", HERE.parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from trading.cli.stop_signals import install_stop_signals  # noqa: E402


def main(argv: list[str]) -> int:
    install_stop_signals()  # first, as the bot's own script does
    from contract.binance_lockstep import LockstepBinanceBroker
    from fakes.binance.control import RemoteFake
    from trading.cli.run import main as run
    from trading.runtime import venue_link
    from trading.venues.registry import venues

    fake = RemoteFake(os.environ["FAKE_BINANCE_URL"])

    def broker(connection: Any, config: Any, symbols: tuple[str, ...]) -> Any:
        return LockstepBinanceBroker(venue=connection, symbols=symbols, fake=fake)

    binance = dataclasses.replace(venues().get("binance"), broker=broker)
    venue_link.venue_of = lambda config: (binance, None)  # orders at Binance, bars from files
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
