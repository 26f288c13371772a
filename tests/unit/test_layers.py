"""The import rule of docs/architecture.md, read from every module's source with ``ast``.

Every import counts, also one inside a function or under ``if TYPE_CHECKING``: a layer that may
not import another may not do it anywhere, and no set of modules imports around a circle.
"""
from __future__ import annotations

import ast
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
VENUES = ("trading.venues",)
EDGES = ("feeds", "brokers", "notify", "strategies")
MIDDLE = ("trading.config", "trading.persistence", "trading.risk")
RUNTIME = ("trading.runtime",)
BACKTEST = ("trading.backtest",)
RULES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (KERNEL, KERNEL),
    # the contract plugin authors import: the kernel's domain types (Bar, OpenTrade) and nothing else
    (MIXIN_CONTRACT, KERNEL),
    (VENUES, KERNEL + VENUES),
    (("feeds",), KERNEL + VENUES + ("feeds",)),
    (("brokers",), KERNEL + VENUES + ("brokers",)),
    (("notify",), KERNEL + VENUES + ("notify",)),
    (("strategies",), KERNEL + ("strategies",)),
    (("trading.config",), KERNEL + VENUES + EDGES + ("trading.config",)),
    (("trading.persistence",), KERNEL + VENUES + EDGES + ("trading.persistence",)),
    (("trading.risk",), KERNEL + VENUES + EDGES),
    (RUNTIME, KERNEL + VENUES + EDGES + MIDDLE + RUNTIME),
    # replay runs through the runtime's one Cerebro builder; the runtime never imports backtest
    (BACKTEST, KERNEL + VENUES + EDGES + MIDDLE + RUNTIME + BACKTEST),
]


# may import anything: the command line and the documented scripts that call it
TOP_OF_THE_HOUSE = ("trading", "trading.trading_bot", "trading.config_validator", "trading.replay")


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
            if not within(target, *may) and target != "trading":
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports that break the layer rule:\n" + "\n".join(wrong)


def test_no_modules_import_around_a_circle():
    found = modules()
    known = set(found)
    graph = {name: imports_of(name, path, known) & known for name, path in found.items()}
    # packages' __init__ modules are imported on the way to any submodule: they are not edges
    graph = {name: {t for t in targets if not found[t].name == "__init__.py"}
             for name, targets in graph.items()}
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
