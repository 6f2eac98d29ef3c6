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


def verify_archive(arguments) -> int:
    from memorization.archive import verify_archive as verify

    result = verify(arguments.archive)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    if not result.ok:
        print(f"{arguments.archive}: FAILED, {len(result.problems)} problem(s) in {result.files} file(s)", file=sys.stderr)
        return 1
    print(f"{arguments.archive}: OK, {result.files} files match SHA256SUMS and the RO-Crate metadata")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memorization", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check-config", help="validate config files against the workflow schema")
    check.add_argument("configs", nargs="+", type=Path)
    check.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA)
    check.set_defaults(handler=check_config)
    verify = commands.add_parser(
        "verify-archive",
        help="check every file of a results archive against its SHA256SUMS and RO-Crate metadata (extracts nothing)",
    )
    verify.add_argument("archive", type=Path)
    verify.set_defaults(handler=verify_archive)
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
