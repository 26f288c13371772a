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
from trading.core.errors import ConfigError, VenueError
from trading.core.events import Event
from trading.core.settings import LIVE_MONEY_BROKERS, VENUE_BROKERS
from trading.persistence.repository import BotSnapshot
from trading.runtime.assembly import order_prefix
from trading.runtime.io_thread import IOThread
from trading.venues.factory import build_venue
from trading.venues.ibkr.connection import IbkrVenue
from trading.venues.ibkr.settings import is_paper_account

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 5.0
ACCOUNT_TIMEOUT = 120.0  # seconds to connect and learn the account (the venue retries inside)


def check_live_money(config: BotConfig, live_flag: bool, account: str | None = None) -> None:
    """Refuse to trade real money unless the config and the command line both say so.

    An ``ibkr`` broker trades real money only on a live account: ``account`` is the account TWS
    manages (None before connecting, when the check waits for it); a paper account (DU...)
    needs neither."""
    if config.broker.type not in LIVE_MONEY_BROKERS:
        return
    if config.broker.type == "ibkr" and (account is None or is_paper_account(account)):
        return
    missing = []
    if not config.live_trading_confirmed:
        missing.append('"live_trading_confirmed": true in the config')
    if not live_flag:
        missing.append("--live on the command line")
    if missing:
        what = (f"TWS / IB Gateway is logged in to the live account {account} (paper accounts "
                "start with DU), which trades real money" if account is not None else
                f"broker.type '{config.broker.type}' trades real money")
        raise ConfigError(f"{what}; refusing to start without {' and '.join(missing)}.")


class VenueLink:
    """See the module docstring. ``publish`` records an event (the bot's own publisher)."""

    def __init__(self, config: BotConfig, io: IOThread, publish: Callable[[Event], None],
                 live: bool = False) -> None:
        self.config = config
        self.io = io
        self.publish = publish
        self.live = live
        self.venue: Any = None
        self.broker: Any = None

    def build(self) -> tuple[Any, Any]:
        """The data source and the broker the config names, sharing one venue connection."""
        cfg = self.config
        if cfg.broker.type in VENUE_BROKERS and cfg.risk.trailing_stop.enabled:
            raise ConfigError("risk_management.trailing_stop: the trailing stop order is not "
                              f"supported by broker '{cfg.broker.type}' in this version; turn it "
                              "off and use the TrailingStopExitMixin exit instead")
        self.venue = build_venue(cfg.broker, cfg.data, cfg.ibkr, symbol=cfg.trading.symbol)
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
        if isinstance(self.venue, IbkrVenue):
            # connect first: an unknown contract or a client id in use is a clear start-up
            # error, and the account decides whether this is real money
            if not self.io.running:
                self.io.start()
            self._check_account()
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

    def _check_account(self) -> None:
        """Connect to IB, whose account decides whether the ibkr broker trades real money."""
        venue = self.venue

        async def connect() -> BaseException | None:
            try:
                await venue.start()
            except Exception as exc:  # raised on this thread with its message, not logged there
                return exc
            return None

        try:
            problem = self.io.submit(connect(), name="connect venue").result(ACCOUNT_TIMEOUT)
        except TimeoutError as exc:
            raise VenueError(f"TWS / IB Gateway did not answer within {ACCOUNT_TIMEOUT:g}s") \
                from exc
        if problem is not None:
            raise problem
        check_live_money(self.config, self.live, account=self.venue.account)

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
