"""The systemd unit example: valid for systemd, and it stops the bot the way the bot expects."""
from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from trading.runtime.bot import CLOSE_ON_SHUTDOWN_TIMEOUT

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "tradingbot@.service"


def _service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_the_unit_stops_with_sigterm_and_waits_longer_than_the_closing_fill():
    service = _service()
    assert service["KillSignal"] == "SIGTERM"
    assert float(service["TimeoutStopSec"]) > CLOSE_ON_SHUTDOWN_TIMEOUT
    assert service["Restart"] == "on-failure"
    # a bad config (1) or an unreadable one (2) needs a person, not a restart loop
    assert set(service["RestartPreventExitStatus"].split()) == {"1", "2"}
    assert service["ExecStart"].endswith("tradingbot run %i")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed here: the unit is not verified")
def test_systemd_analyze_verifies_the_unit_without_a_warning(tmp_path):
    # verify checks that ExecStart exists: point the install folder at a stand-in
    app = tmp_path / "app"
    (app / ".venv" / "bin").mkdir(parents=True)
    executable = app / ".venv" / "bin" / "tradingbot"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    unit = tmp_path / "tradingbot@0001.service"
    unit.write_text(UNIT.read_text().replace("/opt/tradingbot", str(app)))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
