"""Consistency audit of a published-figure registry: which printed numbers cannot all be true at once.

``audit(registry)`` runs generic rules over every entry and returns :class:`Finding` objects (rule,
severity, entry ids, message, and the arithmetic that shows the problem). Every comparison respects the
printed rounding: a number printed with d decimals stands for its whole rounding box (±0.5·10^−d).

====================  ============================================================================
rule                  what it checks
====================  ============================================================================
a.percent_count       "n (p%)" against n/N, N the population size (declared or derived); a percent
                      that fits only by truncation or double rounding is a warning
b.implied_denominator a percent (with or without its count) that fits no k/N for the population's
                      size N, with the denominators N ≤ the parent's size it does fit
c.category_sum        the levels of one categorical variable printed in one table sum to the group
c.derived_sum         a derived level equals the sum of its components, as declared in
                      ``[derived.<variable>]`` of published.toml (``ORR = ["CR", "PR"]``)
d.partition_total     counts of a quantity over the parts of a partition add up to the whole, and
                      two partitions of the same whole imply the same total (sizes of populations
                      are derived the same way, see :mod:`hccbayes.data.published.audit_totals`)
e.ratio_ci            a ratio estimate lies inside its CI, at the CI's geometric centre
f.p_vs_ci             a p-value agrees with the Wald p implied by the ratio's CI
g.median_interval     a median lies inside its IQR / CI and the bounds are ordered
h.duplicate           the same quantity printed twice (text vs table) agrees within rounding
h.interval_label      the same numbers labelled IQR in one place and 95% CI in another
i.pooled_median       a whole's median lies between its parts' medians (exact for sample medians,
                      approximate for Kaplan–Meier ones, hence a warning)
====================  ============================================================================
"""
from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Mapping

import pandas as pd

from hccbayes.data.published.audit_rules import (
    SEVERITIES,
    Finding,
    rule_duplicates,
    rule_median_interval,
    rule_p_vs_ci,
    rule_percentages,
    rule_ratio_ci,
)
from hccbayes.data.published.audit_totals import build_totals, rule_category_sums, rule_pooled_median
from hccbayes.data.published.registry import Registry
from hccbayes.errors import Problem, RegistryError

log = logging.getLogger(__name__)

__all__ = ["Finding", "SEVERITIES", "audit", "findings_frame", "load_derived"]


def load_derived(registry: Registry) -> dict[str, dict[str, list[str]]]:
    """The ``[derived]`` declarations of the registry's published.toml ({} when there are none)."""
    path = Path(registry.path) if registry.path else None
    if path is None or not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")).get("derived", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise RegistryError(Problem(str(path), f"not valid TOML: {err}", "fix the syntax")) from None
    return _check_derived(raw, str(path))


def _check_derived(raw, fname: str) -> dict[str, dict[str, list[str]]]:
    problems = []
    for var, levels in raw.items():
        if not isinstance(levels, dict) or not all(
                isinstance(v, list) and all(isinstance(c, str) for c in v) for v in levels.values()):
            problems.append(Problem(fname, f"[derived.{var}] must map levels to lists of component levels",
                                    'write e.g. ORR = ["CR", "PR"]'))
    if problems:
        raise RegistryError(problems)
    return {var: {str(k): list(v) for k, v in levels.items()} for var, levels in raw.items()}


def audit(registry: Registry, derived: Mapping[str, Mapping[str, list[str]]] | None = None) -> list[Finding]:
    """All findings for ``registry``, errors first. ``derived`` defaults to the file's [derived] block."""
    if derived is None:
        derived = load_derived(registry)
    else:
        derived = _check_derived(dict(derived), registry.path or "<derived>")
    totals = build_totals(registry)

    def size_of(pop: str):
        fact = totals.size(pop)
        return None if fact is None else (fact.value, fact.explain(f"N({pop})"))

    findings = [
        *rule_percentages(registry, size_of),
        *rule_category_sums(registry, totals, derived),
        *totals.findings,
        *rule_ratio_ci(registry),
        *rule_p_vs_ci(registry),
        *rule_median_interval(registry),
        *rule_duplicates(registry),
        *rule_pooled_median(registry),
    ]
    findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.rule))
    log.info("audit of %s: %d findings", registry.path or registry.study, len(findings))
    return findings


def findings_frame(findings: list[Finding]):
    """Findings as a DataFrame: rule, severity, entries (";"-joined), message, arithmetic."""

    cols = ["rule", "severity", "entries", "message", "arithmetic"]
    return pd.DataFrame([{"rule": f.rule, "severity": f.severity, "entries": ";".join(f.entries),
                          "message": f.message, "arithmetic": f.arithmetic} for f in findings], columns=cols)
