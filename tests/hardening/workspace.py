"""The integration tests' bot workspace (tests/integration/bot_workspace.py), for this folder.

The hardening corpus runs the real CLI as the integration tests do. Not a conftest.py: the
integration tests import their own ``conftest`` by that name.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from bot_workspace import (BOT_SCRIPT, REPO, SAMPLE, BotWorkspace,  # noqa: E402,F401
                           ScriptedSource, wait_until)

__all__ = ["BOT_SCRIPT", "REPO", "SAMPLE", "BotWorkspace", "wait_until"]
