"""validate_document: every problem at once, each as 'file: json.path: message' a person can act on."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from trading.config.files import parse_config_text
from trading.config.loading import build_config
from trading.config.schema import MAX_BOT_ID, MAX_SYMBOL, apply_defaults, config_schema
from trading.config.validator import validate_document
from trading.core.errors import ConfigError
from trading.persistence import tables

DOCUMENTED = Path(__file__).resolve().parents[1] / "fixtures" / "documented_config.json"
SECRETS = {"BINANCE_TESTNET_API_KEY": "tk-123", "BINANCE_TESTNET_API_SECRET": "ts-456",
           "TELEGRAM_BOT_TOKEN": "bot-789", "TELEGRAM_CHAT_ID": "42"}
SOURCE = "0001.json"
# what jsonschema says on its own; none of it should reach a user
RAW_JSONSCHEMA = ("is not valid under", "Additional properties", "is a required property",
                  "is not one of", "is not of type", "was unexpected")


@pytest.fixture
def doc() -> dict[str, Any]:
    return json.loads(DOCUMENTED.read_text(encoding="utf-8"))


def errors(doc: Any) -> list[str]:
    return validate_document(doc, SOURCE, env=SECRETS).errors


def assert_error(doc: Any, line: str) -> None:
    found = errors(doc)
    assert line in found, "\n".join(found)


def test_documented_config_is_valid_and_builds_with_defaults_filled(doc):
    report = validate_document(doc, SOURCE, env=SECRETS)
    assert report.errors == []
    assert report.warnings == []
    config = build_config(report.document, source=Path("config/trading/0001.json"))
    assert config.bot_id == "0001"
    assert config.strategy.entry.name == "RSIBBVolumeEntryMixin"
    assert [x.name for x in config.strategy.exits] == ["RSIBBExitMixin"]
    assert config.data.symbol == "BTCUSDT" and config.data.interval_seconds == 3600
    assert config.broker.slippage_pct == 0
    assert config.risk.max_orders_per_minute == 10 and config.risk.max_consecutive_errors == 5
    assert config.notifications.webhook.enabled is False
    assert config.close_positions_on_shutdown is False
    assert config.strategy.entry.params == {"e_rsi_period": 14, "e_rsi_oversold": 30,
                                            "e_bb_period": 20, "e_bb_dev": 2.0}


def test_validation_does_not_change_the_given_document(doc):
    before = copy.deepcopy(doc)
    validate_document(doc, SOURCE, env=SECRETS)
    assert doc == before


def test_misspelt_key_names_the_key_and_suggests_the_right_one(doc):
    doc["trading"]["symbl"] = doc["trading"].pop("symbol")
    found = errors(doc)
    assert "0001.json: trading.symbl: unknown key 'symbl'; did you mean 'symbol'?" in found
    assert ("0001.json: trading: missing required key 'symbol' (one symbol) or 'symbols' "
            "(a basket)") in found


def test_unknown_top_level_section_suggests_the_section(doc):
    doc["risk_managment"] = doc.pop("risk_management")
    assert_error(doc, "0001.json: risk_managment: unknown key 'risk_managment'; "
                      "did you mean 'risk_management'?")


def test_wrong_type_shows_the_value_given(doc):
    doc["broker"]["initial_balance"] = "abc"
    assert_error(doc, "0001.json: broker.initial_balance: must be a number, got 'abc'")


def test_boolean_is_not_accepted_as_a_number(doc):
    doc["trading"]["max_positions"] = True
    assert_error(doc, "0001.json: trading.max_positions: must be an integer, got true")


def test_unknown_broker_type_lists_the_choices_and_suggests_one(doc):
    doc["broker"]["type"] = "binanse"
    assert_error(doc, "0001.json: broker.type: must be one of mock, paper, binance_paper, binance, "
                      "ibkr, got 'binanse'; did you mean 'binance'?")


def test_enum_hint_ignores_case(doc):
    doc["logging"]["level"] = "info"
    assert_error(doc, "0001.json: logging.level: must be one of DEBUG, INFO, WARNING, ERROR, "
                      "got 'info'; did you mean 'INFO'?")


def test_out_of_range_value_states_the_bound(doc):
    doc["risk_management"]["stop_loss_pct"] = -1
    doc["trading"]["position_size"] = 0
    doc["strategy"]["position_size"] = 0
    found = errors(doc)
    assert "0001.json: risk_management.stop_loss_pct: must be >= 0, got -1" in found
    assert "0001.json: trading.position_size: must be > 0, got 0" in found


def test_unknown_notification_event_is_reported_at_its_index(doc):
    doc["notifications"]["telegram"]["notify_on"][1] = "trade_exti"
    assert_error(doc, "0001.json: notifications.telegram.notify_on[1]: must be one of trade_entry, "
                      "trade_exit, error, status, daily_summary, order_rejected, kill_switch, "
                      "got 'trade_exti'; did you mean 'trade_exit'?")


def test_unknown_entry_mixin_suggests_the_registered_name(doc):
    doc["strategy"]["entry_logic"]["name"] = "RSIBBVolumeEntryMixn"
    assert errors(doc) == ["0001.json: strategy.entry_logic.name: unknown entry mixin "
                           "'RSIBBVolumeEntryMixn'; did you mean 'RSIBBVolumeEntryMixin'?"]


def test_exit_mixin_named_as_entry_says_where_it_belongs(doc):
    doc["strategy"]["entry_logic"] = {"name": "RSIBBExitMixin"}
    assert_error(doc, "0001.json: strategy.entry_logic.name: 'RSIBBExitMixin' is an exit mixin, "
                      "not an entry mixin; it belongs under strategy.exit_logic")


def test_misspelt_mixin_param_suggests_the_declared_one(doc):
    doc["strategy"]["entry_logic"]["params"]["e_rsi_perod"] = 14
    assert errors(doc) == ["0001.json: strategy.entry_logic.params.e_rsi_perod: unknown parameter "
                           "for RSIBBVolumeEntryMixin; did you mean 'e_rsi_period'?"]


def test_out_of_range_mixin_param_is_reported_with_its_path(doc):
    doc["strategy"]["exit_logic"]["params"]["x_rsi_overbought"] = 170
    assert errors(doc) == ["0001.json: strategy.exit_logic.params.x_rsi_overbought: "
                           "must be <= 100, got 170"]


def test_mixin_param_of_the_wrong_type_is_reported(doc):
    doc["strategy"]["entry_logic"]["params"]["e_rsi_period"] = "14"
    (line,) = errors(doc)
    assert line.startswith("0001.json: strategy.entry_logic.params.e_rsi_period: must be ")
    assert line.endswith("got '14'")


def test_exit_list_problems_carry_the_index(doc):
    doc["strategy"]["exit_logic"] = [
        {"name": "RSIBBExitMixin"},
        {"name": "RSIBBExitMixin", "params": {"x_rsi_period": 0}},
        {"nam": "RSIBBExitMixin"},
    ]
    found = errors(doc)
    assert any(line.startswith("0001.json: strategy.exit_logic[1].params.x_rsi_period: must be >= ")
               for line in found), found
    assert "0001.json: strategy.exit_logic[2]: missing required key 'name'" in found
    assert "0001.json: strategy.exit_logic[2].nam: unknown key 'nam'; did you mean 'name'?" in found


@pytest.mark.parametrize("exit_logic, line", [
    ([], "0001.json: strategy.exit_logic: must not be empty"),
    ("RSIBBExitMixin", "0001.json: strategy.exit_logic: must be an object or an array, "
                       "got 'RSIBBExitMixin'"),
    ({"name": "RSIBBExitMixin", "parms": {}},
     "0001.json: strategy.exit_logic.parms: unknown key 'parms'; did you mean 'params'?"),
])
def test_malformed_exit_logic_gets_one_clear_message(doc, exit_logic, line):
    doc["strategy"]["exit_logic"] = exit_logic
    assert errors(doc) == [line]


def test_strategy_position_size_must_equal_the_trading_one(doc):
    doc["strategy"]["position_size"] = 0.2
    assert errors(doc) == ["0001.json: strategy.position_size: must equal trading.position_size "
                           "(0.1), got 0.2; remove it or make the two equal"]


def test_data_symbol_must_equal_the_traded_symbol(doc):
    doc["data"]["symbol"] = "ETHUSDT"
    (line,) = errors(doc)
    assert line.startswith("0001.json: data.symbol: must equal trading.symbol ('BTCUSDT'), "
                           "got 'ETHUSDT'")


def test_yahoo_builds_four_hour_bars_from_hourly_ones(doc):
    doc["broker"]["type"] = "paper"
    doc["data"].update(data_source="yahoo", interval="4h")
    assert errors(doc) == []


@pytest.mark.parametrize("interval, lookback, most", [
    ("1m", 20_000, "10,080"), ("3m", 5_000, "3,360"), ("5m", 20_000, "16,992"),
    ("1h", 30_000, "17,496"), ("4h", 5_000, "4,374")])
def test_a_yahoo_lookback_beyond_its_history_is_a_warning_with_what_yahoo_serves(
        doc, interval, lookback, most):
    doc["broker"]["type"] = "paper"
    doc["data"].update(data_source="yahoo", interval=interval, lookback_bars=lookback)
    report = validate_document(doc, SOURCE, env=SECRETS)
    assert report.errors == []
    (line,) = [w for w in report.warnings if "lookback_bars" in w]
    assert line.startswith(f"0001.json: data.lookback_bars: Yahoo serves at most about {most} "
                           f"{interval} bars of history")
    assert f"Set lookback_bars to {most} or less" in line


@pytest.mark.parametrize("interval, lookback", [("1m", 10_000), ("1h", 500), ("1d", 100_000)])
def test_a_yahoo_lookback_within_its_history_warns_about_nothing(doc, interval, lookback):
    doc["broker"]["type"] = "paper"
    doc["data"].update(data_source="yahoo", interval=interval, lookback_bars=lookback)
    report = validate_document(doc, SOURCE, env=SECRETS)
    assert report.errors == [] and not [w for w in report.warnings if "data." in w]


def test_ibkr_cannot_serve_twelve_hour_bars(doc):
    doc["broker"]["type"] = "ibkr"
    doc["data"].update(data_source="ibkr", interval="12h")
    assert errors(doc) == ["0001.json: data.interval: ibkr cannot serve '12h' bars "
                           "(it serves 1m 3m 5m 15m 30m 1h 2h 4h 1d 1w)"]


@pytest.mark.parametrize("broker, source, venue, needed", [
    ("binance", "yahoo", "Binance Spot", "binance"),
    ("binance_paper", "file", "Binance Spot", "binance"),
    ("ibkr", "binance", "Interactive Brokers (TWS / IB Gateway)", "ibkr")])
def test_venue_broker_needs_its_own_data_source(doc, broker, source, venue, needed):
    doc["broker"]["type"] = broker
    doc["data"].update(data_source=source, file_path="bars.csv")
    assert errors(doc) == [f"0001.json: data.data_source: broker '{broker}' trades at {venue}, on "
                           f"its prices: it needs data_source '{needed}', got '{source}' (trade "
                           "other data with the paper or mock broker)"]


@pytest.mark.parametrize("broker", ["mock", "paper"])
def test_simulated_brokers_take_any_data_source(doc, broker):
    doc["broker"]["type"] = broker
    doc["data"].update(data_source="yahoo", interval="1d")
    assert errors(doc) == []


def test_file_source_needs_a_file_path(doc):
    doc["broker"]["type"] = "mock"
    doc["data"]["data_source"] = "file"
    assert errors(doc) == ["0001.json: data: missing required key 'file_path' "
                           "(data_source 'file' reads bars from a CSV file)"]
    doc["data"]["file_path"] = "data/bars.csv"
    assert errors(doc) == []


def test_enabled_channels_without_recipients_or_url_are_warnings_either_source_satisfies(doc):
    doc["notifications"]["email"].update(enabled=True)
    doc["notifications"]["webhook"] = {"enabled": True}
    env = {**SECRETS, "SMTP_USERNAME": "bot@example.com", "SMTP_PASSWORD": "pw-123456"}
    report = validate_document(doc, SOURCE, env=env)
    assert report.errors == []
    assert report.warnings == [
        "0001.json: notifications.email: the email channel needs recipients in to_addrs or "
        "EMAIL_TO; the bot runs without it until then",
        "0001.json: notifications.webhook: the webhook channel needs a url in WEBHOOK_URL or url; "
        "the bot runs without it until then"]
    env.update(EMAIL_TO="ops@example.com, cto@example.com", WEBHOOK_URL="https://hooks.example/x")
    assert validate_document(doc, SOURCE, env=env).warnings == []
    doc["notifications"]["email"]["to_addrs"] = ["ops@example.com"]
    doc["notifications"]["webhook"]["url"] = "https://hooks.example/y"
    del env["EMAIL_TO"], env["WEBHOOK_URL"]
    assert validate_document(doc, SOURCE, env=env).warnings == []


def test_daily_summary_time_is_a_utc_time_of_day(doc):
    doc["notifications"]["daily_summary_time"] = "24:00"
    assert_error(doc, "0001.json: notifications.daily_summary_time: must match "
                      "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$ (a UTC time of day, HH:MM or "
                      "HH:MM:SS), got '24:00'")
    doc["notifications"]["daily_summary_time"] = "18:30:05"
    report = validate_document(doc, SOURCE, env=SECRETS)
    assert report.errors == []
    assert build_config(report.document).notifications.daily_summary_seconds == 18 * 3600 + 1805


def test_every_problem_is_reported_at_once_in_document_order(doc):
    doc["broker"]["type"] = "binanse"
    doc["trading"]["symbl"] = doc["trading"].pop("symbol")
    doc["data"]["interval"] = "7h"
    doc["strategy"]["entry_logic"]["name"] = "RSIBBVolumeEntryMixn"
    doc["strategy"]["exit_logic"]["params"]["x_rsi_perod"] = 14
    doc["strategy"]["position_size"] = 0.5
    doc["logging"]["level"] = "LOUD"
    report = validate_document(doc, SOURCE, env=SECRETS)
    paths = [line.split(": ")[1] for line in report.errors]
    assert paths == ["broker.type", "trading", "trading.symbl", "data.interval",
                     "strategy.entry_logic.name", "strategy.exit_logic.params.x_rsi_perod",
                     "strategy.position_size", "logging.level"]
    assert report.document is None


BROKEN = {
    "unknown key": lambda d: d["data"].update(intervall="1h"),
    "wrong type": lambda d: d["logging"].update(save_trades="yes"),
    "enum": lambda d: d["data"].update(data_source="kraken"),
    "const": lambda d: d["strategy"].update(type="builtin"),
    "pattern": lambda d: d.update(bot_id="my bot"),
    "missing section": lambda d: d.pop("broker"),
    "exit list item": lambda d: d["strategy"].update(exit_logic=[{"name": 3}]),
    "duplicate event": lambda d: d["notifications"]["email"].update(notify_on=["error", "error"]),
}


def test_an_item_listed_twice_is_named_at_its_index(doc):
    doc["notifications"]["telegram"]["notify_on"] = ["error", "status", "error"]
    assert errors(doc) == ["0001.json: notifications.telegram.notify_on[2]: 'error' is listed "
                           "twice (also at [0]); list each once"]


@pytest.mark.parametrize("break_it", BROKEN.values(), ids=BROKEN.keys())
def test_schema_errors_are_rewritten_for_people(doc, break_it):
    break_it(doc)
    found = errors(doc)
    assert found
    for line in found:
        assert line.startswith("0001.json: ") and line.count(": ") >= 2
        assert not any(raw in line for raw in RAW_JSONSCHEMA), line


def test_a_top_level_that_is_not_an_object_is_one_clear_error():
    assert validate_document([1, 2], SOURCE).errors == [
        "0001.json: (top level): the config must be a JSON object ({...}), got an array"]


def test_missing_sections_are_named():
    found = errors({"strategy": {"entry_logic": {"name": "RSIBBVolumeEntryMixin"},
                                 "exit_logic": {"name": "RSIBBExitMixin"}}})
    assert found == ["0001.json: (top level): missing required key 'broker'",
                     "0001.json: (top level): missing required key 'trading'",
                     "0001.json: (top level): missing required key 'data'"]


def test_minimal_config_gets_every_default():
    doc = {"broker": {"type": "mock"}, "trading": {"symbol": "ETHBTC"},
           "data": {"data_source": "file", "file_path": "data/sample/ETHBTC-5m.csv"},
           "strategy": {"entry_logic": {"name": "RSIBBEntryMixin"},
                        "exit_logic": [{"name": "RSIBBExitMixin"}]}}
    report = validate_document(doc, "mini.json", env={})
    assert report.errors == [] and report.warnings == []
    config = build_config(report.document, source=Path("mini.json"))
    assert config.bot_id == "mini"
    assert config.data.symbol == "ETHBTC" and config.data.interval == "1h"
    assert config.risk.trailing_stop.trailing_pct == 2.0
    assert config.notifications.email.options["smtp_port"] == 587
    assert config.logging.level == "INFO" and config.logging.heartbeat_seconds == 60
    assert config.strategy.exits[0].params == {}


def test_missing_secrets_are_warnings_that_name_the_variables_only(doc):
    env = {"BINANCE_TESTNET_API_KEY": "tk-123", "TELEGRAM_CHAT_ID": "42"}
    report = validate_document(doc, SOURCE, env=env)
    assert report.errors == []
    assert report.warnings == [
        "0001.json: broker.type: environment variable BINANCE_TESTNET_API_SECRET is not set; "
        "broker 'binance_paper' needs it",
        "0001.json: notifications.telegram: the telegram channel needs environment variable "
        "TELEGRAM_BOT_TOKEN; the bot runs without it until then",
    ]
    assert not any(secret in w for w in report.warnings for secret in env.values())


def test_telegram_chat_id_in_the_config_replaces_the_environment_variable(doc):
    doc["notifications"]["telegram"]["chat_id"] = "1234"
    env = {k: v for k, v in SECRETS.items() if k != "TELEGRAM_CHAT_ID"}
    assert validate_document(doc, SOURCE, env=env).warnings == []


def test_disabled_notifications_need_no_secrets(doc):
    doc["notifications"]["enabled"] = False
    doc["broker"]["type"] = "paper"
    assert validate_document(doc, SOURCE, env={}).warnings == []


def test_live_money_broker_warns_until_confirmed(doc):
    doc["broker"]["type"] = "binance"
    env = {**SECRETS, "BINANCE_API_KEY": "k", "BINANCE_API_SECRET": "s"}
    report = validate_document(doc, SOURCE, env=env)
    assert report.errors == []
    assert report.warnings == [
        "0001.json: live_trading_confirmed: broker 'binance' trades real money; the bot refuses to "
        "trade until both \"live_trading_confirmed\": true is set and --live is given on the "
        "command line"]
    doc["live_trading_confirmed"] = True
    assert validate_document(doc, SOURCE, env=env).warnings == []


def test_email_needs_smtp_credentials_unless_it_goes_to_a_local_relay(doc):
    doc["notifications"]["email"].update(enabled=True, to_addrs=["ops@example.com"])
    report = validate_document(doc, SOURCE, env=SECRETS)
    assert report.warnings == [
        "0001.json: notifications.email: the email channel needs environment variables "
        "SMTP_USERNAME and SMTP_PASSWORD (or SMTP_SECURITY=none for a local relay) and a sender in "
        "SMTP_FROM or from_addr; the bot runs without it until then"]
    doc["notifications"]["email"].update(security="none", from_addr="bot@example.com")
    assert validate_document(doc, SOURCE, env=SECRETS).warnings == []


def test_every_data_source_and_broker_a_venue_declares_is_in_the_schema():
    from trading.venues.registry import venues
    props = config_schema()["properties"]
    assert props["broker"]["properties"]["type"]["enum"] == [
        "mock", "paper", *venues().broker_types]
    assert props["data"]["properties"]["data_source"]["enum"] == [
        "file", *venues().data_sources]
    for key, venue in venues().sections().items():
        assert props[key] == venue.section_schema


def test_a_trailing_stop_order_with_a_venue_broker_that_places_none_is_refused(doc):
    doc["risk_management"]["trailing_stop"] = {"enabled": True, "trailing_pct": 2.0}
    assert errors(doc) == [
        "0001.json: risk_management.trailing_stop.enabled: broker 'binance_paper' does not place "
        "the trailing stop as an order in this version; turn it off and use the "
        "TrailingStopExitMixin exit instead"]


def test_the_ibkr_broker_refuses_futures_until_they_are_booked_as_futures(doc):
    doc["broker"]["type"] = "ibkr"
    doc["data"]["data_source"] = "ibkr"
    doc["ibkr"] = {"sec_type": "FUT", "exchange": "CME"}
    lines = errors(doc)
    assert len(lines) == 1 and lines[0].startswith(
        "0001.json: ibkr.sec_type: the ibkr broker does not trade futures in this version")
    doc["broker"]["type"] = "paper"  # its bars are fine
    assert errors(doc) == []


def test_max_positions_above_one_with_one_symbol_warns_one_position_per_symbol(doc):
    doc["trading"]["max_positions"] = 3
    report = validate_document(doc, SOURCE, env=SECRETS)
    assert report.errors == []
    assert report.warnings == ["0001.json: trading.max_positions: a bot holds at most one "
                               "position per symbol: with 1 symbol, max_positions 3 allows no more "
                               "than 1 open at once"]


def test_a_disabled_trailing_stop_accepts_zeros(doc):
    doc["risk_management"]["trailing_stop"] = {"enabled": False, "activation_pct": 0,
                                               "trailing_pct": 0}
    assert errors(doc) == []


def test_an_enabled_trailing_stop_needs_a_distance(doc):
    doc["risk_management"]["trailing_stop"] = {"enabled": True, "trailing_pct": 0}
    assert_error(doc, "0001.json: risk_management.trailing_stop.trailing_pct: must be > 0 when "
                      "the trailing stop is enabled (set enabled to false to turn it off)")
    doc["risk_management"]["trailing_stop"]["trailing_pct"] = 100
    assert_error(doc, "0001.json: risk_management.trailing_stop.trailing_pct: must be < 100, "
                      "got 100")


# --- issue 7: what JSON lets through and no config may hold ---------------------------------------

def parsed_errors(text: str, source: str = SOURCE) -> list[str]:
    return validate_document(parse_config_text(text, source), source, env=SECRETS).errors


@pytest.mark.parametrize("literal, shown", [("NaN", "NaN"), ("Infinity", "Infinity"),
                                            ("-Infinity", "-Infinity"), ("1e400", "1e400 (too large)")])
def test_non_finite_numbers_are_invalid_everywhere(doc, literal, shown):
    for key, section in (("position_size", "trading"), ("initial_balance", "broker"),
                         ("commission", "broker"), ("stop_loss_pct", "risk_management")):
        doc[section][key] = "__X__"
        text = json.dumps(doc).replace('"__X__"', literal)
        assert f"0001.json: {section}.{key}: must be a finite number, got {shown}" in \
            "\n".join(parsed_errors(text)), (key, literal)
        doc[section][key] = 1


def test_a_key_given_twice_is_an_error_naming_the_key_and_its_path(doc):
    text = json.dumps(doc).replace('"symbol": "BTCUSDT", "position_size"',
                                   '"symbol": "BTCUSDT", "symbol": "BTCUSDT", "position_size"', 1)
    assert parsed_errors(text) == ["0001.json: trading.symbol: the key 'symbol' is given 2 times in "
                                   "this object (JSON keeps only the last, silently); keep one"]


def test_a_lone_surrogate_or_a_nul_is_named_where_it_is(doc):
    doc["strategy"]["entry_logic"]["params"]["\ud800"] = 1
    doc["description"] = "a\x00b"
    found = errors(doc)
    assert "0001.json: description: contains a NUL character (\\u0000); remove it" in found
    assert any(line.startswith('0001.json: strategy.entry_logic.params["\\ud800"]: the key contains '
                               "a lone surrogate \\ud800") for line in found), found
    assert all(line.encode("utf-8") for line in found)


def test_percent_distances_of_100_are_refused_here_and_in_mixin_params(doc):
    doc["risk_management"]["stop_loss_pct"] = 100
    doc["trading"]["max_drawdown_pct"] = 100
    doc["strategy"]["exit_logic"] = [{"name": "FixedRatioExitMixin", "params": {"x_stop_loss_pct": 100}},
                                     {"name": "TrailingStopExitMixin", "params": {"x_trail_pct": 100}}]
    found = errors(doc)
    assert "0001.json: risk_management.stop_loss_pct: must be < 100, got 100" in found
    assert "0001.json: trading.max_drawdown_pct: must be < 100, got 100" in found
    assert "0001.json: strategy.exit_logic[0].params.x_stop_loss_pct: must be < 100, got 100" in found
    assert "0001.json: strategy.exit_logic[1].params.x_trail_pct: must be < 100, got 100" in found
    doc["risk_management"]["stop_loss_pct"] = 99.9
    assert not any("stop_loss_pct" in line and "risk" in line for line in errors(doc))


def test_speed_and_string_lengths_are_bounded(doc):
    doc["data"]["speed"] = 1e-300
    doc["description"] = "x" * 50_000
    found = errors(doc)
    assert "0001.json: data.speed: must be 0 (as fast as possible) or at least 1e-05 bars per " \
           "second (about one bar a day), got 1e-300" in found
    assert "0001.json: description: must be at most 1,000 characters long, got 50,000" in found


@pytest.mark.parametrize("name", ["my bot.json", "a'b.json", "ünïcødé.json"])
def test_a_bot_id_taken_from_a_file_name_follows_the_bot_id_rule(doc, name):
    path = Path("config/trading") / name
    report = validate_document(doc, str(path), path=path, env=SECRETS)
    assert len(report.errors) == 1
    assert report.errors[0].startswith(f"{path}: bot_id: not set, so the bot id would be the "
                                       f"file's name {Path(name).stem!r}, which is not a valid id")
    with pytest.raises(ConfigError, match="bot_id: not set"):
        build_config(apply_defaults(doc, config_schema()), source=path)
    doc["bot_id"] = "my_bot"
    assert validate_document(doc, str(path), path=path, env=SECRETS).errors == []


@pytest.mark.parametrize("log_file, words", [("/proc/self/status", "is under /proc"),
                                             ("/sys/x.log", "is under /sys"), ("logs/", "is a folder")])
def test_a_log_file_under_proc_or_a_folder_is_refused(doc, log_file, words):
    doc["logging"]["log_file"] = log_file
    assert any(line.startswith("0001.json: logging.log_file: ") and words in line
               for line in errors(doc))


def test_the_longest_bot_id_and_symbol_fit_the_database_columns():
    # a client order id is <bot_id>-<10-digit bar time>-<purpose>; PostgreSQL enforces lengths
    longest_order_id = f"{'x' * MAX_BOT_ID}-{9_999_999_999}-entry"
    assert len(longest_order_id) <= tables.orders.c.client_order_id.type.length
    assert MAX_BOT_ID <= tables.bots.c.bot_id.type.length
    assert MAX_SYMBOL <= min(tables.orders.c.symbol.type.length, tables.trades.c.symbol.type.length)


def test_ibkr_section_defaults_to_a_local_paper_tws_and_a_smart_routed_stock(doc):
    report = validate_document(doc, source=SOURCE, env=SECRETS)
    ibkr = build_config(report.document).venue_settings["ibkr"]
    assert (ibkr.host, ibkr.port, ibkr.client_id) == ("127.0.0.1", 7497, 1)
    assert (ibkr.sec_type, ibkr.exchange, ibkr.primary_exchange, ibkr.currency) == (
        "STK", "SMART", "", "USD")


def test_ibkr_section_values_are_checked_with_their_paths(doc):
    doc["ibkr"] = {"port": 70000, "sec_type": "OPT", "client_id": -1, "hots": "x"}
    lines = errors(doc)
    assert any(line.startswith("0001.json: ibkr.port: ") and "65535" in line for line in lines)
    assert any(line.startswith("0001.json: ibkr.sec_type: ") and "STK" in line for line in lines)
    assert any(line.startswith("0001.json: ibkr.client_id: ") for line in lines)
    assert any(line.startswith("0001.json: ibkr.hots: ") and "host" in line for line in lines)


def test_ibkr_broker_warns_that_a_live_account_needs_confirmation(doc):
    doc["broker"]["type"] = "ibkr"
    doc["data"].update(data_source="ibkr", symbol="AAPL")
    doc["trading"]["symbol"] = "AAPL"
    report = validate_document(doc, source=SOURCE, env=SECRETS)
    assert not report.errors
    assert any("live_trading_confirmed" in w and "DU" in w for w in map(str, report.warnings))


def test_poll_delay_defaults_to_five_seconds_and_is_bounded(doc):
    doc["broker"]["type"] = "paper"
    doc["data"].update(data_source="yahoo", interval="1h")
    report = validate_document(doc, SOURCE, env=SECRETS)
    assert build_config(report.document, source=Path(SOURCE)).data.poll_delay_seconds == 5.0
    doc["data"]["poll_delay_seconds"] = 2.5
    report = validate_document(doc, SOURCE, env=SECRETS)
    assert build_config(report.document, source=Path(SOURCE)).data.poll_delay_seconds == 2.5
    for bad in (-1, 601, "soon"):
        doc["data"]["poll_delay_seconds"] = bad
        assert [e for e in errors(doc) if e.startswith("0001.json: data.poll_delay_seconds: ")]


def test_a_percent_key_written_as_a_fraction_is_a_warning_that_names_the_unit(doc):
    doc["risk_management"]["stop_loss_pct"] = 0.03
    doc["trading"]["max_drawdown_pct"] = 0.05
    doc["strategy"]["exit_logic"] = [{"name": "FixedRatioExitMixin",
                                      "params": {"x_take_profit_pct": 0.08, "x_stop_loss_pct": 2}}]
    report = validate_document(doc, SOURCE, env=SECRETS)
    assert report.errors == []
    assert report.warnings == [
        "0001.json: trading.max_drawdown_pct: this key is in percent: 0.05 means 0.05%; did you "
        "mean 5? (fractions are only position_size, max_exposure and commission)",
        "0001.json: strategy.exit_logic[0].params.x_take_profit_pct: this key is in percent: "
        "0.08 means 0.08%; did you mean 8? (fractions are only position_size, max_exposure and "
        "commission)",
        "0001.json: risk_management.stop_loss_pct: this key is in percent: 0.03 means 0.03%; did "
        "you mean 3? (fractions are only position_size, max_exposure and commission)"]


def test_percents_of_0_1_and_more_zero_and_a_small_slippage_are_not_warned(doc):
    doc["risk_management"]["stop_loss_pct"] = 0.1
    doc["risk_management"]["take_profit_pct"] = 0
    doc["broker"]["slippage_pct"] = 0.02  # a liquid market's slippage, in percent
    doc["broker"]["commission"] = 0.0005  # a fraction: 0.05%
    report = validate_document(doc, SOURCE, env=SECRETS)
    assert report.errors == [] and report.warnings == []
