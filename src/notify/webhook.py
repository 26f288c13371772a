"""The ``webhook`` channel: one JSON POST per message (httpx, on the I/O loop).

``format: text`` posts ``{"text": "..."}``, which Slack, Discord (``/slack`` endpoints) and
Mattermost incoming webhooks show as is; ``format: json`` posts the raw event with the bot id.
A webhook URL is itself a secret (whoever has it can post): logs name only its host.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from notify.channel import ChannelError, ChannelLimits
from notify.messages import Message
from notify.settings import WebhookSettings


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class WebhookChannel:
    """POSTs each message to ``settings.url``."""

    name = "webhook"

    def __init__(self, settings: WebhookSettings, limits: ChannelLimits) -> None:
        self.settings = settings
        self.limits = limits
        self.target = urlsplit(settings.url).netloc  # what logs may show of the url
        # the worker enforces the timeout as a whole; httpx's own bounds each step as well
        self._client = httpx.AsyncClient(timeout=limits.timeout_seconds)

    def body(self, message: Message) -> dict:
        return message.payload if self.settings.format == "json" else {"text": message.text}

    async def send(self, message: Message) -> None:
        try:
            response = await self._client.post(self.settings.url, json=self.body(message))
        except httpx.HTTPError as exc:  # str(exc) may hold the url: say what kind it was
            raise ChannelError(f"{self.target}: {type(exc).__name__}") from None
        if response.status_code == 429 or response.status_code >= 300:
            raise ChannelError(f"{self.target} answered HTTP {response.status_code}",
                               retry_after=_retry_after(response) if response.status_code in
                               (429, 503) else None)

    async def close(self) -> None:
        await self._client.aclose()
