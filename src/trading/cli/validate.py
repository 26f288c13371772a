"""``tradingbot validate CONFIG... | --all``: check configs, every problem with its JSON path.

    python src/trading/config_validator.py config/trading/0001.json
    tradingbot validate 0001 0002.json | --all
"""
from __future__ import annotations

import sys
from pathlib import Path

from trading.cli.common import command_parser
from trading.config.env_file import load_env_file
from trading.config.files import CONFIG_DIR, read_config_file, resolve_config_path
from trading.config.validator import validate_document
from trading.core.errors import ConfigError


def _validate_file(path: Path) -> int:
    """Print one file's findings; return its exit status (0 valid, 1 invalid, 2 unreadable)."""
    try:
        raw = read_config_file(path)
    except ConfigError as exc:
        print(exc)
        return 2
    report = validate_document(raw, source=str(path))
    for line in report.errors:
        print(line)
    for line in report.warnings:
        print(f"warning: {line}")
    if report.errors:
        return 1
    print(f"{path}: OK")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``tradingbot validate CONFIG... | --all``: exit 0 all valid, 1 any invalid, 2 any unreadable."""
    load_env_file()
    parser = command_parser(
        prog="tradingbot validate",
        description="Check bot configs; print every problem as 'file: json.path: message'.")
    parser.add_argument("configs", nargs="*", metavar="CONFIG",
                        help="0001, 0001.json (both mean config/trading/0001.json) or a path")
    parser.add_argument("--all", action="store_true", help=f"check every *.json in {CONFIG_DIR}/")
    args = parser.parse_args(argv)
    paths = [resolve_config_path(name) for name in args.configs]
    if args.all:
        found = sorted(CONFIG_DIR.glob("*.json"))
        if not found:
            print(f"no config files in {CONFIG_DIR}/ (looked in {CONFIG_DIR.resolve()})")
            return 2
        paths += found
    if not paths:
        parser.error("give at least one CONFIG, or --all")
    return max(_validate_file(path) for path in paths)


if __name__ == "__main__":
    sys.exit(main())
