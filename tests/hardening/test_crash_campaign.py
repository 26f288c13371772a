"""The crash campaign in small (the full one: ``python tests/hardening/crash_campaign.py``): a
bot on the loopback Binance and on the loopback TWS, SIGKILLed around its order placements and
while its checkpoint waits for a lock, restarts each time without losing, doubling or leaving
unprotected anything, and ends with the trades of a run that was never killed."""
from __future__ import annotations

import pytest

from crash_campaign import HISTORY, binance_campaign, ibkr_campaign

KILLS = 4
# seed 11's kills land within the first 25 or so live bars (they follow the order requests); the
# market goes on long enough after them for the trades of the restarted bot (about ten in all)
# to be compared with the clean run's
BARS = HISTORY + 150


@pytest.mark.parametrize("campaign", [binance_campaign, ibkr_campaign],
                         ids=["binance", "ibkr"])
def test_kills_around_order_placement_lose_double_and_expose_nothing(tmp_path, campaign):
    figures = campaign(tmp_path, KILLS, seed=11, bars=BARS)
    assert figures.kills >= KILLS - 1, figures.line()  # a kill planned at the end may not land
    assert figures.trades >= 5, figures.line()  # trades to compare, around the kills and after
    assert figures.clean, figures.line() + "\n" + "\n".join(figures.notes)
