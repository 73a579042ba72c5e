"""Command-line interface: ``hccbayes <command> ...``.

Each command lives in its own module under :mod:`hccbayes.commands` and exposes
``add_parser(subparsers)`` and ``run(args) -> int``. User errors (:class:`HccbayesError`) become one
readable message on stderr and exit code 2; argument errors exit 2 as argparse does.

A command's module is imported only when that command runs (some pull in pandas, scipy.stats or PyMC at
import): ``hccbayes explore ...`` builds the parser of ``explore`` alone. Everything that can show other commands
— ``hccbayes``, ``hccbayes --help``, an unknown command — builds the full parser, so every help text and every
argparse message is the same as with all commands registered (tests/test_cli.py compares them).
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
# the command names (and aliases) a module registers other than its own name with "-" for "_"
# (tests/test_cli.py checks this against the parsers the modules register)
OTHER_NAMES = {"fidelity": "reconstruct"}
# the top-level options that may stand before a command without changing what a single-command parser does
QUIET_OPTIONS = ("-v", "--verbose")


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


def command_of(argv: list[str]) -> str | None:
    """The module of the command ``argv`` runs, when only that command's parser is needed to parse it: its first
    argument is a command's name (or alias) after nothing but ``-v``/``--verbose``. None: build every parser."""
    names = {m.replace("_", "-"): m for m in COMMANDS} | OTHER_NAMES
    for arg in argv:
        if arg not in QUIET_OPTIONS:
            return names.get(arg)
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser: with every command (default), or with the command of module ``only`` alone (every
    command when that module is not installed, so that argparse names the ones that are)."""
    modules = [m for m in map(_command_module, COMMANDS if only is None else (only,)) if m is not None]
    if only is not None and not modules:
        return build_parser()
    parser = argparse.ArgumentParser(
        prog="hccbayes",
        description="Bayesian re-analysis of clinical oncology studies (survival, response rates, "
        "published hazard ratios) beside the published and frequentist numbers.",
    )
    parser.add_argument("--version", action="version", version=f"hccbayes {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in modules:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(command_of(argv))
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
