"""The TWS socket protocol's framing and field text, as the real client reads and writes it.

After the ``API\\0`` greeting every message is a 4-byte big-endian length followed by fields, each
ended by a NUL. Numbers are plain text; TWS's "no value" markers are the largest int and double.
"""
from __future__ import annotations

import asyncio
import math
import struct
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

UNSET_INTEGER = 2**31 - 1
UNSET_DOUBLE = 1.7976931348623157e308
UNSET_DOUBLE_TEXT = "1.7976931348623157E308"  # how TWS writes an unset double
MAX_MESSAGE = 16 * 1024 * 1024  # a longer length prefix is a broken peer, not a message


class ProtocolError(Exception):
    """The peer sent something that is not the TWS protocol."""


def field_text(value: object) -> str:
    """One field as TWS writes it: bools as 1/0, None as empty, unset doubles as TWS's marker."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value >= UNSET_DOUBLE:
            return UNSET_DOUBLE_TEXT
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))  # TWS writes whole quantities and prices without ".0"
        return repr(value)
    return str(value)


def encode(*fields: object) -> bytes:
    """A length-prefixed message of ``fields``."""
    body = "".join(field_text(f) + "\0" for f in fields).encode()
    return struct.pack(">I", len(body)) + body


def split_fields(body: bytes) -> list[str]:
    fields = body.decode(errors="backslashreplace").split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


async def read_message(reader: asyncio.StreamReader) -> list[str]:
    """The next message's fields; raises ``asyncio.IncompleteReadError`` at end of stream."""
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    if length > MAX_MESSAGE:
        raise ProtocolError(f"message of {length} bytes")
    return split_fields(await reader.readexactly(length))


async def read_greeting(reader: asyncio.StreamReader) -> tuple[int, int, str]:
    """The client's ``API\\0`` + ``v<min>..<max>[ options]``: (min, max, options)."""
    magic = await reader.readexactly(4)
    if magic != b"API\0":
        raise ProtocolError(f"expected API\\0, got {magic!r}")
    (length,) = struct.unpack(">I", await reader.readexactly(4))
    if length > 1024:
        raise ProtocolError(f"greeting of {length} bytes")
    text = (await reader.readexactly(length)).decode()
    versions, _, options = text.partition(" ")
    if not versions.startswith("v") or ".." not in versions:
        raise ProtocolError(f"bad version range {text!r}")
    low, high = versions[1:].split("..", 1)
    return int(low), int(high), options


def tws_time(when: datetime, tz: str) -> str:
    """``yyyymmdd hh:mm:ss <zone>``, TWS's date-time text in its own time zone."""
    local = when.astimezone(ZoneInfo(tz))
    return f"{local:%Y%m%d %H:%M:%S} {tz}"


def epoch_text(ts: float, tz: str) -> str:
    return tws_time(datetime.fromtimestamp(ts, timezone.utc), tz)


def to_float(text: str, default: float = 0.0) -> float:
    """A numeric field as the client sent it (empty means unset)."""
    if not text:
        return default
    if text == "Infinite":
        return math.inf
    return float(text)


def to_int(text: str, default: int = 0) -> int:
    return int(float(text)) if text else default


def to_bool(text: str) -> bool:
    return bool(int(text or 0))
