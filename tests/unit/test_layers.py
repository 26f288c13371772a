"""The import rule of docs/architecture.md, read from every module's source with ``ast``.

Every import counts, also one inside a function or under ``if TYPE_CHECKING``: a layer that may
not import another may not do it anywhere, and no set of modules imports around a circle.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PROJECT = ("trading", "feeds", "brokers", "notify", "strategies")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {module_name(p): p for p in SRC.rglob("*.py") if "egg-info" not in str(p)}
    assert len(found) > 50, f"only {len(found)} modules found under {SRC}"
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports (a ``from package import module`` names the module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PROJECT:
                while target not in known and "." in target:
                    target = target.rpartition(".")[0]
                found.add(target)
    found.discard(name)
    return found


def within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


# (who, what it may import besides itself); the first rule that matches a module applies
KERNEL = ("trading.core",)
MIXIN_CONTRACT = ("strategies.mixins.base",)
EDGES = ("feeds", "brokers", "notify", "strategies")
VENUES = ("trading.venues",)
MIDDLE = ("trading.config", "trading.persistence", "trading.risk")
RUNTIME = ("trading.runtime",)
BACKTEST = ("trading.backtest",)
RULES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (KERNEL, KERNEL),
    # the contract plugin authors import: the kernel's domain types (Bar, OpenTrade) and nothing else
    (MIXIN_CONTRACT, KERNEL),
    (("feeds",), KERNEL + ("feeds",)),
    (("brokers",), KERNEL + ("brokers",)),
    (("notify",), KERNEL + ("notify",)),
    (("strategies",), KERNEL + ("strategies",)),
    # a venue adapter builds its bar source and broker on the shared bases in feeds and brokers
    (VENUES, KERNEL + ("feeds", "brokers") + VENUES),
    (("trading.config",), KERNEL + EDGES + VENUES + ("trading.config",)),
    (("trading.persistence",), KERNEL + EDGES + VENUES + ("trading.persistence",)),
    (("trading.risk",), KERNEL + EDGES + VENUES),
    (RUNTIME, KERNEL + EDGES + VENUES + MIDDLE + RUNTIME),
    # replay runs through the runtime's one Cerebro builder; the runtime never imports backtest
    (BACKTEST, KERNEL + EDGES + VENUES + MIDDLE + RUNTIME + BACKTEST),
]


# may import anything: the command line and the documented scripts that call it
TOP_OF_THE_HOUSE = ("trading", "trading.trading_bot", "trading.config_validator", "trading.replay")
# they reach a venue only through the registry: core, config, runtime, the feed and broker factories
NO_VENUE_NAMES = KERNEL + ("trading.config", "trading.runtime", "feeds.factory",
                           "brokers.factory")


def allowed(name: str) -> tuple[str, ...] | None:
    """What ``name`` may import, or None when it may import anything (cli, the scripts)."""
    for who, may in RULES:
        if within(name, *who):
            return may
    return None


def test_every_module_imports_only_what_its_layer_may():
    found = modules()
    known = set(found)
    wrong = []
    for name, path in sorted(found.items()):
        may = allowed(name)
        if may is None:
            assert within(name, "trading.cli") or name in TOP_OF_THE_HOUSE, \
                f"{name} is in no layer: add it to a room of docs/architecture.md"
            continue
        for target in sorted(imports_of(name, path, known)):
            if not within(target, *may):
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports that break the layer rule:\n" + "\n".join(wrong)


def test_no_modules_import_around_a_circle():
    found = modules()
    known = set(found)
    graph = {name: imports_of(name, path, known) & known for name, path in found.items()}
    circles = []
    state: dict[str, int] = {}  # 1 on the path, 2 done
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                circles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert not circles, "modules that import around a circle:\n" + "\n".join(circles)


def test_the_checker_sees_function_level_and_type_checking_imports(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from trading.config.models import BotConfig\n"
                      "def f():\n    import brokers.paper\n")
    known = {"trading.config.models", "brokers.paper", "trading.config", "brokers"}
    assert imports_of("feeds.sample", source, known) == {"trading.config.models", "brokers.paper"}


def venue_names() -> set[str]:
    """Every name a declared venue answers to (its own, its data sources, its broker types)."""
    from trading.venues.registry import discover

    return {name.lower() for venue in discover() for name in venue.names()}


def words_in_code(path: Path) -> set[str]:
    """The identifiers, import paths and string literals of a module, docstrings and comments
    left out, as lower-case words (and their ``_``-separated parts)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    text: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            text.append(node.id)
        elif isinstance(node, ast.Attribute):
            text.append(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            text.extend([getattr(node, "module", None) or ""] + [a.name for a in node.names])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            text.append(node.value)
    return {part for chunk in text for word in re.findall(r"[a-z0-9_]+", chunk.lower())
            for part in (word, *word.split("_"))}


def test_core_config_runtime_and_the_factories_name_no_venue():
    names = venue_names()
    assert {"binance", "yahoo", "ibkr"} <= names  # the shipped venues were found
    named = []
    for name, path in sorted(modules().items()):
        if within(name, *NO_VENUE_NAMES):
            hits = sorted(words_in_code(path) & names)
            if hits:
                named.append(f"{name} names {', '.join(hits)}")
    assert not named, ("venues named outside trading.venues (ask the registry instead):\n"
                       + "\n".join(named))


def test_the_venue_name_check_sees_code_and_strings_but_not_docstrings(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text('"""Binance in a docstring only."""\n'
                      "import trading.venues.yahoo.chart\n"
                      "def f():\n"
                      "    \"\"\"ibkr in a docstring\"\"\"\n"
                      "    return 'binance_paper'\n")
    words = words_in_code(source)
    assert {"yahoo", "binance_paper", "binance"} <= words and "ibkr" not in words
