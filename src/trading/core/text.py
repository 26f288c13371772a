"""Text as it is shown to people: always printable, and short where the input may be huge."""
from __future__ import annotations

EXCERPT_CHARS = 40


def printable(text: str) -> str:
    """``text`` with every lone surrogate written as an escape (``\\ud800``).

    Lone surrogates come from ``"\\ud800"`` escapes in JSON and from file names that are not
    UTF-8; printing, logging or storing them raises ``UnicodeEncodeError``. Everything else is
    returned unchanged.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def shortened(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its head and tail around `` ... ``."""
    if len(text) <= limit:
        return text
    tail = limit // 4
    return f"{text[:limit - tail - 5]} ... {text[-tail:]}"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` quoted (``repr``: control characters escaped) in about ``limit`` characters.

    A cut one ends with ``...`` and says how long the whole was: ``'\\x00\\x00'... (20,000
    characters)``.
    """
    shown = len(text)
    while len(repr(text[:shown])) > limit + 2 and shown > 1:  # escapes take up to 10 characters
        shown = min(shown - 1, limit) if shown > limit else shown * 2 // 3
    quoted = printable(repr(text[:shown]))
    return quoted if shown == len(text) else f"{quoted}... ({len(text):,} characters)"
