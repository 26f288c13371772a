"""Notifications: events to the log and to channels (telegram, email, webhook), off the
trading thread.

``notifier.Notifier`` takes events from any thread and fans them out on the bot's I/O loop, one
``worker.ChannelWorker`` per channel (bounded outbox, timeout, retries with backoff, rate limit).
Each channel is one module with one shape (``channel.Channel``); ``factory.build_channels`` builds
the enabled ones from the config and the environment (``settings``); ``messages`` formats events.
"""
