"""Brokers: every one a Backtrader broker, so the strategy never knows which one it has. The
simulated ones (``mock``, ``paper``) live here, with what every venue's broker builds on
(``venue_broker``) and the one start-up reconciliation (``reconcile``)."""
