"""--set PATH=VALUE: one config key changed for one run, checked exactly like the file."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from trading.config.loading import check_config
from trading.config.overrides import apply_overrides, parse_override
from trading.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

DOC = {"risk_management": {"stop_loss_pct": 5.0},
       "strategy": {"entry_logic": {"name": "RSIBBEntryMixin"},
                    "exit_logic": [{"name": "RSIBBExitMixin"}, {"name": "TimeBasedExitMixin"}]}}


def _set(*texts: str) -> dict:
    return apply_overrides(DOC, [parse_override(t) for t in texts])


def test_values_are_read_as_json_else_as_text():
    doc = _set("risk_management.stop_loss_pct=3", "data.interval=1h", "data.file_path=\"a b.csv\"",
               "risk_management.trailing_stop.enabled=true", "strategy.entry_logic.params.e_bb_dev=2.5")
    assert doc["risk_management"] == {"stop_loss_pct": 3, "trailing_stop": {"enabled": True}}
    assert doc["data"] == {"interval": "1h", "file_path": "a b.csv"}
    assert doc["strategy"]["entry_logic"]["params"] == {"e_bb_dev": 2.5}
    assert DOC["risk_management"] == {"stop_loss_pct": 5.0}  # the original is left alone


def test_list_items_by_index_in_either_spelling_and_null_removes_a_key():
    doc = _set("strategy.exit_logic[1].params.x_max_bars=30", "strategy.exit_logic.0.name=ATRExitMixin",
               "risk_management.stop_loss_pct=null")
    assert doc["strategy"]["exit_logic"] == [{"name": "ATRExitMixin"},
                                             {"name": "TimeBasedExitMixin", "params": {"x_max_bars": 30}}]
    assert doc["risk_management"] == {}


@pytest.mark.parametrize("text, message", [
    ("stop_loss_pct", "expected PATH=VALUE"),
    ("=3", "expected PATH=VALUE"),
    ("risk..stop=1", "not a config key path"),
    ("strategy.exit_logic.name=X", "strategy.exit_logic is a list; name an item by its index, "
                                   "e.g. strategy.exit_logic[0].name"),
    ("risk_management.stop_loss_pct.value=1", "risk_management.stop_loss_pct is a number, not an object"),
    ("strategy.exit_logic[5].name=X", "strategy.exit_logic has 2 item(s); index 5 would leave a hole"),
])
def test_malformed_overrides_say_what_is_wrong(text, message):
    with pytest.raises(ConfigError) as caught:
        apply_overrides(DOC, [parse_override(text)])
    assert f"--set {text}: " in str(caught.value) and message in str(caught.value)


def test_overridden_config_is_validated_like_the_file_and_names_the_set(tmp_path):
    config = tmp_path / "0042.json"
    config.write_text((__import__("pathlib").Path(__file__).resolve().parents[2]
                       / "config" / "trading" / "0001.json").read_text())
    overrides = [parse_override("risk_management.stop_loss_pct=-3"),
                 parse_override("strategy.entry_logic.params.e_rsi_oversld=25"),
                 parse_override("data.interval=7m")]
    with pytest.raises(ConfigError) as caught:
        check_config(config, overrides)
    problems = caught.value.problems
    assert f"{config}: risk_management.stop_loss_pct: must be >= 0, got -3 " \
           "(from --set risk_management.stop_loss_pct=-3)" in problems
    assert any("e_rsi_oversld: unknown parameter for RSIBBVolumeEntryMixin; did you mean "
               "'e_rsi_oversold'?" in p and p.endswith("(from --set strategy.entry_logic.params."
                                                       "e_rsi_oversld=25)") for p in problems)
    assert any(p.startswith(f"{config}: data.interval: must be one of") for p in problems)
    assert len(problems) == 3

    good = check_config(config, [parse_override("risk_management.stop_loss_pct=2.5")])
    assert good.config.risk.stop_loss_pct == 2.5
    assert json.loads(config.read_text())["risk_management"]["stop_loss_pct"] == 5.0  # file untouched


def _readme_set_example() -> list[str]:
    """The ``--set`` arguments of the README's replay example, as a shell would pass them."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(tradingbot replay 0001 --set .*?)```", readme, re.S)
    assert block is not None, "the README's --set example is gone"
    words = shlex.split(block.group(1).replace("\\\n", " "))
    return [words[i + 1] for i, word in enumerate(words) if word == "--set"]


def test_the_readme_set_example_works_as_written_on_the_demo_config():
    texts = _readme_set_example()
    assert len(texts) >= 3
    checked = check_config(REPO / "config" / "trading" / "0001.json",
                           [parse_override(t) for t in texts])
    config = checked.config
    assert [x.name for x in config.strategy.exits] == ["RSIBBExitMixin", "TimeBasedExitMixin"]
    assert config.strategy.exits[1].params["x_max_bars"] == 30
    assert config.strategy.exits[0].params["x_rsi_overbought"] == 75
    assert config.risk.stop_loss_pct == 3


def test_one_exit_object_is_a_list_of_one_and_a_partial_new_item_is_refused_with_the_fix():
    one = {"strategy": {"exit_logic": {"name": "RSIBBExitMixin"}}}
    added = apply_overrides(one, [parse_override('strategy.exit_logic[1]={"name": "ATRExitMixin"}')])
    assert added["strategy"]["exit_logic"] == [{"name": "RSIBBExitMixin"}, {"name": "ATRExitMixin"}]
    with pytest.raises(ConfigError) as caught:
        apply_overrides(one, [parse_override("strategy.exit_logic[1].params.x_max_bars=30")])
    assert "strategy.exit_logic has 1 item(s), so strategy.exit_logic[1] does not exist yet: add " \
           "the whole item in one --set, e.g. --set 'strategy.exit_logic[1]={\"name\": " in str(caught.value)
    with pytest.raises(ConfigError, match="index 3 would leave a hole"):
        apply_overrides(one, [parse_override("strategy.exit_logic[3]={}")])


# --- issue 17: a basket for one run ---------------------------------------------------------------

BASKET_SET = ['trading.symbol=null', 'trading.symbols=["ETCBTC", "XLMBTC"]', 'data.symbol=null',
              'data.file_path=data/sample/{symbol}-5m.csv', 'trading.max_positions=2']


def test_set_takes_a_json_list_for_trading_symbols():
    (override,) = [parse_override(t) for t in shlex.split(
        """'trading.symbols=["ETCBTC", "XLMBTC"]'""")]
    assert override.path == ("trading", "symbols") and override.value == ["ETCBTC", "XLMBTC"]
    doc = apply_overrides({"trading": {"symbols": ["ETHBTC"]}},
                          [override, parse_override("trading.symbols[2]=TRXBTC"),
                           parse_override("trading.symbols.0=DASHBTC")])
    assert doc["trading"]["symbols"] == ["DASHBTC", "XLMBTC", "TRXBTC"]


def test_set_turns_the_one_symbol_demo_into_a_basket_for_one_run():
    checked = check_config(REPO / "config" / "trading" / "0001.json",
                           [parse_override(t) for t in BASKET_SET], base_dir=REPO)
    trading, data = checked.config.trading, checked.config.data
    assert trading.symbols == ("ETCBTC", "XLMBTC") and trading.is_basket
    assert trading.max_positions == 2
    assert data.file_for("XLMBTC") == REPO / "data" / "sample" / "XLMBTC-5m.csv"
    assert checked.document["trading"]["symbols"] == ["ETCBTC", "XLMBTC"]
    assert "symbol" not in checked.document["trading"]


def test_a_basket_set_over_a_kept_symbol_names_the_set_that_caused_it():
    config = REPO / "config" / "trading" / "0001.json"
    texts = [t for t in BASKET_SET if t != "trading.symbol=null"]
    with pytest.raises(ConfigError) as caught:
        check_config(config, [parse_override(t) for t in texts])
    assert caught.value.problems == [
        f"{config}: trading.symbols: give trading.symbol (one symbol) or trading.symbols (a "
        "basket), not both: symbol 'ETHBTC' and symbols ['ETCBTC', 'XLMBTC'] differ; remove one "
        "(from --set trading.symbols=[\"ETCBTC\", \"XLMBTC\"])"]


@pytest.mark.parametrize("text, line", [
    ('trading.symbols=["ETCBTC","XLMBTC","ETCBTC"]',
     "trading.symbols[2]: 'ETCBTC' is listed twice (also at [0]); list each once"),
    ("trading.symbols=ETCBTC,XLMBTC", "trading.symbols: must be an array, got 'ETCBTC,XLMBTC'"),
], ids=["a symbol twice", "no JSON list"])
def test_a_wrong_basket_set_is_named_with_its_set(text, line):
    config = REPO / "config" / "trading" / "0007.json"
    with pytest.raises(ConfigError) as caught:
        check_config(config, [parse_override(text)])
    assert caught.value.problems == [f"{config}: {line} (from --set {text})"]
