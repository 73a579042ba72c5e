"""``hccbayes audit --study NAME_OR_PATH [--format text|csv] [--severity LEVEL]``: consistency audit.

Prints the findings of :func:`hccbayes.data.published.audit.audit` grouped by severity (entries and arithmetic for
each), then one summary line. Findings describe the paper, not a failure of the tool: the exit code is 0
whenever the audit ran, and 2 (via :func:`hccbayes.cli.main`) when the registry cannot be read.
"""
from __future__ import annotations

import argparse
import sys

from hccbayes.data.published.audit import SEVERITIES, Finding, audit, findings_frame
from hccbayes.data.published.registry import load_registry
from hccbayes.data.study import default_study


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "audit",
        help="check a study's published figures against each other",
        description="Report published numbers that cannot all be true at once (percent vs count, "
        "category and subgroup sums, HR vs CI vs p, medians vs intervals, text vs tables). "
        "Exit code 0 when the audit ran; 2 when the registry cannot be read.",
    )
    parser.add_argument("--study", default=default_study(),
                        help="bundled study name, study folder or published.toml path (default: %(default)s)")
    parser.add_argument("--format", choices=("text", "csv"), default="text", help="output format")
    parser.add_argument("--severity", choices=SEVERITIES, default="info",
                        help="show findings of this severity and worse (default: %(default)s, i.e. all)")
    parser.set_defaults(run=run)
    return parser


def summary(findings: list[Finding], path: str) -> str:
    count = {s: sum(f.severity == s for f in findings) for s in SEVERITIES}
    n = len(findings)
    return (f"{n} finding{'s' if n != 1 else ''} ({count['error']} errors, {count['warning']} warnings, "
            f"{count['info']} info) in {path}")


def render_text(findings: list[Finding]) -> str:
    lines: list[str] = []
    for sev in SEVERITIES:
        group = [f for f in findings if f.severity == sev]
        if not group:
            continue
        lines.append(f"== {sev} ({len(group)}) ==")
        for f in group:
            lines.append(f"[{f.rule}] {f.message}")
            lines.append(f"    entries: {', '.join(f.entries)}")
            lines.append(f"    arithmetic: {f.arithmetic}")
        lines.append("")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    registry = load_registry(args.study)
    findings = audit(registry)
    shown = [f for f in findings if SEVERITIES.index(f.severity) <= SEVERITIES.index(args.severity)]
    if args.format == "csv":
        findings_frame(shown).to_csv(sys.stdout, index=False)
        print(summary(shown, registry.path), file=sys.stderr)
    else:
        print(render_text(shown), file=sys.stdout)
        print(summary(shown, registry.path), file=sys.stdout)
    return 0
