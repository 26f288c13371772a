"""Hundreds of malformed configs: never a traceback, the right exit code, ``file: json.path: message``.

The bulk runs ``tradingbot validate`` and the loader ``run`` uses in this process (see
``checks.check_config``); a sample runs the real scripts in a subprocess, a FIFO among them.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from workspace import BOT_SCRIPT, REPO, BotWorkspace
from checks import assert_family_passes, check_config, materialize
from config_corpus import ConfigVariant, config_variants

VALIDATOR = REPO / "src" / "trading" / "config_validator.py"
VARIANTS = config_variants()
FAMILIES = ("types", "parse", "files", "semantic", "random")


@pytest.mark.parametrize("family", FAMILIES)
def test_every_malformed_config_is_refused_clearly(family, tmp_path):
    assert_family_passes(VARIANTS, family, check_config, tmp_path)


def test_the_corpus_is_generated_the_same_every_time():
    again = config_variants()
    assert [(v.name, v.content) for v in again] == [(v.name, v.content) for v in VARIANTS]
    counts = {f: sum(v.family == f for v in VARIANTS) for f in FAMILIES}
    assert counts["types"] >= 1000 and counts["parse"] >= 300 and counts["semantic"] >= 100, counts


# --- the real scripts, a representative sample ----------------------------------------------------

def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO / "src"))


SAMPLE_NAMES = ("trading.position_size written as NaN", "risk_management.stop_loss_pct written as 1e400",
                "broker.initial_balance written as Infinity", "broker.commission written as NaN",
                "trading.symbol given twice", "data.data_source = object",
                'description written as "\\ud800"', 'data.file_path written as "a\\u0000b"',
                "logging.log_file = '/proc/self/status'", "logging.log_file = 'logs/'",
                "risk_management.stop_loss_pct = 100 (a stop at price 0)",
                "data.speed = 1e-300", "bot id from the file name 'my bot.json'",
                "an array nested 900 deep in description", "an array nested 100000 deep in description",
                "saved as utf-16", "cut after 1 bytes", "the config path is a folder")


def _sample() -> list[ConfigVariant]:
    by_name = {v.name: v for v in VARIANTS}
    return [by_name[name] for name in SAMPLE_NAMES]


def test_the_validator_script_reports_each_sample_with_its_file_and_path(tmp_path):
    paths = []
    for n, variant in enumerate(_sample()):
        folder = tmp_path / str(n)
        folder.mkdir()
        paths.append((variant, materialize(variant, folder)))
    result = subprocess.run([sys.executable, str(VALIDATOR), *[str(p) for _, p in paths]],
                            env=_env(), capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.returncode == 2  # the worst of them: some cannot be read as JSON
    for variant, path in paths:
        head = f"{path}: {variant.expect_path}" if variant.expect_code == 1 else f"{path}: "
        assert head in output, f"{variant.name}: nothing starting {head!r} in\n{output[-3000:]}"


def test_a_fifo_config_is_refused_at_once_by_validate_and_run(tmp_path):
    fifo = tmp_path / "7001.json"
    os.mkfifo(fifo)
    for command in ([sys.executable, str(VALIDATOR), str(fifo)],
                    [sys.executable, str(BOT_SCRIPT), str(fifo)]):
        result = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=60)
        assert result.returncode == 2
        assert f"{fifo}: is a FIFO (named pipe), not a config file" in result.stdout + result.stderr
        assert "Traceback" not in result.stderr


RUN_SAMPLE = (("trading.position_size written as NaN", "trading.position_size: must be a finite "
               "number, got NaN"),
              ("trading.symbol given twice", "trading.symbol: the key 'symbol' is given 2 times"),
              ('description written as "\\ud800"', "description: contains a lone surrogate \\ud800"),
              ("risk_management.stop_loss_pct = 100 (a stop at price 0)",
               "risk_management.stop_loss_pct: must be < 100, got 100"))


@pytest.mark.parametrize("name, line", RUN_SAMPLE, ids=[name for name, _ in RUN_SAMPLE])
def test_the_bot_refuses_a_malformed_config_before_starting(tmp_path, name, line):
    ws = BotWorkspace(tmp_path)
    variant = next(v for v in VARIANTS if v.name == name)
    ws.config_path.write_bytes(variant.content)
    result = ws.run()
    assert result.returncode == 1, result.stderr
    assert f"{ws.config_path.relative_to(tmp_path)}: {line}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "logs").exists()


def test_a_log_file_that_cannot_be_created_stops_the_start_with_exit_1(tmp_path):
    ws = BotWorkspace(tmp_path)
    ws.write_config(logging={"log_file": "config/trading/7001.json/bot.log"})  # under a file
    result = ws.run()
    assert result.returncode == 1, result.stderr
    assert "config/trading/7001.json: logging.log_file: cannot write the log file" in result.stderr
    assert "7001.json is a file, not a folder" in result.stderr
    assert "Traceback" not in result.stderr
