"""A new venue is its package and nothing else: the shipped template (trading/venues/_template),
copied as a user would copy it and installed as a plugin (an entry point in the
``tradingbot.venues`` group, found on the import path like an installed distribution), shows up
in the config schema and the validator, and a bot trades on it end to end, without a line of
the bot changed."""
from __future__ import annotations

import shutil
from pathlib import Path

import backtrader as bt
import pytest

from bot_workspace import SAMPLE, BotWorkspace
from contract.test_broker_contract import flat, frame
from trading.core.settings import BrokerConfig, DataConfig
from trading.runtime.io_thread import IOThread
from trading.venues.registry import VenueRequest
from trading.config.loading import load_config
from trading.config.schema import export_schema
from trading.config.validator import validate_document
from trading.runtime.bot import LiveTradingBot
from trading.venues import registry

TEMPLATE = Path(__file__).resolve().parents[2] / "src" / "trading" / "venues" / "_template"
BUSY = {"entry_logic": {"name": "RSIOrBBEntryMixin", "params": {"e_rsi_oversold": 45}},
        "exit_logic": {"name": "RSIOrBBExitMixin", "params": {"x_rsi_overbought": 55}}}


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The template copied to a package of its own and registered as an installed plugin."""
    site = tmp_path / "site"
    shutil.copytree(TEMPLATE, site / "examplevenue")
    info = site / "examplevenue-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: examplevenue\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[tradingbot.venues]\nexample = examplevenue:VENUE\n")
    monkeypatch.syspath_prepend(str(site))
    registry.venues.cache_clear()
    yield registry.venues().get("template")
    registry.venues.cache_clear()


def test_the_template_is_not_a_venue_until_it_is_installed():
    registry.venues.cache_clear()
    assert registry.venues().for_data_source("template") is None
    assert {v.name for v in registry.venues()} >= {"binance", "ibkr", "yahoo"}


def test_an_installed_venue_is_in_the_schema_and_the_validator(plugin, tmp_path):
    assert plugin is not None and plugin.name == "template"
    props = export_schema()["properties"]
    assert "template" in props["data"]["properties"]["data_source"]["enum"]
    assert "template_paper" in props["broker"]["properties"]["type"]["enum"]
    ws = BotWorkspace(tmp_path / "bot")
    doc = ws.write_config(broker={"type": "template_paper"}, data={"data_source": "template"})
    report = validate_document(doc, "7001.json", env={})
    assert report.errors == [] and report.warnings == []
    doc["data"]["data_source"] = "file"
    assert validate_document(doc, "7001.json", env={}).errors == [
        "7001.json: data.data_source: broker 'template_paper' trades at Template venue, on its "
        "prices: it needs data_source 'template', got 'file' (trade other data with the paper or "
        "mock broker)"]


def test_a_bot_trades_on_an_installed_venue_end_to_end(plugin, tmp_path, monkeypatch):
    ws = BotWorkspace(tmp_path / "bot")
    monkeypatch.chdir(ws.root)  # the journal and status file go under the workspace
    ws.write_config(broker={"type": "template_paper"},
                    data={"data_source": "template", "lookback_bars": 100}, strategy=BUSY,
                    risk_management={"stop_loss_pct": 0, "take_profit_pct": 0,
                                     "max_daily_trades": 0, "max_daily_loss": 0},
                    trading={"max_drawdown_pct": 0})
    bot = LiveTradingBot(load_config(ws.config_path))
    summary = bot.run()
    assert summary.trades >= 20 and summary.live_bars > 5000
    orders = ws.query("SELECT client_order_id, status, venue_order_id FROM orders")
    # the run's end waits for the answer to an order sent on the last bar: none is left
    # 'submitted' for a restart to look up
    assert len(orders) >= 40
    assert [o for o in orders if not (o[1] == "filled" and o[2])] == []
    assert bot.get_status()["venue"]["venue"] == "template"
    assert bot.get_status()["venue"]["last_reconcile"] == "the account agrees with the database"


class BuyEach(bt.Strategy):
    """Buys ``sizes[i]`` of the i-th data on the first bar."""

    params = (("sizes", ()),)

    def next(self) -> None:
        if len(self) == 1:
            for data, size in zip(self.datas, self.p.sizes):
                self.buy(data=data, size=size)


def test_the_templates_broker_trades_a_basket_from_one_cash(plugin, tmp_path):
    """A copied venue's broker gets the basket and trades each symbol at its own price; its
    bars (one file, one symbol) are for its source to serve per symbol."""
    from brokers.venue_broker import VenueBroker

    symbols = ("AAA", "BBB")
    data = DataConfig(data_source="template", symbol="AAA", interval="5m", lookback_bars=5,
                      retry_interval=1, file_path=SAMPLE, speed=0, symbols=symbols)
    connection = plugin.connect(VenueRequest(broker=None, data=data, settings=None,
                                             symbol="AAA", symbols=symbols, env={}))
    io = IOThread(name="template-basket-io")
    io.start()
    connection.bind(io.submit)
    try:
        io.submit(connection.start(), name="start").result(30)
        connection.prices.update(AAA=100.0, BBB=50.0)
        broker = plugin.broker(connection, BrokerConfig("template_paper", 0.0, 0.0, 0.0),
                               symbols)
        assert isinstance(broker, VenueBroker)
        cerebro = bt.Cerebro(stdstats=False)
        for symbol in symbols:
            cerebro.adddata(bt.feeds.PandasData(dataname=frame([flat(1.0)] * 3)), name=symbol)
        cerebro.broker = broker
        cerebro.addstrategy(BuyEach, sizes=(2, 4))
        cerebro.run()
        broker.settle(30.0)  # as a bot's run ends: the answers to its market orders (bounded)
        broker.next()
    finally:
        io.stop(timeout=5)
    assert {d._name: broker.getposition(d).size for d in cerebro.datas} == {"AAA": 2, "BBB": 4}
    assert connection.positions == {"AAA": 2, "BBB": 4}
    assert connection.cash == broker.getcash() == 10_000.0 - 2 * 100 - 4 * 50
