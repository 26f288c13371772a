"""Loopback servers speaking real wire protocols (Telegram Bot API, SMTP, webhooks) for tests.

Each binds 127.0.0.1 on a free port, is started and stopped by a fixture, can misbehave on request
(delay, 429, 5xx), and bounds every wait it makes.
"""
