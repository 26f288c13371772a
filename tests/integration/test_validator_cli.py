"""The validator, schema and mixin-catalog commands as a user runs them, in a subprocess."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = ROOT / "tests" / "fixtures" / "documented_config.json"
SCRIPT = ROOT / "src" / "trading" / "config_validator.py"
_BESIDE_PYTHON = Path(sys.executable).parent / "tradingbot"
TRADINGBOT = str(_BESIDE_PYTHON) if _BESIDE_PYTHON.exists() else (shutil.which("tradingbot") or "tradingbot")
VALIDATE = {"script": [sys.executable, str(SCRIPT)], "tradingbot": [TRADINGBOT, "validate"]}
SECRET_NAMES = ("BINANCE_API_KEY", "BINANCE_API_SECRET", "BINANCE_TESTNET_API_KEY",
                "BINANCE_TESTNET_API_SECRET", "TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID",
                "SMTP_USERNAME", "SMTP_PASSWORD")


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SECRET_NAMES}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


@pytest.fixture(params=sorted(VALIDATE))
def validate(request):
    """Both entry points, so they are proven to behave the same."""
    return lambda workdir, *args: run([*VALIDATE[request.param], *args], workdir)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A bot folder with config/trading/0001.json = the documented config."""
    folder = tmp_path / "config" / "trading"
    folder.mkdir(parents=True)
    shutil.copy(DOCUMENTED, folder / "0001.json")
    return tmp_path


def write_config(workdir: Path, name: str, content: str | dict) -> Path:
    path = workdir / "config" / "trading" / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def broken(workdir: Path) -> Path:
    doc = json.loads(DOCUMENTED.read_text(encoding="utf-8"))
    doc["trading"]["symbl"] = doc["trading"].pop("symbol")
    doc["broker"]["type"] = "binanse"
    doc["strategy"]["entry_logic"]["params"]["e_rsi_perod"] = 14
    return write_config(workdir, "0002.json", doc)


@pytest.mark.parametrize("name", ["0001", "0001.json", "config/trading/0001.json"])
def test_documented_config_is_ok_however_it_is_named(validate, workdir, name):
    result = validate(workdir, name)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[-1] == "config/trading/0001.json: OK"
    assert ("warning: config/trading/0001.json: broker.type: environment variables "
            "BINANCE_TESTNET_API_KEY, BINANCE_TESTNET_API_SECRET are not set; "
            "broker 'binance_paper' needs them") in lines


def test_invalid_config_lists_every_problem_with_its_path_and_exits_1(validate, workdir):
    broken(workdir)
    result = validate(workdir, "0002")
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if not line.startswith("warning: ")]
    assert errors == [
        "config/trading/0002.json: broker.type: must be one of mock, paper, binance_paper, binance, "
        "ibkr, got 'binanse'; did you mean 'binance'?",
        "config/trading/0002.json: trading: missing required key 'symbol' (one symbol) or "
        "'symbols' (a basket)",
        "config/trading/0002.json: trading.symbl: unknown key 'symbl'; did you mean 'symbol'?",
        "config/trading/0002.json: strategy.entry_logic.params.e_rsi_perod: unknown parameter for "
        "RSIBBVolumeEntryMixin; did you mean 'e_rsi_period'?",
    ]


@pytest.mark.parametrize("content, status, output", [
    ('{\n  "broker": {\n    "type": "mock",\n  }\n}\n', 2,
     "config/trading/0003.json: invalid JSON at line 4, column 3: "
     "Expecting property name enclosed in double quotes"),
    ("[]", 1, "config/trading/0003.json: (top level): the config must be a JSON object ({...}), "
              "got an array"),
    (None, 2, "config/trading/0003.json: no such config file"),
], ids=["invalid JSON", "not an object", "missing file"])
def test_unusable_file_gets_one_message_and_its_status(validate, workdir, content, status, output):
    if content is not None:
        write_config(workdir, "0003.json", content)
    result = validate(workdir, "0003")
    assert result.returncode == status
    assert result.stdout.startswith(output) and len(result.stdout.splitlines()) == 1


def test_every_file_is_checked_and_the_worst_status_wins(validate, workdir):
    broken(workdir)
    result = validate(workdir, "0001", "0002", "0042")
    assert result.returncode == 2
    out = result.stdout
    assert "config/trading/0001.json: OK" in out
    assert "config/trading/0002.json: trading: missing required key 'symbol'" in out
    assert "config/trading/0042.json: no such config file" in out


def test_all_checks_every_config_in_the_folder(validate, workdir):
    broken(workdir)
    result = validate(workdir, "--all")
    assert result.returncode == 1
    assert "config/trading/0001.json: OK" in result.stdout
    assert "config/trading/0002.json: broker.type: " in result.stdout


def test_no_arguments_is_a_usage_error(validate, workdir):
    result = validate(workdir)
    assert result.returncode == 2
    assert "give at least one CONFIG, or --all" in result.stderr


def test_tradingbot_schema_prints_the_published_schema(tmp_path):
    result = run([TRADINGBOT, "schema"], tmp_path)
    assert result.returncode == 0
    published = ROOT / "config" / "schema" / "trading_bot.schema.json"
    assert result.stdout == published.read_text(encoding="utf-8")


def test_tradingbot_mixins_lists_each_mixin_with_its_rule_and_params(tmp_path):
    result = run([TRADINGBOT, "mixins"], tmp_path)
    assert result.returncode == 0
    out = result.stdout
    assert out.index("Entry mixins") < out.index("RSIBBVolumeEntryMixin") < out.index("Exit mixins")
    assert out.index("Exit mixins") < out.index("RSIBBExitMixin")
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["e_rsi_period"])
    assert row[:3] == ["e_rsi_period", "integer", "14"] and ".." in row[3]  # range, e.g. 1..1000


def test_tradingbot_mixins_json_is_machine_readable(tmp_path):
    result = run([TRADINGBOT, "mixins", "--json"], tmp_path)
    assert result.returncode == 0
    catalog = {(m["kind"], m["name"]): m for m in json.loads(result.stdout)}
    entry = catalog["entry", "RSIBBVolumeEntryMixin"]
    assert entry["rule"]
    period = next(p for p in entry["params"] if p["name"] == "e_rsi_period")
    assert period["type"] == "integer" and period["default"] == 14
    assert ("exit", "RSIBBExitMixin") in catalog
