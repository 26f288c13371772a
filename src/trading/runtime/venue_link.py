"""The bot's link to its venue: builds the one connection its feed and broker share, reconciles
the database with the venue at start-up, reports the venue in the status, closes it at the end.

``LiveTradingBot`` calls it at a few clearly marked places; everything venue-specific about the
bot's lifecycle lives here, so the bot itself stays venue-agnostic. For a bot without a venue
(file data, paper broker) every method is a no-op.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable

from brokers.factory import build_broker
from feeds.factory import build_source
from trading.config.models import BotConfig
from trading.core.errors import ConfigError
from trading.core.events import Event
from trading.core.settings import VENUE_BROKERS
from trading.persistence.repository import BotSnapshot
from trading.runtime.assembly import order_prefix
from trading.runtime.io_thread import IOThread
from trading.venues.factory import build_venue

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 5.0


class VenueLink:
    """See the module docstring. ``publish`` records an event (the bot's own publisher)."""

    def __init__(self, config: BotConfig, io: IOThread, publish: Callable[[Event], None]) -> None:
        self.config = config
        self.io = io
        self.publish = publish
        self.venue: Any = None
        self.broker: Any = None

    def build(self) -> tuple[Any, Any]:
        """The data source and the broker the config names, sharing one venue connection."""
        cfg = self.config
        if cfg.broker.type in VENUE_BROKERS and cfg.risk.trailing_stop.enabled:
            raise ConfigError("risk_management.trailing_stop: the trailing stop order is not "
                              f"supported by broker '{cfg.broker.type}' in this version; turn it "
                              "off and use the TrailingStopExitMixin exit instead")
        self.venue = build_venue(cfg.broker, cfg.data)
        if self.venue is not None:
            self.venue.bind(self.io.submit)
        source = build_source(cfg.data, resume_after_ts=None, venue=self.venue)
        check_symbol = getattr(self.venue, "check_symbol", None)  # a data-only venue (yahoo)
        if check_symbol is not None:  # a symbol it does not know is a start-up error
            check_symbol(cfg.data.symbol, cfg.data.interval)
        self.broker = build_broker(cfg.broker, venue=self.venue, symbol=cfg.trading.symbol)
        return source, self.broker

    def reconcile(self, snapshot: BotSnapshot) -> BotSnapshot:
        """Compare the saved state with the venue's (the venue wins); returns what to restore.

        Starts the I/O thread (the venue lives there). Raises VenueError only when the venue
        cannot be reached after retries: then the bot cannot tell, and refuses to start.
        """
        reconcile = getattr(self.broker, "reconcile", None)
        if reconcile is None:
            return snapshot
        if not self.io.running:
            self.io.start()
        result = reconcile(position=snapshot.position, pending=snapshot.pending_orders,
                           order_prefix=order_prefix(self.config.bot_id))
        for event in result.events:
            self.publish(event)
        return dataclasses.replace(snapshot, position=result.position,
                                   pending_orders=result.pending_orders)

    def close(self) -> None:
        """Close the venue connection on the I/O thread (before the thread stops)."""
        if self.venue is None or not self.io.running:
            return
        try:
            self.io.submit(self.venue.close(), name="close venue").result(CLOSE_TIMEOUT)
        except Exception as exc:  # closing is best effort: the process is ending anyway
            log.debug("closing the venue connection: %s", exc)

    def status(self) -> dict[str, Any]:
        """``{"venue": {...}}`` for the status document (empty without a venue)."""
        if self.venue is None:
            return {}
        return {"venue": self.venue.status()}
