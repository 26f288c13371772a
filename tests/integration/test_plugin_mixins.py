"""A user's own package adds a mixin through the tradingbot.entry_mixins entry-point group."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from strategies.mixins.registry import MixinRegistry

REPO = Path(__file__).resolve().parents[2]

PLUGIN = '''
from strategies.mixins.base import EntryMixin, Param


class CloseBelowSMAEntryMixin(EntryMixin):
    name = "CloseBelowSMAEntryMixin"
    rule = "close < SMA(close)"
    params = (Param("e_period", int, 50, "SMA length", minimum=2, maximum=1000),)

    def init(self, indicators):
        self.sma = indicators.sma(self.p.e_period)

    def should_enter(self, bar):
        return bar.close < self.sma.value
'''


def install_plugin(site: Path) -> None:
    """A minimal installed distribution: the module and a dist-info with its entry point."""
    (site / "my_mixins.py").write_text(PLUGIN)
    info = site / "my_mixins-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-mixins\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[tradingbot.entry_mixins]\nclose_below_sma = my_mixins:CloseBelowSMAEntryMixin\n")


def test_a_plugin_mixin_is_discovered_listed_and_accepted_by_the_validator(tmp_path, monkeypatch):
    install_plugin(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = MixinRegistry.discover()
    assert "CloseBelowSMAEntryMixin" in registry.names("entry")
    assert registry.check("entry", "CloseBelowSMAEntryMixin", {"e_perod": 5}) == [
        ("e_perod", "unknown parameter for CloseBelowSMAEntryMixin; did you mean 'e_period'?")]

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO / "src")]))
    listing = subprocess.run([sys.executable, "-m", "trading.cli", "mixins", "--json"], env=env,
                             cwd=REPO, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "CloseBelowSMAEntryMixin" in listing.stdout

    doc = json.loads((REPO / "config" / "trading" / "0001.json").read_text())
    doc["strategy"]["entry_logic"] = {"name": "CloseBelowSMAEntryMixin", "params": {"e_period": 30}}
    config = tmp_path / "9001.json"
    config.write_text(json.dumps(doc))
    checked = subprocess.run([sys.executable, "-m", "trading.cli", "validate", str(config)], env=env,
                             cwd=REPO, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    replay = subprocess.run([sys.executable, "-m", "trading.cli", "replay", str(config),
                             "--out", str(tmp_path / "out"), "--no-progress"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    assert (tmp_path / "out" / "trades.csv").read_text().count("\n") > 1
