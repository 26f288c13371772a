"""SIGTERM and SIGINT ask a running bot to stop without ever waiting on a lock the interrupted
main thread holds: the stop request takes the lock of the live feed's queue, and the main thread
(Backtrader's loop) may be inside that queue's ``get`` when the signal lands."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

SCRIPT = textwrap.dedent("""
    import os, queue, signal, sys, threading
    sys.path.insert(0, sys.argv[1])
    from trading.cli.stop_signals import StopSignals

    feed = queue.Queue(maxsize=10)
    signals = StopSignals().install()
    signals.attach(lambda: feed.put_nowait("stop"))  # as LiveFeed.request_stop wakes the feed
    with feed.mutex:  # the main thread inside the queue's get() when the signal comes
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs between two of these steps
            pass
    print(feed.get(timeout=10), signals.received)
""")


def test_a_stop_signal_landing_while_the_feed_queue_is_locked_still_stops_the_bot(tmp_path):
    script = tmp_path / "signal_in_get.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(SRC)], capture_output=True,
                          text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["stop", "SIGTERM"]
    assert "stopping after the bar in hand" in done.stderr
