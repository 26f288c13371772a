"""A bounded wait for a data source's first contact, so a bot that never got through stops.

A venue's source retries for ever once it has delivered (a network blip must not stop a bot that
trades); but a source that has delivered nothing since the bot started (no network, a wrong
endpoint, a venue that is down) would only log warnings for ever. ``run_source`` gives it
``connect_timeout`` seconds to deliver its first bar or go LIVE, then cancels it and raises
``NeverConnected`` with the last problem the source met.

Applies to sources with ``reaches_network = True`` (every venue's, through ``VenueBarSource``);
a file replay has nothing to wait for.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from feeds.live import BarSink
from trading.core.errors import VenueError

log = logging.getLogger(__name__)


class NeverConnected(VenueError):
    """A data source delivered nothing (no bar, never LIVE) within its connect timeout."""


async def run_source(source: Any, sink: BarSink, connect_timeout: float | None,
                     setting: str = "data.connect_timeout_seconds") -> None:
    """``await source.run(sink)``; raises ``NeverConnected`` (naming ``setting``, which sets the
    timeout) when the source has not connected ``connect_timeout`` seconds after the start.
    None or 0: wait for ever, as once connected."""
    if not connect_timeout or not getattr(source, "reaches_network", False):
        await source.run(sink)
        return
    running = asyncio.ensure_future(source.run(sink))
    contact = asyncio.ensure_future(sink.wait_connected())
    try:
        done, _ = await asyncio.wait({running, contact}, timeout=connect_timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
    except BaseException:  # the caller was cancelled: so is the source
        running.cancel()
        raise
    finally:
        contact.cancel()
    if not done:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await running
        raise never_connected(getattr(source, "label", None) or source.describe(),
                              connect_timeout, getattr(source, "last_problem", ""), setting)
    await running  # connected (or the source ended): it runs on as it always did


def never_connected(what: str, seconds: float, problem: str,
                    setting: str = "data.connect_timeout_seconds") -> NeverConnected:
    """The error for ``what`` (a source, a venue) that got nowhere in ``seconds``: the last
    ``problem`` it met, and what to do."""
    return NeverConnected(
        f"{what}: no bar and no live connection in the {seconds:g}s since the start ({setting}); "
        f"the last problem: {problem or 'nothing answered'}. Check the network and the venue's "
        f"address (its endpoint settings), or raise {setting}")
