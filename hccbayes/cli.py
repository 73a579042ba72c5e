"""Command-line interface: ``hccbayes <command> ...``.

Each command lives in its own module under :mod:`hccbayes.commands` and exposes
``add_parser(subparsers)`` and ``run(args) -> int``. User errors (:class:`HccbayesError`) become one
readable message on stderr and exit code 2; argument errors exit 2 as argparse does.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from hccbayes import __version__
from hccbayes.errors import HccbayesError

# command modules, in the order --help lists them
COMMANDS = (
    "init",
    "validate",
    "audit",
    "reconstruct",
    "ipd_from_km",
    "run",
    "reproduce",
    "report",
    "sbc",
    "sensitivity",
    "explore",
)


def _command_module(name: str):
    """Import a command module; a command whose module is not installed is left out of the CLI.

    tests/test_cli.py asserts that every name in COMMANDS imports, so a missing module cannot ship.
    """
    modname = f"hccbayes.commands.{name}"
    try:
        return importlib.import_module(modname)
    except ModuleNotFoundError as err:
        if err.name != modname:
            raise
        logging.getLogger(__name__).debug("command %s is not available", name)
        return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hccbayes",
        description="Bayesian re-analysis of clinical oncology studies (survival, response rates, "
        "published hazard ratios) beside the published and frequentist numbers.",
    )
    parser.add_argument("--version", action="version", version=f"hccbayes {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = _command_module(name)
        if module is not None:
            module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except HccbayesError as err:
        print(f"hccbayes {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hccbayes {args.command}: interrupted", file=sys.stderr)
        return 130
