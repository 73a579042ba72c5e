"""Counts for the proportion models: from the published-figure registry or from a cohort DataFrame.

:class:`RateData` is one two-group comparison of a proportion (events/total per group, reference group
first) with the published p-value when there is one and a note on how the counts were obtained.

From the registry (:func:`rates_from_registry`): the comparisons ``published.toml`` declares under
``[comparisons]`` (:mod:`hccbayes.data.published.comparisons`: the two groups, the table, the outcome), one
per printed level of a best response or per adverse event and grade. Where only percentages are printed
(``entries = "percent"``) counts are **derived**: a group's size is its declared n, else the sum of the
printed counts of its level over the parts of a partition of its parent (one count per part), else the
complement within its own partition; each count is the integer x with round(100·x/n, d) equal to the
printed percent (d printed decimals), see :func:`count_from_percent`. :func:`consistent_group_sizes` lists
every group size the printed percentages allow, as a check that the derivation is identified; the
derivation is in ``note``.

From a cohort (:func:`rates_from_cohort`): best-response levels, ORR, DCR and every ``ae_<event>_<grade>``
column, by arm (two groups) — or :func:`cohort_counts` for any grouping (e.g. regimen).
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import pandas as pd

from hccbayes.data.published.comparisons import ComparisonSpec
from hccbayes.data.published.registry import Entry, Registry
from hccbayes.errors import Problem, RegistryError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateData:
    """Events/total per group for one comparison of a proportion."""

    analysis: str
    endpoint: str
    groups: tuple[str, ...]  # reference first
    events: tuple[int, ...]
    totals: tuple[int, ...]
    population: str = "all"
    published_p: float | None = None
    published_p_raw: str | None = None
    published_percent: tuple[float | None, ...] = ()
    sources: tuple[str, ...] = ()
    note: str = ""

    @property
    def reference(self) -> str:
        return self.groups[0]

    @property
    def counts(self) -> dict[str, tuple[int, int]]:
        return {g: (x, n) for g, x, n in zip(self.groups, self.events, self.totals)}

    @property
    def contrast(self) -> str:
        return f"{_short(self.groups[1])} vs {_short(self.groups[0])}"

    def table(self) -> list[list[int]]:
        """2 × 2 (groups × event/no event) contingency table."""
        return [[x, n - x] for x, n in zip(self.events, self.totals)]


def _short(pop: str) -> str:
    return pop.split(":", 1)[-1]


# ---- percent -> count derivation ----------------------------------------------------------------------
def _matches(x: int, n: int, percent: float, decimals: int) -> bool:
    return abs(100.0 * x / n - percent) <= 0.5 * 10.0 ** (-decimals) + 1e-9


def count_from_percent(percent: float, decimals: int, n: int) -> int | None:
    """The integer x with 100·x/n equal to the printed ``percent`` to its ``decimals``; None if none is."""
    cands = [x for x in range(n + 1) if _matches(x, n, percent, decimals)]
    if len(cands) > 1:
        log.warning("percent %s of n=%d is matched by several counts %s; taking the nearest", percent, n, cands)
    return min(cands, key=lambda x: abs(100.0 * x / n - percent)) if cands else None


def consistent_group_sizes(percents: Iterable[tuple[float, int]], n_max: int, n_min: int = 1) -> list[int]:
    """Every group size n in [n_min, n_max] for which each printed (percent, decimals) is some x/n."""
    pcts = list(percents)
    return [n for n in range(n_min, n_max + 1)
            if all(count_from_percent(p, d, n) is not None for p, d in pcts)]


def _group_size(reg: Registry, pop: str) -> tuple[int | None, str]:
    """Size of a population: declared n; else the sum of the counts of its level (``<variable>:<level>``)
    over the parts of a partition of its parent population, one count per part; else the complement within
    a partition whose whole and other parts are known. Returns (n, how)."""
    if reg.population_size(pop):
        return reg.population_size(pop), "declared"
    variable, _, level = pop.partition(":")
    declared = reg.populations.get(pop)
    parent = declared.parent if declared is not None else None
    counts = reg.find(kind="count", measure=variable, level=level)
    for whole, members in reg.partitions.values():
        if pop in members or (parent is not None and whole != parent):
            continue
        cells = [e for e in counts if e["population"] in members]
        if len(cells) == len(members) and {e["population"] for e in cells} == set(members):
            return sum(e.n for e in cells), " + ".join(f"{e.n} ({e.id})" for e in cells)
    for whole, members in reg.partitions.values():
        if pop in members and reg.population_size(whole):
            others = [m for m in members if m != pop]
            sizes = [_group_size(reg, m) for m in others]
            if all(s[0] is not None for s in sizes):
                n = reg.population_size(whole) - sum(s[0] for s in sizes)
                return n, f"{reg.population_size(whole)} ({whole}) − " + ", ".join(
                    f"[{s[1]}]" for s in sizes)
    return None, "unknown"


# ---- registry ----------------------------------------------------------------------------------------
def _one(entries: list[Entry]) -> Entry | None:
    return entries[0] if entries else None


def _p(reg: Registry, table: str, **attrs: Any) -> tuple[float | None, str | None, str | None]:
    e = _one(reg.find(kind="p", table=table, **attrs))
    return (e.p, e.raw, e.id) if e else (None, None, None)


def _problem(reg: Registry, spec: ComparisonSpec, message: str, fix: str) -> RegistryError:
    return RegistryError(Problem(reg.path or "published.toml", f"[comparisons.{spec.name}]: {message}", fix))


def _count_rate(reg: Registry, spec: ComparisonSpec, endpoint: str, attrs: Mapping[str, Any]) -> RateData | None:
    """Printed counts of both groups; totals are the groups' declared sizes."""
    cells = [_one(reg.find(kind="count", table=spec.table, population=pop, **attrs)) for pop in spec.groups]
    if any(c is None for c in cells):
        return None
    totals = tuple(reg.population_size(pop) for pop in spec.groups)
    for pop, n in zip(spec.groups, totals):
        if not n:
            raise _problem(reg, spec, f"population {pop!r} has no size", f"declare n under [populations] \"{pop}\"")
    p, raw, pid = _p(reg, spec.table, **attrs)
    return RateData(spec.name, endpoint, spec.groups, tuple(c.n for c in cells), totals, "all", p, raw,
                    tuple(c.percent for c in cells), tuple(c.id for c in cells) + ((pid,) if pid else ()))


def _percent_rate(reg: Registry, spec: ComparisonSpec, endpoint: str, attrs: Mapping[str, Any]) -> RateData | None:
    """Printed percentages only: each count is derived from its group's size (module docstring)."""
    groups = spec.groups
    pcts = [_one(reg.find(kind="percent", table=spec.table, population=g, **attrs)) for g in groups]
    if any(p is None for p in pcts):
        return None
    sizes = {g: _group_size(reg, g) for g in groups}
    if any(sizes[g][0] is None for g in groups):
        return None
    n_max = max((p.n or 0) for p in reg.populations.values())
    events, notes = [], []
    for g, e in zip(groups, pcts):
        n, how = sizes[g]
        d = e.decimals.get("percent", 0)
        x = count_from_percent(e.percent, d, n)
        if x is None:
            raise _problem(reg, spec, f"{e.id}: {e.percent}% is not x/{n} for any integer x (group size {how})",
                           "check the printed percent and the group's size")
        printed = reg.find(kind="percent", table=spec.table, population=g, **spec.where)
        others = consistent_group_sizes([(q.percent, q.decimals.get("percent", 0)) for q in printed], n_max)
        events.append(x)
        notes.append(f"{_short(g)}: n = {n} from {how}; x = {x} = round({e.percent}% × {n}) "
                     f"({100 * x / n:.2f}%); sizes ≤ {n_max} consistent with all printed percents: {others}")
    p_value, raw, pid = _p(reg, spec.table, **attrs)
    return RateData(spec.name, endpoint, groups, tuple(events), tuple(sizes[g][0] for g in groups), "all", p_value,
                    raw, tuple(e.percent for e in pcts), tuple(e.id for e in pcts) + ((pid,) if pid else ()),
                    "; ".join(notes))


def comparison_rates(reg: Registry, spec: ComparisonSpec) -> list[RateData]:
    """One comparison per combination of the outcome's attributes printed for both groups, registry order."""
    matched = [e for e in reg.find(kind=spec.entries, table=spec.table, **spec.where) if e["population"] in spec.groups]
    values = [list(dict.fromkeys(e[a] for e in matched if e[a] is not None)) for a in spec.by]
    make = _count_rate if spec.entries == "count" else _percent_rate
    out = []
    for combo in itertools.product(*values):
        rd = make(reg, spec, ":".join((spec.prefix, *map(str, combo))), {**spec.where, **dict(zip(spec.by, combo))})
        if rd:
            out.append(rd)
    return out


def rates_from_registry(reg: Registry, names: Iterable[str] | None = None) -> list[RateData]:
    """Every two-group proportion comparison ``published.toml`` declares under ``[comparisons]`` (or those
    ``names``), in declaration order."""
    keep = None if names is None else set(names)
    return [rd for name, spec in reg.comparisons.items() if keep is None or name in keep
            for rd in comparison_rates(reg, spec)]


# ---- cohort ------------------------------------------------------------------------------------------
def cohort_counts(df: pd.DataFrame, indicator: pd.Series, by: str) -> dict[str, tuple[int, int]]:
    """group -> (events, total) of a 0/1 ``indicator`` within the levels of column ``by``."""
    g = pd.DataFrame({"by": df[by].astype(str), "y": indicator.astype(int)}).groupby("by", sort=False)["y"]
    order = list(df[by].cat.categories) if isinstance(df[by].dtype, pd.CategoricalDtype) else list(g.groups)
    agg = g.agg(["sum", "count"])
    return {str(k): (int(agg.loc[k, "sum"]), int(agg.loc[k, "count"])) for k in order if k in agg.index}


def response_indicators(df: pd.DataFrame, study) -> dict[str, pd.Series]:
    """0/1 series per best-response level, ORR and DCR, from the study's response definition."""
    r = study.response
    col = df[r.column].astype(str)
    out = {c: col.eq(c) for c in r.categories}
    out["ORR"] = col.isin(r.objective)
    out["DCR"] = col.isin(r.disease_control)
    return out


def rates_from_cohort(df: pd.DataFrame, study, by: str | None = None) -> list[RateData]:
    """Best-response levels, ORR, DCR and every adverse-event column of a cohort, reference arm first, by the
    study's arm column (or ``by``)."""
    ref = study.reference_arm
    by = by or study.arm_column
    indicators = {f"best_response:{k}": ("best_response", v) for k, v in response_indicators(df, study).items()}
    for col in study.ae_columns:
        if col in df:
            event, grade = col[3:].rsplit("_", 1)
            indicators[f"ae:{event}:{grade}"] = ("adverse_event", df[col])
    out = []
    for endpoint, (analysis, ind) in indicators.items():
        counts = cohort_counts(df, ind, by)
        groups = [ref] + [g for g in counts if g != ref]
        if len(groups) != 2 or ref not in counts:
            raise ValueError(f"rates_from_cohort needs exactly two groups in {by!r} with {ref!r}; got {list(counts)}")
        pops = tuple(f"{by}:{g}" for g in groups)
        out.append(RateData(analysis, endpoint, pops, tuple(counts[g][0] for g in groups),
                            tuple(counts[g][1] for g in groups), "all", note="from cohort"))
    return out
