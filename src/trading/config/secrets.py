"""Which values of a config and its environment are secrets, and the config as it may be shared.

``secret_values`` gathers them at start-up (``register_config_secrets`` hands them to the log
filter and the writers): every environment variable named like a secret (``*_API_KEY``,
``*_SECRET``, ``*_TOKEN``, ``*_PASSWORD``) or declared by a venue or a channel, the password in any
URL (the database's, an endpoint's, one in the environment), and the webhook URL as a whole.
``scrub_config`` is the one function every writer of a config copy calls (metrics.json,
sweep.json): the same document with those values replaced by ``***``.
"""
from __future__ import annotations

import copy
import re
from typing import Any, Iterable, Iterator, Mapping

from notify.settings import channel_secrets
from trading.core.redaction import (
    REDACTED,
    SecretValues,
    known_secrets,
    hide_url_secrets,
    register_secrets,
    url_secrets,
)
from trading.venues.registry import venues

SECRET_ENV_NAME = re.compile(r"(API_KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE)$")
# config keys whose value is a secret as a whole (not only a password inside it)
WHOLE_SECRETS = (("notifications", "webhook", "url"),)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _venue_secret_names() -> set[str]:
    return {name for venue in venues() for broker_type in venue.broker_types
            for name in venue.secrets(broker_type)}


def env_secrets(env: Mapping[str, str]) -> list[str]:
    """The secrets in ``env``: variables named like a secret or declared by a venue, and the
    password in any URL it holds (``DATABASE_URL``, a proxy's)."""
    names = {k for k in env if SECRET_ENV_NAME.search(k.upper())} | _venue_secret_names()
    found = [env[name] for name in sorted(names) if env.get(name)]
    found += [s for value in env.values() for s in url_secrets(value)]
    return found


def secret_values(document: Mapping[str, Any], env: Mapping[str, str],
                  urls: Iterable[str | None] = ()) -> list[str]:
    """Every secret a run of ``document`` (the effective config) in ``env`` may know, plus the
    passwords in ``urls`` given on the command line (``--db``)."""
    found = env_secrets(env)
    found += channel_secrets(document.get("notifications") or {}, env)
    found += [s for text in _strings(document) for s in url_secrets(text)]
    found += [s for url in urls for s in url_secrets(url)]
    return list(dict.fromkeys(v for v in found if v))


def register_config_secrets(document: Mapping[str, Any], env: Mapping[str, str],
                            urls: Iterable[str | None] = ()) -> None:
    """Keep every secret of ``document`` and ``env`` out of this process's logs and files."""
    register_secrets(secret_values(document, env, urls))


def _scrub(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, Mapping):
        return {k: _scrub(v, path + (str(k),)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, path) for v in value]
    if isinstance(value, str):
        if path in WHOLE_SECRETS:
            return hide_url_secrets(value, whole=True) if "://" in value else REDACTED
        return hide_url_secrets(value)
    return copy.deepcopy(value)


def scrub_config(document: Mapping[str, Any],
                 secrets: SecretValues | None = None) -> dict[str, Any]:
    """A copy of a config document that is safe to write where people share it: the webhook URL
    cut to its host, the password in any URL masked, and every registered secret (``secrets``:
    another set than the process's) replaced by ``***`` wherever it appears."""
    return (known_secrets() if secrets is None else secrets).scrub(_scrub(document, ()))
