"""``tradingbot mixins``: every entry and exit mixin with its rule and parameters.

Read from the registry (built-in mixins and installed plugins), so it always matches what a config
may name. ``--json`` prints the same as a machine-readable list.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from strategies.mixins.base import Mixin, Param
from strategies.mixins.registry import Kind, MixinRegistry, default_registry
from trading.cli.common import command_parser

KINDS: tuple[Kind, ...] = ("entry", "exit")
_COLUMNS = ("param", "type", "default", "range", "description")


def describe_mixin(kind: Kind, cls: type[Mixin]) -> dict[str, Any]:
    """One mixin as plain data; each param carries its JSON Schema keywords (type, default, ...)."""
    return {"kind": kind, "name": cls.name, "rule": cls.describe(),
            "params": [{"name": p.name, **p.json_schema()} for p in cls.params]}


def catalog(registry: MixinRegistry) -> list[dict[str, Any]]:
    """Every mixin in the registry, entry mixins first, each kind sorted by name."""
    return [describe_mixin(kind, cls) for kind in KINDS for cls in registry.classes(kind)]


def _range(param: Param) -> str:
    """``1..1000``, ``0.01..<100`` (below 100), ``>= 0``, ``<= 5``, a choice list or ``any``."""
    if param.choices is not None:
        return " | ".join(param.choices)
    low = "" if param.minimum is None else f"{param.minimum:g}"
    high = "" if param.maximum is None else f"{param.maximum:g}"
    below = "" if param.exclusive_maximum is None else f"<{param.exclusive_maximum:g}"
    if low and (high or below):
        return f"{low}..{high or below}"
    if low:
        return f">= {low}"
    return f"<= {high}" if high else (below.replace("<", "< ") if below else "any")


def _table(cls: type[Mixin]) -> list[str]:
    rows = [(p.name, p.json_schema()["type"], json.dumps(p.default), _range(p), p.doc)
            for p in cls.params]
    if not rows:
        return ["    (no parameters)"]
    widths = [max(len(row[i]) for row in [_COLUMNS, *rows]) for i in range(len(_COLUMNS) - 1)]
    return ["    " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1]
            for row in [_COLUMNS, *rows]]


def render_text(registry: MixinRegistry) -> str:
    """The catalog as people read it: grouped by kind, a rule line and a param table per mixin."""
    lines: list[str] = []
    for kind in KINDS:
        classes = registry.classes(kind)
        where = "strategy.entry_logic" if kind == "entry" else "strategy.exit_logic"
        lines += [f"{kind.title()} mixins ({len(classes)}), named in {where}:", ""]
        if not classes:
            lines += ["  (none installed)", ""]
        for cls in classes:
            lines += [f"  {cls.name}", f"    {cls.describe()}", *_table(cls), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``tradingbot mixins [--json]``: list every mixin with its params, defaults and ranges."""
    parser = command_parser(prog="tradingbot mixins",
                            description="List every entry and exit mixin with its params, "
                                        "defaults and ranges.")
    parser.add_argument("--json", action="store_true", help="print a machine-readable JSON list")
    args = parser.parse_args(argv)
    registry = default_registry()
    if args.json:
        sys.stdout.write(json.dumps(catalog(registry), indent=2) + "\n")
    else:
        sys.stdout.write(render_text(registry))
    return 0


if __name__ == "__main__":
    sys.exit(main())
