"""Building blocks of the config's JSON Schema, shared by the config and the venues that add a
section of their own (an adapter's settings are part of the user's contract too)."""
from __future__ import annotations

from typing import Any

MAX_NAME = 100  # versions, names
MAX_SYMBOL = 32  # what the database's symbol column holds
MAX_PATH = 4096  # file paths (PATH_MAX) and URLs


def obj(description: str, properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed object: every key described, no other key allowed."""
    schema: dict[str, Any] = {"type": "object", "description": description,
                              "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def scalar(kind: str, description: str, default: Any = None, **rules: Any) -> dict[str, Any]:
    """A leaf key. ``rules`` are JSON Schema keywords spelt in snake case (``exclusive_minimum``)."""
    schema: dict[str, Any] = {"type": kind, "description": description}
    if default is not None:
        schema["default"] = default
    for key, value in rules.items():
        head, *rest = key.split("_")
        schema[head + "".join(word.title() for word in rest)] = value
    return schema


def enum(description: str, choices: tuple[str, ...] | list[str], default: str | None = None) -> dict[str, Any]:
    """A string that must be one of ``choices``."""
    return scalar("string", description, default, enum=list(choices))
