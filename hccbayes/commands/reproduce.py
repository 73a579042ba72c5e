"""``hccbayes reproduce [--study NAME_OR_PATH] [--out DIR] [--quick] [--strict] [--force] [--jobs N |
--scheduler ADDRESS] [--no-report]``.

Runs a study's own ``plan.toml`` on its bundled cohort (default study: ``data/studies/default.toml``, default output
directory ``runs/<study>`` or ``runs/<study>-quick``); outputs and exit codes as ``hccbayes run``.
"""
from __future__ import annotations

import argparse

from hccbayes.commands.run import add_common, execute
from hccbayes.data.study import default_study


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "reproduce", help="re-analyse a study with its own plan (every comparison of the paper)",
        description="Run the study folder's plan.toml on its cohort: every published comparison with its "
        "frequentist reference and Bayesian posterior, into one comparison table.")
    p.add_argument("--study", default=default_study(), help="bundled study name or study folder (default: %(default)s)")
    p.add_argument("--out", default=None, help="output directory (default: runs/<study>[-quick])")
    add_common(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from hccbayes.api import reproduce

    return execute(lambda **kw: reproduce(args.study, args.out, quick=args.quick, strict=args.strict,
                                          force=args.force, **kw), args)
