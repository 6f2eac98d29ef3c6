"""The ``memorization`` console command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from memorization.errors import MemorizationError

DEFAULT_SCHEMA = Path("config/schema/config.schema.yaml")


def check_config(arguments) -> int:
    from memorization.config import check_config_file

    for path in arguments.configs:
        check_config_file(path, arguments.schema)
        print(f"{path}: valid")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memorization", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check-config", help="validate config files against the workflow schema")
    check.add_argument("configs", nargs="+", type=Path)
    check.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    check.set_defaults(handler=check_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        return arguments.handler(arguments)
    except MemorizationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
