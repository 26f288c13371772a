"""The mixin registry: finds mixins by JSON name, validates their params and builds them.

Built-in mixins live in ``strategies.mixins.entry`` / ``strategies.mixins.exit``; a user's own
package adds more through the entry-point groups ``tradingbot.entry_mixins`` and
``tradingbot.exit_mixins`` (each entry point names a mixin class). The registry is the single
source for the config schema, the validator and ``tradingbot mixins``.
"""
from __future__ import annotations

import difflib
import importlib
import logging
import pkgutil
from importlib.metadata import entry_points
from typing import Any, Literal, Mapping

from strategies.mixins.base import EntryMixin, ExitMixin, Mixin
from trading.core.errors import MixinError

log = logging.getLogger(__name__)

Kind = Literal["entry", "exit"]
_BASES: dict[str, type[Mixin]] = {"entry": EntryMixin, "exit": ExitMixin}
_GROUPS = {"entry": "tradingbot.entry_mixins", "exit": "tradingbot.exit_mixins"}


def _builtin_classes(kind: Kind) -> list[type[Mixin]]:
    package = importlib.import_module(f"strategies.mixins.{kind}")
    found: list[type[Mixin]] = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, _BASES[kind]) and obj is not _BASES[kind]
                    and obj.__module__ == module.__name__ and "name" in vars(obj)):
                found.append(obj)
    return found


def _plugin_classes(kind: Kind) -> list[type[Mixin]]:
    found: list[type[Mixin]] = []
    for ep in entry_points(group=_GROUPS[kind]):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not take the bot down
            log.warning("could not load %s mixin plugin %r (%s): %s", kind, ep.name, ep.value, exc)
            continue
        if isinstance(obj, type) and issubclass(obj, _BASES[kind]):
            found.append(obj)
        else:
            log.warning("%s mixin plugin %r (%s) is not a %s subclass; ignored",
                        kind, ep.name, ep.value, _BASES[kind].__name__)
    return found


class MixinRegistry:
    """Entry and exit mixins by name."""

    def __init__(self, entry: list[type[EntryMixin]], exit: list[type[ExitMixin]]) -> None:
        self._by_kind: dict[str, dict[str, type[Mixin]]] = {
            "entry": {cls.name: cls for cls in entry},
            "exit": {cls.name: cls for cls in exit},
        }

    @classmethod
    def discover(cls) -> "MixinRegistry":
        """Built-in mixins plus every installed plugin's."""
        return cls(_builtin_classes("entry") + _plugin_classes("entry"),  # type: ignore[arg-type]
                   _builtin_classes("exit") + _plugin_classes("exit"))  # type: ignore[arg-type]

    def names(self, kind: Kind) -> list[str]:
        return sorted(self._by_kind[kind])

    def classes(self, kind: Kind) -> list[type[Mixin]]:
        return [self._by_kind[kind][n] for n in self.names(kind)]

    def find(self, kind: Kind, name: str) -> type[Mixin] | None:
        return self._by_kind[kind].get(name)

    def suggest(self, kind: Kind, name: str) -> str | None:
        match = difflib.get_close_matches(name, self._by_kind[kind], n=1, cutoff=0.5)
        return match[0] if match else None

    def unknown_message(self, kind: Kind, name: str) -> str:
        hint = self.suggest(kind, name)
        msg = f"unknown {kind} mixin '{name}'"
        if hint:
            return msg + f"; did you mean '{hint}'?"
        return msg + f" (available: {', '.join(self.names(kind))})"

    def check(self, kind: Kind, name: str, params: Mapping[str, Any]) -> list[tuple[str | None, str]]:
        """Every problem with a mixin spec: (param key or None for the name, message)."""
        cls = self.find(kind, name)
        if cls is None:
            return [(None, self.unknown_message(kind, name))]
        return [(key, msg) for key, msg in cls.check_params(params)]

    def build(self, kind: Kind, name: str, params: Mapping[str, Any] | None = None) -> Mixin:
        """Build a mixin, raising MixinError with every problem named."""
        problems = self.check(kind, name, params or {})
        if problems:
            raise MixinError("; ".join(f"{name}.{k}: {m}" if k else m for k, m in problems))
        cls = self.find(kind, name)
        assert cls is not None
        return cls(params)


_default: MixinRegistry | None = None


def default_registry() -> MixinRegistry:
    """The process-wide registry (discovered once)."""
    global _default
    if _default is None:
        _default = MixinRegistry.discover()
    return _default
