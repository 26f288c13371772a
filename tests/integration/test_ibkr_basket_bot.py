"""A basket bot trading at the loopback TWS (issue 17): three symbols on one connection, one
contract each, from one cash; its trades are those of a replay of the same bars, every order
reached IB once at its own symbol's contract, and IB's positions are the bot's.

The bot runs in this process (``LiveTradingBot``, as ``test_venue_template`` runs one) and reads
its bars from files: until a basket reads a venue's bars (the data side of issue 17) its orders
go to IB through the broker contract's lockstep ``IbkrBroker``, which plays each symbol's bar at
the fake TWS as the bar arrives (market orders at its open, resting ones against its range).
The symbols are the samples' BTC pairs, listed at the fake as crypto contracts (8-decimal
quantities, a fine tick) so that IB's grid rounds far below what a replay would notice."""
from __future__ import annotations

import dataclasses
from typing import Iterator

import pytest

from basket_venue_workspace import BASKET, BasketVenueWorkspace, cut_samples, same_trades
from contract.ibkr_lockstep import LockstepIbkrBroker
from fakes.tws import ContractSpec, FakeTWS
from trading.config.loading import load_config
from trading.core.client_ids import symbol_of
from trading.runtime import venue_link
from trading.runtime.bot import LiveTradingBot
from trading.venues.registry import venues

CASH = 10_000.0  # USD at the fake, and the config's initial balance (the replay's)
CON_IDS = {"ETCBTC": 900_001, "XLMBTC": 900_002, "TRXBTC": 900_003}


@pytest.fixture
def tws() -> Iterator[FakeTWS]:
    fake = FakeTWS(cash=CASH).start()
    for symbol, con_id in CON_IDS.items():
        fake.add_contract(ContractSpec(con_id, symbol, sec_type="CRYPTO", exchange="PAXOS",
                                       currency="USD", min_tick=1e-12, min_size=1e-8,
                                       size_increment=1e-8, valid_exchanges="PAXOS",
                                       stock_type="", market_rule_ids="239"))
    fake.set_fill_policy(auto=False, per_share=0.0, minimum=0.0)
    yield fake
    fake.stop()


def test_a_basket_bot_at_ibkr_trades_every_symbol_as_a_replay_of_its_bars(tmp_path, tws,
                                                                        monkeypatch):
    cut_samples(tmp_path / "bars")
    ws = BasketVenueWorkspace(tmp_path, "7502")
    ws.write_config(broker={"initial_balance": CASH}, ibkr={"sec_type": "CRYPTO"})
    monkeypatch.chdir(ws.root)  # the journal and status file go under the workspace
    monkeypatch.setenv("IBKR_PORT", str(tws.port))

    def broker(connection, config, symbols):
        return LockstepIbkrBroker(venue=connection, symbols=symbols, tws=tws, fee_rate=0.0)

    ibkr = dataclasses.replace(venues().get("ibkr"), broker=broker)
    monkeypatch.setattr(venue_link, "venue_of", lambda config: (ibkr, None))
    bot = LiveTradingBot(load_config(ws.config_path))
    summary = bot.run()

    trades = ws.basket_trades()
    assert summary.trades == len(trades) >= 6
    assert {t[0] for t in trades} == set(BASKET)
    assert {t[7] for t in trades} >= {"stop_loss", "take_profit"}
    same_trades(trades, ws.replayed_trades())
    orders = tws.orders()
    refs = [o.order_ref for o in orders]
    assert len(refs) == len(set(refs)), "an order was placed twice"
    assert all(symbol_of(o.order_ref, BASKET) == o.spec.symbol for o in orders)
    held = ws.holdings()
    at_ib = {con_id: size for (_, con_id), size in tws.positions().items()}
    for symbol, con_id in CON_IDS.items():
        assert at_ib.get(con_id, 0.0) == pytest.approx(held.get(symbol, 0.0), abs=1e-8)
    status = bot.get_status()["venue"]
    assert sorted(status["contracts"]) == sorted(BASKET)
    assert status["last_reconcile"] == "the account agrees with the database"
