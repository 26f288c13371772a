"""The bot's link to its venue: builds the one connection its feed and broker share (from the
venue registry), connects it before anything is written, holds the real-money rule, reconciles
the database with the venue at start-up, reports the venue in the status, closes it at the end.

``LiveTradingBot`` calls it at a few clearly marked places; nothing here names a venue: each
venue's declaration (``trading.venues.registry``) says what it serves and how it is built. A
bot without a venue (file data, paper broker) gets the file source and the simulated broker,
and every venue step is a no-op.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any, Callable

from brokers.factory import build_broker
from feeds.factory import build_source
from feeds.first_contact import never_connected
from trading.config.models import BotConfig
from trading.core.client_ids import order_prefix
from trading.core.errors import ConfigError, VenueError
from trading.core.events import Event
from trading.persistence.repository import BotSnapshot
from trading.runtime.io_thread import IOThread
from trading.venues.registry import Venue, VenueRequest, venues

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 120.0  # seconds to connect and learn the account (the venue retries inside)


def venue_of(config: BotConfig) -> tuple[Venue | None, Venue | None]:
    """(the venue the broker trades at, the venue the data comes from); None for the simulated
    brokers and the file source. The validator makes sure the two are one when both are set."""
    registry = venues()
    return registry.for_broker(config.broker.type), registry.for_data_source(config.data.data_source)


def check_live_money(config: BotConfig, live_flag: bool, connection: Any = None) -> None:
    """Refuse to trade real money unless the config and the command line both say so.

    The broker's venue decides what real money is (``Venue.real_money``); one whose account
    decides (a live or a paper account) is asked again once connected (``connection``)."""
    broker_venue, _ = venue_of(config)
    if broker_venue is None:
        return
    real = broker_venue.real_money(config.broker.type, connection)
    if not real:  # False, or None: only the connected account can tell
        return
    missing = []
    if not config.live_trading_confirmed:
        missing.append('"live_trading_confirmed": true in the config')
    if not live_flag:
        missing.append("--live on the command line")
    if missing:
        account = getattr(connection, "account", None) if connection is not None else None
        what = (f"{broker_venue.title} is logged in to the live account {account}, which "
                "trades real money" if account else
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
        self.venue: Venue | None = None
        self.connection: Any = None
        self.broker: Any = None
        self._serves_data = False  # the venue is the data source's too

    def build(self) -> tuple[Any, Any]:
        """The data source and the broker the config names, sharing one venue connection,
        which is connected before this returns: a symbol or contract the venue does not know,
        an unreachable venue or a live account without the owner's confirmation stop the start
        here, before anything is written."""
        cfg = self.config
        broker_venue, data_venue = venue_of(cfg)
        self.venue = broker_venue or data_venue
        settings = None
        if self.venue is not None:
            settings = cfg.venue_settings.get(self.venue.section) if self.venue.section else None
            self.connection = self.venue.connect(VenueRequest(
                broker=cfg.broker if broker_venue is not None else None, data=cfg.data,
                settings=settings, symbol=cfg.trading.symbol, symbols=cfg.trading.symbols,
                env=os.environ))
            self.connection.bind(self.io.submit)
        self._serves_data = data_venue is not None
        if data_venue is not None:
            source = data_venue.bar_source(self.connection, cfg.data, settings)
        else:
            source = build_source(cfg.data, resume_after_ts=None)
        if broker_venue is not None:
            self.broker = broker_venue.broker(self.connection, cfg.broker, cfg.trading.symbols)
            events_to = getattr(self.broker, "events_to", None)
            if events_to is not None:
                events_to(self.publish)
        else:
            self.broker = build_broker(cfg.broker)
        if self.connection is not None:
            self._connect()
        return source, self.broker

    def align_seconds(self) -> float | None:
        """How long a basket's step waits for late bars from the data's venue (its own
        declaration); None for the file source."""
        _, data_venue = venue_of(self.config)
        return data_venue.align_seconds if data_venue is not None else None

    def _connect(self) -> None:
        """Connect on the I/O thread (started here); then the connected account may decide
        whether the broker trades real money."""
        if not self.io.running:
            self.io.start()
        connection = self.connection

        async def connect() -> BaseException | None:
            try:
                await connection.start()
            except Exception as exc:  # raised on this thread with its message, not logged there
                return exc
            return None

        assert self.venue is not None
        bound = self.config.data.connect_timeout_seconds if self._serves_data else 0.0
        limit = min(CONNECT_TIMEOUT, bound) if bound > 0 else CONNECT_TIMEOUT
        try:
            problem = self.io.submit(connect(), name="connect venue").result(limit)
        except TimeoutError as exc:
            if limit < CONNECT_TIMEOUT:  # the config's bound: say which, and what went wrong
                raise never_connected(self.venue.title, limit,
                                      str(getattr(connection, "last_error", "") or "")) from exc
            raise VenueError(f"{self.venue.title} did not answer within "
                             f"{CONNECT_TIMEOUT:g}s") from exc
        if problem is not None:
            raise problem
        check_live_money(self.config, self.live, connection)

    def reconcile(self, snapshot: BotSnapshot) -> BotSnapshot:
        """Compare the saved state of each symbol the bot trades with the venue's (the venue
        wins); returns what to restore: the positions, holdings and pending orders as
        reconciled. A saved position in a symbol the config no longer trades is left as it is
        (the start refuses it: ``check_symbols``).

        Raises VenueError only when the venue cannot be reached after retries: then the bot
        cannot tell, and refuses to start."""
        reconcile = getattr(self.broker, "reconcile", None)
        if reconcile is None:
            return snapshot
        symbols = self.config.trading.symbols
        traded = {s: p for s, p in snapshot.positions.items() if s in symbols}
        result = reconcile(positions=traded, pending=snapshot.pending_orders,
                           order_prefix=order_prefix(self.config.bot_id),
                           holdings=snapshot.holdings)
        for event in result.events:
            self.publish(event)
        dropped = {s: p for s, p in snapshot.positions.items() if s not in symbols}
        holdings = {s: h for s, h in (snapshot.holdings or {}).items() if s not in symbols}
        holdings.update(result.holdings)
        return dataclasses.replace(
            snapshot, positions=dict(sorted({**result.positions, **dropped}.items())),
            pending_orders=result.pending_orders,
            holdings=dict(sorted(holdings.items())) if holdings or snapshot.holdings is not None
            else None)

    def close(self) -> None:
        """Close the venue connection on the I/O thread (before the thread stops)."""
        if self.connection is None or not self.io.running:
            return
        try:
            self.io.submit(self.connection.close(), name="close venue").result(CLOSE_TIMEOUT)
        except Exception as exc:  # closing is best effort: the process is ending anyway
            log.debug("closing the venue connection: %s", exc)

    def status(self) -> dict[str, Any]:
        """``{"venue": {...}}`` for the status document (empty without a venue)."""
        if self.connection is None:
            return {}
        return {"venue": self.connection.status()}
