"""Secrets kept out of what the bot writes: logs, reports, the status file.

A secret is known by its value, wherever it shows up (an HTTP library logging a request's URL, a
config copied into a report), not by the name of the setting that holds it. The command that
runs registers the values it knows at start-up (``register_secrets``); the log filter and the
writers ask ``known_secrets()`` to replace each of them with ``***``. Values shorter than
``MIN_SECRET_LENGTH`` are left alone: replacing ``abc`` everywhere would ruin every log line.
"""
from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

REDACTED = "***"
MIN_SECRET_LENGTH = 6
# a URL query parameter whose name holds one of these is a credential (``?password=...``)
SECRET_QUERY_KEYS = ("password", "passwd", "pwd", "secret", "token", "key", "sslpassword")


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _is_secret_query_key(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_QUERY_KEYS)


def _split(url: str) -> Any:
    if "://" not in url:
        return None
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        return None
    return parts


def url_secrets(url: str | None) -> list[str]:
    """The credentials inside a URL: its password (as written and decoded) and the value of each
    query parameter named like a secret. Empty for a URL without any (or for no URL)."""
    parts = _split(url) if url else None
    if parts is None:
        return []
    found = []
    if parts.password:
        found += [parts.password, unquote(parts.password)]
    found += [value for key, value in parse_qsl(parts.query, keep_blank_values=True)
              if _is_secret_query_key(key)]
    return [v for v in dict.fromkeys(found) if v]


def whole_url_secrets(url: str | None) -> list[str]:
    """For a URL that is a secret as a whole (a webhook's: whoever has it can post): the URL and
    the path and query after its host, which some libraries log alone."""
    parts = _split(url) if url else None
    if parts is None:
        return [url] if url else []
    tail = urlunsplit(("", "", parts.path, parts.query, parts.fragment))
    return [v for v in (url, url.strip(), tail) if v and v.strip("/")] + url_secrets(url)


def hide_url_secrets(url: str, whole: bool = False) -> str:
    """``url`` with its credentials replaced by ``***`` (``whole``: everything after the host),
    safe to show. A text that is no URL comes back as it was."""
    parts = _split(url)
    if parts is None or not (whole or url_secrets(url)):
        return url
    netloc = parts.netloc
    if parts.password:
        netloc = f"{parts.username or ''}:{REDACTED}@{netloc.rpartition('@')[2]}"
    if whole:
        return urlunsplit((parts.scheme, netloc, "/" + REDACTED, "", ""))
    query = "&".join(f"{k}={REDACTED}" if _is_secret_query_key(k) else f"{k}={quote(v, safe='')}"
                     for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class SecretValues:
    """A set of secret values and one pattern that finds any of them in a text."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: tuple[str, ...] = ()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        """Also find ``values`` (and each as it looks percent-encoded in a URL)."""
        new = []
        for value in values:
            if isinstance(value, str) and len(value.strip()) >= MIN_SECRET_LENGTH:
                new += [value, value.strip(), quote(value.strip(), safe="")]
        with self._lock:
            merged = tuple(dict.fromkeys(self._values + tuple(new)))
            if merged == self._values:
                return
            longest_first = sorted(merged, key=len, reverse=True)  # a URL before its own path
            self._pattern = re.compile("|".join(map(re.escape, longest_first)))
            self._values = merged

    def __bool__(self) -> bool:
        return bool(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        pattern = self._pattern
        return pattern.sub(REDACTED, text) if pattern is not None and text else text

    def scrub(self, value: Any) -> Any:
        """A copy of a JSON-like value (dicts, lists, strings) with every secret in its strings
        (and keys) replaced by ``***``."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, tuple):
            return tuple(self.scrub(v) for v in value)
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return value

    def redact_fields(self, obj: Any) -> Any:
        """A frozen dataclass (an event) with every secret in its text fields replaced by
        ``***``; the object itself when none holds one."""
        pattern = self._pattern
        if pattern is None or not dataclasses.is_dataclass(obj):
            return obj
        changes = {f.name: self.scrub(value) for f in dataclasses.fields(obj)
                   if isinstance(value := getattr(obj, f.name), (str, dict, list, tuple))
                   and pattern.search(repr(value))}
        return dataclasses.replace(obj, **changes) if changes else obj


_KNOWN = SecretValues()


def register_secrets(values: Iterable[str]) -> None:
    """Add ``values`` to the secrets this process keeps out of logs and files."""
    _KNOWN.add(values)


def known_secrets() -> SecretValues:
    """The secrets this process registered (start-up: the config's and the environment's)."""
    return _KNOWN
