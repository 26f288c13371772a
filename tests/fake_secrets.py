"""The made-up credentials the tests hand to the bot and its fake services (never real ones).

A module of its own, not the root conftest: a test imports them by this name, which no other
conftest.py in a test folder can shadow."""

TELEGRAM_TOKEN = "123456789:AAF-fake-token-NOT-A-REAL-ONE-x9z"
OWNER_CHAT = 4242
SMTP_USER = "bot@example.com"
SMTP_PASSWORD = "smtp-pw-Zq81-never-logged"
