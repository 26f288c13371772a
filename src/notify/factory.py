"""Builds the enabled channels from the notifications config and the environment.

A channel's client library is imported only when that channel is enabled (a bot without
Telegram never imports python-telegram-bot). An enabled channel that lacks its settings is left
off with one clear message; the bot runs without it.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Mapping

from notify.channel import Channel, ChannelLimits
from notify.settings import resolve
from trading.core.settings import CHANNELS, ChannelConfig, NotificationsConfig

log = logging.getLogger(__name__)


@dataclass
class BuiltChannels:
    """The channels that will send, and one line for each enabled channel left off."""

    channels: list[Channel] = field(default_factory=list)
    left_off: list[str] = field(default_factory=list)

    def get(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)


def _limits(config: ChannelConfig) -> ChannelLimits:
    return ChannelLimits(notify_on=config.notify_on, timeout_seconds=config.timeout_seconds,
                         rate_limit_per_minute=config.rate_limit_per_minute)


def _build(name: str, settings: object, limits: ChannelLimits) -> Channel:
    if name == "telegram":
        from notify.telegram import TelegramChannel
        return TelegramChannel(settings, limits)  # type: ignore[arg-type]
    if name == "email":
        from notify.email import EmailChannel
        return EmailChannel(settings, limits)  # type: ignore[arg-type]
    from notify.webhook import WebhookChannel
    return WebhookChannel(settings, limits)  # type: ignore[arg-type]


def build_channels(config: NotificationsConfig, env: Mapping[str, str] | None = None
                   ) -> BuiltChannels:
    """Every channel that is enabled and has what it needs (``env`` defaults to os.environ)."""
    env = os.environ if env is None else env
    built = BuiltChannels()
    if not config.enabled:
        return built
    for name in CHANNELS:
        channel_config = config.channel(name)
        if not channel_config.enabled:
            continue
        resolved = resolve(name, channel_config.options, env)
        if resolved.settings is None:
            built.left_off.append(f"notifications.{name}: {resolved.explain(name)}")
            continue
        built.channels.append(_build(name, resolved.settings, _limits(channel_config)))
    return built
