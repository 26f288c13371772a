"""What each channel needs, from its config keys and the environment (the environment wins).

One place answers "can this channel send, and with what?": the validator turns the answer into
warnings, the bot into one start-up message per channel it has to leave off. Secrets (the bot
token, the SMTP password) come from the environment only and are never part of a message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from trading.core.redaction import whole_url_secrets

DEFAULT_TELEGRAM_API = "https://api.telegram.org"
EMAIL_SECURITY = ("starttls", "ssl", "none")
DEFAULT_SMTP_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    chat_id: str
    api_url: str  # the Bot API server's root; requests go to <api_url>/bot<token>/<method>
    # who may send commands; empty: the owner of a private chat only (nobody in a group chat)
    allowed_user_ids: tuple[int, ...] = ()

    def __repr__(self) -> str:  # never print the token
        return (f"TelegramSettings(chat_id={self.chat_id!r}, api_url={self.api_url!r}, "
                f"allowed_user_ids={self.allowed_user_ids!r})")


@dataclass(frozen=True)
class EmailSettings:
    host: str
    port: int
    security: str  # starttls | ssl | none
    username: str
    password: str
    from_addr: str
    to_addrs: tuple[str, ...]

    def __repr__(self) -> str:  # never print the password
        return (f"EmailSettings(host={self.host!r}, port={self.port}, security={self.security!r}, "
                f"from_addr={self.from_addr!r}, to_addrs={self.to_addrs!r})")


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    format: str  # text | json


@dataclass(frozen=True)
class Resolved:
    """A channel's settings, or what it lacks (``missing``: phrases for a person)."""

    settings: TelegramSettings | EmailSettings | WebhookSettings | None
    missing: tuple[str, ...] = ()

    def explain(self, channel: str) -> str:
        """``the telegram channel needs environment variable TELEGRAM_BOT_TOKEN; ...``."""
        return (f"the {channel} channel needs {' and '.join(self.missing)}; the bot runs without "
                "it until then")


def _env(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def telegram_settings(options: Mapping[str, Any], env: Mapping[str, str]) -> Resolved:
    token = _env(env, "TELEGRAM_BOT_TOKEN")
    chat_id = _env(env, "TELEGRAM_CHAT_ID") or str(options.get("chat_id") or "").strip()
    missing = []
    if not token:
        missing.append("environment variable TELEGRAM_BOT_TOKEN")
    if not chat_id:
        missing.append("a chat id in TELEGRAM_CHAT_ID or chat_id")
    allowed_text = _env(env, "TELEGRAM_ALLOWED_USER_IDS")
    words = ([w.strip() for w in allowed_text.split(",") if w.strip()] if allowed_text
             else [str(v) for v in options.get("allowed_user_ids") or ()])
    bad = [w for w in words if not re.fullmatch(r"-?[0-9]{1,20}", w)]
    if bad:
        missing.append(f"user ids written as whole numbers in TELEGRAM_ALLOWED_USER_IDS or "
                       f"allowed_user_ids (not {', '.join(repr(w[:20]) for w in bad[:3])})")
    if missing:
        return Resolved(None, tuple(missing))
    api_url = (_env(env, "TELEGRAM_API_URL") or DEFAULT_TELEGRAM_API).rstrip("/")
    return Resolved(TelegramSettings(token=token, chat_id=chat_id, api_url=api_url,
                                     allowed_user_ids=tuple(int(w) for w in words)))


def email_settings(options: Mapping[str, Any], env: Mapping[str, str]) -> Resolved:
    missing = []
    security = _env(env, "SMTP_SECURITY").lower() or str(options.get("security") or "starttls")
    if security not in EMAIL_SECURITY:
        missing.append(f"SMTP_SECURITY to be one of {', '.join(EMAIL_SECURITY)} "
                       f"(it is '{security}')")
    port_text = _env(env, "SMTP_PORT")
    port = options.get("smtp_port") or DEFAULT_SMTP_PORTS.get(security, 587)
    if port_text:
        if re.fullmatch(r"[0-9]{1,5}", port_text) and 0 < int(port_text) < 65536:
            port = int(port_text)
        else:
            missing.append(f"SMTP_PORT to be a port number (it is '{port_text}')")
    host = _env(env, "SMTP_HOST") or str(options.get("smtp_host") or "localhost")
    username, password = _env(env, "SMTP_USERNAME"), env.get("SMTP_PASSWORD") or ""
    if security != "none" and not (username and password):
        names = [n for n, v in (("SMTP_USERNAME", username), ("SMTP_PASSWORD", password)) if not v]
        missing.append(f"environment variable{'s' if len(names) > 1 else ''} "
                       f"{' and '.join(names)} (or SMTP_SECURITY=none for a local relay)")
    to_text = _env(env, "EMAIL_TO")
    to_addrs = (tuple(a.strip() for a in to_text.split(",") if a.strip()) if to_text
                else tuple(str(a) for a in options.get("to_addrs") or ()))
    if not to_addrs:
        missing.append("recipients in to_addrs or EMAIL_TO")
    from_addr = (_env(env, "SMTP_FROM") or str(options.get("from_addr") or "").strip()
                 or (username if "@" in username else ""))
    if not from_addr:
        missing.append("a sender in SMTP_FROM or from_addr")
    if missing:
        return Resolved(None, tuple(missing))
    return Resolved(EmailSettings(host=host, port=int(port), security=security, username=username,
                                  password=password, from_addr=from_addr, to_addrs=to_addrs))


def webhook_settings(options: Mapping[str, Any], env: Mapping[str, str]) -> Resolved:
    url = _env(env, "WEBHOOK_URL") or str(options.get("url") or "").strip()
    if not url:
        return Resolved(None, ("a url in WEBHOOK_URL or url",))
    if not url.startswith(("http://", "https://")):
        return Resolved(None, (f"an http:// or https:// url (got '{url.split(':')[0]}:...')",))
    return Resolved(WebhookSettings(url=url, format=str(options.get("format") or "text")))


def channel_secrets(options: Mapping[str, Mapping[str, Any]], env: Mapping[str, str]
                    ) -> Iterable[str]:
    """Every secret the channels would use, enabled or not: the bot token (and its part after the
    bot id, which is the secret), the SMTP password, the webhook URL (whoever has it can post).
    ``options``: each channel's config section by name."""
    token = _env(env, "TELEGRAM_BOT_TOKEN")
    yield from (token, token.partition(":")[2], env.get("SMTP_PASSWORD") or "")
    for url in (_env(env, "WEBHOOK_URL"), str((options.get("webhook") or {}).get("url") or "")):
        yield from whole_url_secrets(url.strip())


RESOLVERS = {"telegram": telegram_settings, "email": email_settings, "webhook": webhook_settings}


def resolve(channel: str, options: Mapping[str, Any], env: Mapping[str, str]) -> Resolved:
    """The settings of ``channel`` (telegram, email, webhook) from its config keys and ``env``."""
    return RESOLVERS[channel](options, env)
