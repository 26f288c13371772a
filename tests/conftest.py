"""Shared fixtures: the loopback fakes (Telegram Bot API, SMTP with STARTTLS, webhook receiver).

This folder is on ``sys.path`` (pytest puts a rootless conftest's folder there), so tests import
``fakes.*``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from fakes.smtp_server import FakeSMTP
from fakes.telegram_api import FakeTelegram
from fakes.webhook_server import FakeWebhook

TELEGRAM_TOKEN = "123456789:AAF-fake-token-NOT-A-REAL-ONE-x9z"
OWNER_CHAT = 4242
SMTP_USER = "bot@example.com"
SMTP_PASSWORD = "smtp-pw-Zq81-never-logged"


@pytest.fixture
def telegram_fake() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(TELEGRAM_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def webhook_fake() -> Iterator[FakeWebhook]:
    fake = FakeWebhook().start()
    yield fake
    fake.stop()


@pytest.fixture
def smtp_fake(tmp_path: Path) -> Iterator[FakeSMTP]:
    fake = FakeSMTP(tmp_path, SMTP_USER, SMTP_PASSWORD).start()
    yield fake
    fake.stop()
