"""The config JSON Schema: closed, described, the source of defaults, and published unchanged."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from jsonschema import Draft202012Validator

from strategies.mixins.registry import default_registry
from trading.cli import schema as schema_cli
from trading.config.schema import apply_defaults, config_schema, export_schema

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "config" / "schema" / "trading_bot.schema.json"
DOCUMENTED = ROOT / "tests" / "fixtures" / "documented_config.json"


def documented() -> dict[str, Any]:
    return json.loads(DOCUMENTED.read_text(encoding="utf-8"))


def subschemas(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object under ``node`` with where it stands."""
    if isinstance(node, dict):
        if "type" in node or "properties" in node:
            yield path, node
        for key, value in node.items():
            if key not in ("default", "examples", "enum", "const"):
                yield from subschemas(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from subschemas(value, f"{path}/{i}")


def test_published_schema_file_is_what_tradingbot_schema_prints(capsys):
    assert schema_cli.main([]) == 0
    assert capsys.readouterr().out == PUBLISHED.read_text(encoding="utf-8"), (
        "config/schema/trading_bot.schema.json is stale: run "
        "'tradingbot schema --out config/schema/trading_bot.schema.json'")


def test_schema_out_writes_the_same_text(tmp_path, capsys):
    target = tmp_path / "nested" / "schema.json"
    assert schema_cli.main(["--out", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == PUBLISHED.read_text(encoding="utf-8")
    assert str(target) in capsys.readouterr().out


def test_published_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(json.loads(PUBLISHED.read_text(encoding="utf-8")))


def test_documented_config_validates_against_the_published_schema():
    published = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    assert list(Draft202012Validator(published).iter_errors(documented())) == []


def test_documented_config_may_name_the_schema():
    doc = {"$schema": "../schema/trading_bot.schema.json", **documented()}
    assert list(Draft202012Validator(export_schema()).iter_errors(doc)) == []


@pytest.mark.parametrize("build", [config_schema, export_schema])
def test_every_key_is_described_and_every_object_closed(build):
    for path, node in subschemas(build()):
        steps = path.split("/")
        if "if" in steps:  # a condition's test, not a key the user writes
            continue
        if "properties" in node and steps[-1] != "then":
            assert node.get("additionalProperties") is False, path
        for key, prop in node.get("properties", {}).items():
            assert prop.get("description"), f"{path}/properties/{key} has no description"


def test_published_schema_carries_every_mixins_params_for_editors():
    published = export_schema()
    strategy = published["properties"]["strategy"]["properties"]
    specs = {"entry": strategy["entry_logic"], "exit": published["$defs"]["exit_mixin"]}
    registry = default_registry()
    for kind, spec in specs.items():
        assert spec["properties"]["name"]["examples"] == registry.names(kind)
        rules = {rule["if"]["properties"]["name"]["const"]: rule["then"]["properties"]["params"]
                 for rule in spec["allOf"]}
        assert sorted(rules) == registry.names(kind)
        for cls in registry.classes(kind):
            assert rules[cls.name]["properties"] == {p.name: p.json_schema() for p in cls.params}
            assert rules[cls.name]["additionalProperties"] is False


def test_an_editor_flags_a_misspelt_param_and_a_file_source_without_a_path():
    doc = documented()
    doc["strategy"]["entry_logic"]["params"]["e_rsi_perod"] = 14
    doc["broker"]["type"] = "mock"
    doc["data"]["data_source"] = "file"
    paths = sorted(e.json_path for e in Draft202012Validator(export_schema()).iter_errors(doc))
    assert paths == ["$.data", "$.strategy.entry_logic.params"]


def test_defaults_fill_absent_sections_and_keys_without_touching_given_values():
    given = {"broker": {"type": "mock", "commission": 0.002}, "trading": {"symbol": "ETHBTC"},
             "data": {"data_source": "binance"},
             "strategy": {"entry_logic": {"name": "RSIBBEntryMixin"},
                          "exit_logic": [{"name": "RSIBBExitMixin"}]},
             "risk_management": {"trailing_stop": {"enabled": True}}}
    filled = apply_defaults(given, config_schema())
    assert filled["broker"] == {"type": "mock", "commission": 0.002, "initial_balance": 10000,
                                "slippage_pct": 0, "endpoints": {}}
    assert filled["risk_management"]["trailing_stop"] == {"enabled": True, "activation_pct": 0,
                                                          "trailing_pct": 2.0}
    assert filled["notifications"]["telegram"] == {"enabled": False,
                                                   "notify_on": ["trade_entry", "trade_exit", "error"],
                                                   "timeout_seconds": 10, "rate_limit_per_minute": 20}
    assert filled["notifications"]["daily_summary_time"] == "00:00"
    assert filled["logging"]["level"] == "INFO" and "log_file" not in filled["logging"]
    assert filled["shutdown"] == {"close_positions": False} and filled["database"] == {}
    assert "symbol" not in filled["data"] and "bot_id" not in filled
    assert filled["strategy"]["exit_logic"] == [{"name": "RSIBBExitMixin"}]
    assert "initial_balance" not in given["broker"]  # a copy, not the caller's dict


def test_filled_defaults_are_not_shared_between_documents():
    first = apply_defaults({}, config_schema())
    first["notifications"]["email"]["notify_on"].append("status")
    assert apply_defaults({}, config_schema())["notifications"]["email"]["notify_on"] == [
        "trade_entry", "trade_exit", "error"]


def test_an_editor_flags_a_trading_section_without_symbol_or_symbols():
    doc = documented()
    del doc["trading"]["symbol"]
    validator = Draft202012Validator(export_schema())
    assert [e.json_path for e in validator.iter_errors(doc)] == ["$.trading"]
    doc["trading"]["symbols"] = ["BTCUSDT", "ETHUSDT"]
    assert list(validator.iter_errors(doc)) == []


def test_the_basket_demo_validates_against_the_published_schema():
    published = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    demo = json.loads((ROOT / "config" / "trading" / "0007.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(published).iter_errors(demo)) == []
