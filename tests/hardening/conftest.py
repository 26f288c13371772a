"""The hardening corpus runs the real CLI as the integration tests do: share their workspace."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
