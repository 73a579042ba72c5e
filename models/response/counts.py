"""Counts for the proportion models: from the published-figure registry or from a cohort DataFrame.

:class:`RateData` is one two-group comparison of a proportion (events/total per group, reference group
first) with the published p-value when there is one and a note on how the counts were obtained.

From the registry (:func:`rates_from_registry`):

* Table 3: every best-response level (CR, PR, SD, PD, ORR, DCR), TKI+ICI vs TKI, totals = arm sizes;
* Table 6: every adverse-event row at any grade and at grade 3/4 (dose reduction and discontinuation
  included), TKI+ICI vs TKI;
* Results text: ORR and DCR by AFP change after 8 weeks (elevated vs decreased). Only percentages are
  printed, so counts are **derived**: the group sizes come from the printed per-arm counts of patients
  with elevated AFP (12 + 25 = 37) and the complement in the ``afp_change`` partition (70 − 37 = 33);
  each count is the integer x with round(100·x/n, d) equal to the printed percent (d printed decimals),
  see :func:`count_from_percent`. :func:`consistent_group_sizes` lists every group size the printed
  percentages allow, as a check that the derivation is identified; the derivation is in ``note``.

From a cohort (:func:`rates_from_cohort`): best-response levels, ORR, DCR and every ``ae_<event>_<grade>``
column, by arm (two groups) — or :func:`cohort_counts` for any grouping (e.g. regimen).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import pandas as pd

from hccbayes.data.published.registry import Entry, Registry

log = logging.getLogger(__name__)

ARM_POPULATIONS = ("arm:TKI", "arm:TKI+ICI")  # reference first (study.toml: reference_arm = "TKI")
RESPONSE_LEVELS = ("CR", "PR", "SD", "PD", "ORR", "DCR")


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
    """Size of a population: declared n; else the sum of per-arm counts of its level; else the complement
    within a partition whose whole and other parts are known. Returns (n, how)."""
    if reg.population_size(pop):
        return reg.population_size(pop), "declared"
    variable, _, level = pop.partition(":")
    parts = reg.find(kind="count", measure=variable, level=level)
    arms = [e for e in parts if e["population"] in ARM_POPULATIONS]
    if arms and {e["population"] for e in arms} == set(ARM_POPULATIONS):
        return sum(e.n for e in arms), " + ".join(f"{e.n} ({e.id})" for e in arms)
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


def _arm_rate(reg: Registry, analysis: str, endpoint: str, table: str, p_attrs: Mapping[str, Any],
              **attrs: Any) -> RateData | None:
    cells = [_one(reg.find(kind="count", table=table, population=pop, **attrs)) for pop in ARM_POPULATIONS]
    if any(c is None for c in cells):
        return None
    totals = tuple(reg.population_size(pop) for pop in ARM_POPULATIONS)
    p, raw, pid = _p(reg, table, **p_attrs)
    return RateData(analysis, endpoint, ARM_POPULATIONS, tuple(c.n for c in cells), totals, "all", p, raw,
                    tuple(c.percent for c in cells), tuple(c.id for c in cells) + ((pid,) if pid else ()))


def table3_rates(reg: Registry) -> list[RateData]:
    """Table 3: one comparison per best-response level (CR, PR, SD, PD, ORR, DCR)."""
    out = []
    for level in RESPONSE_LEVELS:
        attrs = dict(variable="best_response", level=level)
        rd = _arm_rate(reg, "best_response", f"best_response:{level}", "t3", attrs, **attrs)
        if rd:
            out.append(rd)
    return out


def table6_rates(reg: Registry) -> list[RateData]:
    """Table 6: every adverse-event row at each printed grade ("any", "g34")."""
    outcomes = list(dict.fromkeys(e["outcome"] for e in reg.find(kind="count", table="t6")))
    grades = list(dict.fromkeys(e["grade"] for e in reg.find(kind="count", table="t6")))
    out = []
    for o in outcomes:
        for g in grades:
            attrs = dict(outcome=o, grade=g)
            rd = _arm_rate(reg, "adverse_event", f"ae:{o}:{g}", "t6", attrs, **attrs)
            if rd:
                out.append(rd)
    return out


def afp_change_rates(reg: Registry, groups: tuple[str, str] = ("afp_change:decreased", "afp_change:elevated"),
                     levels: tuple[str, ...] = ("ORR", "DCR")) -> list[RateData]:
    """Results text: ORR and DCR by AFP change, counts derived from the printed percentages."""
    sizes = {g: _group_size(reg, g) for g in groups}
    n_max = max((p.n or 0) for p in reg.populations.values())
    out = []
    for level in levels:
        pcts = [_one(reg.find(kind="percent", measure="best_response", level=level, population=g)) for g in groups]
        if any(p is None for p in pcts) or any(sizes[g][0] is None for g in groups):
            continue
        events, notes = [], []
        for g, e in zip(groups, pcts):
            n, how = sizes[g]
            d = e.decimals.get("percent", 0)
            x = count_from_percent(e.percent, d, n)
            if x is None:
                raise ValueError(f"{e.id}: {e.percent}% is not x/{n} for any integer x (group size {how})")
            others = consistent_group_sizes([(q.percent, q.decimals.get("percent", 0)) for q in
                                             reg.find(kind="percent", measure="best_response", population=g)], n_max)
            events.append(x)
            notes.append(f"{_short(g)}: n = {n} from {how}; x = {x} = round({e.percent}% × {n}) "
                         f"({100 * x / n:.2f}%); sizes ≤ {n_max} consistent with all printed percents: {others}")
        out.append(RateData("afp_change_response", f"best_response:{level}", groups, tuple(events),
                            tuple(sizes[g][0] for g in groups), "all", None, None,
                            tuple(p.percent for p in pcts), tuple(p.id for p in pcts), "; ".join(notes)))
    return out


def rates_from_registry(reg: Registry) -> list[RateData]:
    """Every two-group proportion comparison the paper prints (Table 3, Table 6, AFP-change text)."""
    return table3_rates(reg) + table6_rates(reg) + afp_change_rates(reg)


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


def rates_from_cohort(df: pd.DataFrame, study, by: str = "arm") -> list[RateData]:
    """Best-response levels, ORR, DCR and every adverse-event column of a cohort, reference arm first."""
    ref = study.reference_arm
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
