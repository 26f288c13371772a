"""Secrets from a .env file: set when absent, never override the environment, never logged."""
from __future__ import annotations

import logging
import os

from trading.config.env_file import load_env_file


def test_env_file_sets_missing_variables_and_the_environment_wins(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("TB_TEST_TOKEN", raising=False)
    monkeypatch.delenv("TB_TEST_QUOTED", raising=False)
    monkeypatch.setenv("TB_TEST_ALREADY", "from-environment")
    env = tmp_path / ".env"
    env.write_text("# secrets\n\nexport TB_TEST_TOKEN=abc123secret\nTB_TEST_QUOTED='with space'\n"
                   "TB_TEST_ALREADY=from-file\nnot a line\n")
    with caplog.at_level(logging.DEBUG):
        loaded = load_env_file(env)
    for name in ("TB_TEST_TOKEN", "TB_TEST_QUOTED"):
        monkeypatch.setenv(name, os.environ[name])  # let monkeypatch restore them afterwards
    assert sorted(loaded) == ["TB_TEST_QUOTED", "TB_TEST_TOKEN"]
    assert os.environ["TB_TEST_TOKEN"] == "abc123secret"
    assert os.environ["TB_TEST_QUOTED"] == "with space"
    assert os.environ["TB_TEST_ALREADY"] == "from-environment"
    assert "line 6" in caplog.text and "abc123secret" not in caplog.text


def test_a_missing_env_file_is_fine(tmp_path):
    assert load_env_file(tmp_path / ".env") == []
