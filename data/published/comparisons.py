"""Declared comparisons of proportions: which printed counts (or percentages) a study compares, between which groups.

A paper prints rates per group — best responses per arm, adverse events per arm and grade, a response rate
by a biomarker's level in the Results text. Which of its numbers make up a two-group comparison is not a
property of the numbers, so ``published.toml`` declares it, one ``[comparisons.<name>]`` table each::

    [comparisons.best_response]
    outcome = "best_response"       # best_response (the study's [response]: levels, ORR, DCR) | adverse_event
    groups = ["arm:A", "arm:B"]     # two registry populations, the reference first
    table = "table3"                # the table holding the entries ("text" for the Results text)
    entries = "count"               # count (default) | percent: only percentages printed, counts derived
    where = { variable = "best_response" }   # optional: attributes every entry of the comparison has

The outcome fixes which attributes tell one comparison from another and how its endpoint is named:
``best_response`` → attribute ``level``, endpoint ``best_response:<level>``; ``adverse_event`` → ``outcome``
and ``grade``, endpoint ``ae:<outcome>:<grade>`` (the names the cohort's columns are counted under). One
comparison is made for every combination of those attributes printed for both groups, in the order the
registry holds them; its p-value is the ``p`` entry of the same table with the same attributes, if printed.
A response analysis of a plan names comparisons by ``<name>`` (default: all of them); a study that declares
none has no such comparisons.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from hccbayes.errors import Problem

# outcome -> (endpoint prefix, attributes that tell its comparisons apart, in the endpoint's order)
OUTCOMES = {"best_response": ("best_response", ("level",)), "adverse_event": ("ae", ("outcome", "grade"))}
ENTRY_KINDS = ("count", "percent")
KEYS = ("outcome", "groups", "table", "entries", "where")


@dataclass(frozen=True)
class ComparisonSpec:
    """One declared two-group comparison of proportions (see the module docstring)."""

    name: str
    outcome: str
    groups: tuple[str, str]  # reference first
    table: str
    entries: str = "count"
    where: Mapping[str, Any] = MappingProxyType({})

    @property
    def prefix(self) -> str:
        return OUTCOMES[self.outcome][0]

    @property
    def by(self) -> tuple[str, ...]:
        return OUTCOMES[self.outcome][1]


def parse_comparisons(raw: Any, populations: Mapping[str, Any], tables: set[str], fname: str,
                      problems: list[Problem]) -> dict[str, ComparisonSpec]:
    """The ``[comparisons]`` of a published.toml; every problem (file, key, fix) is appended to ``problems``."""
    if not isinstance(raw, dict):
        problems.append(Problem(fname, "[comparisons] must be a table of [comparisons.<name>] tables",
                                "write [comparisons.<name>] with outcome, groups and table"))
        return {}
    out = {}
    for name, spec in raw.items():
        where = f"[comparisons.{name}]"
        n_before = len(problems)

        def bad(key: str, msg: str, fix: str, where: str = where) -> None:
            problems.append(Problem(fname, f"{where} {key}: {msg}", fix))

        if not isinstance(spec, dict):
            problems.append(Problem(fname, f"{where}: not a table", "write outcome, groups and table under it"))
            continue
        for key in spec:
            if key not in KEYS:
                bad(key, "unknown key", f"use only {', '.join(KEYS)}")
        outcome = spec.get("outcome")
        if outcome not in OUTCOMES:
            bad("outcome", f"{outcome!r} is not an outcome kind", f"write outcome = one of {', '.join(OUTCOMES)}")
        groups = spec.get("groups")
        if not (isinstance(groups, list) and len(groups) == 2 and all(isinstance(g, str) for g in groups)):
            bad("groups", f"{groups!r} is not two population names", 'write groups = ["<reference>", "<other>"]')
            groups = []
        for g in groups:
            if g not in populations:
                bad("groups", f"unknown population {g!r}", "declare it under [populations]")
        table = spec.get("table")
        if table not in tables:
            bad("table", f"{table!r} is not a table of this file",
                f"write table = one of {', '.join(sorted(tables)) or 'the declared tables'}")
        entries = spec.get("entries", "count")
        if entries not in ENTRY_KINDS:
            bad("entries", f"{entries!r} is not an entry kind", f"write entries = one of {', '.join(ENTRY_KINDS)}")
        attrs = spec.get("where", {})
        if not isinstance(attrs, dict):
            bad("where", "must be a table of attribute = value", 'write where = { variable = "..." }')
            attrs = {}
        if len(problems) == n_before:
            out[name] = ComparisonSpec(name, outcome, tuple(groups), table, entries, MappingProxyType(dict(attrs)))
    return out
