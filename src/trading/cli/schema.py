"""``tradingbot schema [--out FILE]``: print (or write) the config JSON Schema."""
from __future__ import annotations

import sys
from pathlib import Path

from trading.cli.common import command_parser
from trading.config.schema import SCHEMA_FILE, schema_text


def main(argv: list[str] | None = None) -> int:
    """``tradingbot schema [--out FILE]``: print (or write) the config JSON Schema."""
    parser = command_parser(prog="tradingbot schema",
                            description="Print (or write) the config JSON Schema.")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help=f"write the schema to FILE (the repository keeps it in {SCHEMA_FILE})")
    args = parser.parse_args(argv)
    text = schema_text()
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"tradingbot schema: cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
