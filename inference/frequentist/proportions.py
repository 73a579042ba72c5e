"""Frequentist reference tests for proportions, and the recomputation of the paper's printed p-values.

Test rule (the paper: "Pearson's χ² test or Fisher's exact test, as appropriate"), implemented by
:func:`contingency_test`:

* expected counts under independence from ``scipy.stats.contingency.expected_freq``;
* if **any expected cell count is < 5**, Fisher's exact test, two-sided — ``scipy.stats.fisher_exact``
  for 2 × 2 tables; for larger r × c tables the Fisher–Freeman–Halton exact test by enumerating every
  table with the observed margins (probabilities from ``scipy.stats.random_table(...).pmf``, p = total
  probability of tables no more probable than the observed one, ties within a relative 1e-7 as in
  scipy's 2 × 2 test). scipy's own r × c ``fisher_exact`` is Monte Carlo / permutation based, hence not
  used; above ``max_tables`` tables the enumeration gives way to scipy's Monte Carlo method with a
  fixed seed, and the result says so;
* otherwise Pearson's χ² **without** continuity correction (what SPSS prints as "Pearson Chi-Square").

All three p-values (Pearson, Yates-corrected χ² for 2 × 2 tables, Fisher) are always reported, so a
reader sees which of them reproduces a published value. :func:`recompute_published_p` puts the
recomputed p beside every printed p of a count table (Table 1's categorical rows, response and adverse-event
tables: each p entry with the count cells of the same table and attributes in the groups it compares,
every population of those cells but the p's own, in table order) with ``differs`` set when
they disagree beyond the rounding of the printed value (half a unit in its last printed decimal; a p
printed as an integer, "1", is read as 1.000, since a 0-decimal reading would accept any p ≥ 0.5).

:func:`rank_test` is the Mann–Whitney U (Wilcoxon rank-sum) test for continuous rows.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from hccbayes.data.published.registry import Entry, Registry

log = logging.getLogger(__name__)

MAX_TABLES = 200_000
TIE_RTOL = 1e-7


@dataclass(frozen=True)
class ContingencyTest:
    table: tuple[tuple[int, ...], ...]
    min_expected: float
    pearson_p: float
    yates_p: float | None  # 2 × 2 only
    fisher_p: float
    fisher_method: str  # "exact" | "monte_carlo"
    test: str  # the rule's choice: "fisher" | "pearson"

    @property
    def p(self) -> float:
        return self.fisher_p if self.test == "fisher" else self.pearson_p

    def p_of(self, test: str) -> float | None:
        return {"pearson": self.pearson_p, "yates": self.yates_p, "fisher": self.fisher_p}[test]


def _tables_with_margins(rows: np.ndarray, cols: np.ndarray) -> list[np.ndarray]:
    """Every non-negative integer table with the given row and column sums (row-by-row recursion)."""
    out: list[np.ndarray] = []

    def fill(i: int, remaining: np.ndarray, acc: list[np.ndarray]) -> None:
        if len(out) > MAX_TABLES:
            return
        if i == len(rows) - 1:
            out.append(np.vstack(acc + [remaining]))
            return
        for head in itertools.product(*(range(min(r, rows[i]) + 1) for r in remaining[:-1])):
            last = rows[i] - sum(head)
            if 0 <= last <= remaining[-1]:
                row = np.array(head + (last,))
                fill(i + 1, remaining - row, acc + [row])

    fill(0, cols.copy(), [])
    return out


def fisher_freeman_halton(table: Sequence[Sequence[int]], seed: int = 0) -> tuple[float, str]:
    """Two-sided exact test of independence for an r × c table: (p, "exact") or (p, "monte_carlo")."""
    t = np.asarray(table, dtype=np.int64)
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    dist = stats.random_table(rows, cols)
    tables = _tables_with_margins(rows, cols)
    if len(tables) > MAX_TABLES:
        log.info("r x c table %s has more than %d tables with its margins; Monte Carlo Fisher test",
                 t.tolist(), MAX_TABLES)
        res = stats.fisher_exact(t, method=stats.MonteCarloMethod(n_resamples=99_999, rng=seed))
        return float(res.pvalue), "monte_carlo"
    probs = dist.pmf(np.stack(tables))
    p_obs = dist.pmf(t)
    return float(min(1.0, probs[probs <= p_obs * (1 + TIE_RTOL)].sum())), "exact"


def contingency_test(table: Sequence[Sequence[int]], min_expected: float = 5.0) -> ContingencyTest:
    """Pearson χ², Yates χ² (2 × 2) and Fisher p-values, and the rule's choice (module docstring)."""
    t = np.asarray(table, dtype=np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]  # empty rows/columns carry no information
    if t.shape[0] < 2 or t.shape[1] < 2:
        return ContingencyTest(tuple(map(tuple, np.asarray(table).tolist())), float("nan"), 1.0,
                               1.0 if t.shape == (2, 2) else None, 1.0, "exact", "fisher")
    expected = stats.contingency.expected_freq(t)
    pearson = float(stats.chi2_contingency(t, correction=False).pvalue)
    if t.shape == (2, 2):
        yates = float(stats.chi2_contingency(t, correction=True).pvalue)
        fisher, how = float(stats.fisher_exact(t).pvalue), "exact"
    else:
        yates = None
        fisher, how = fisher_freeman_halton(t)
    test = "fisher" if expected.min() < min_expected else "pearson"
    return ContingencyTest(tuple(map(tuple, t.tolist())), float(expected.min()), pearson, yates, fisher, how, test)


def rank_test(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided Mann–Whitney U (Wilcoxon rank-sum) p-value, missing values dropped."""
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    return float(stats.mannwhitneyu(xa[~np.isnan(xa)], ya[~np.isnan(ya)], alternative="two-sided").pvalue)


# ---- published p-values -------------------------------------------------------------------------------
def rounding_tolerance(entry: Entry) -> float:
    """Half a unit of the printed p's last decimal ("1" read as "1.000")."""
    d = entry.decimals.get("p", 0)
    return 0.5 * 10.0 ** (-(d if d > 0 else 3))


def agrees(p: float | None, entry: Entry) -> bool:
    """Whether a recomputed p reproduces a printed one to its rounding (or satisfies a printed '<')."""
    if p is None:
        return False
    if entry.p_bound == "<":
        return p < entry.p
    return abs(p - entry.p) <= rounding_tolerance(entry) + 1e-12


ROW_KEYS = ("variable", "level", "outcome", "grade")  # the attributes that say which row a p belongs to


def _cells(reg: Registry, p: Entry) -> tuple[list[Entry], list[str]]:
    """The count cells of ``p``'s row (same table and row attributes; a p of a whole categorical variable
    takes every level's cells) outside ``p``'s own population, and the groups they compare, table order."""
    attrs = {k: p[k] for k in ROW_KEYS if p[k] is not None}
    if not attrs:  # a p of a model term (a Cox row) or of a text sentence: no count row
        return [], []
    cells = [e for e in reg.find(kind="count", table=p.table, **attrs) if e["population"] != p["population"]]
    return cells, list(dict.fromkeys(e["population"] for e in cells))


def _label(reg: Registry, p: Entry) -> str:
    """``ae:<outcome>:<grade>``; ``<variable>:<level>`` for one of several printed levels of a variable, each
    with its p; else ``<variable>``."""
    if p["outcome"] is not None:
        return f"ae:{p['outcome']}:{p['grade']}"
    levels = {e["level"] for e in reg.find(kind="count", table=p.table, variable=p["variable"])}
    return p["variable"] if p["level"] is None or len(levels) < 2 else f"{p['variable']}:{p['level']}"


def published_tables(reg: Registry) -> list[tuple[str, str, list[list[int]], Entry]]:
    """(table, label, contingency table with one row per category and one column per group, p entry)
    for every printed p whose row prints counts (module docstring); a p with no count cells (a continuous
    row: needs the patient-level data, :func:`rank_test`) is left out."""
    out = []
    for p in reg.find(kind="p"):
        cells, groups = _cells(reg, p)
        if len(groups) < 2 or any(reg.population_size(g) is None for g in groups):
            continue
        sizes = [reg.population_size(g) for g in groups]
        levels = list(dict.fromkeys(e["level"] for e in cells))
        if p["level"] is not None or p["outcome"] is not None:  # one printed rate per group: event / no event
            tab = [[e.n for e in cells], [n - e.n for n, e in zip(sizes, cells)]]
        else:
            tab = [[next(e.n for e in cells if e["level"] == lv and e["population"] == g) for g in groups]
                   for lv in levels]
            if len(levels) == 1:  # a single printed level ("Surgery (%)"): the rest of the group is the other row
                tab.append([n - x for n, x in zip(sizes, tab[0])])
        out.append((p.table, _label(reg, p), tab, p))
    return out


def recompute_published_p(reg: Registry) -> pd.DataFrame:
    """Recomputed beside published p of every count table (:func:`published_tables`); ``differs`` flags disagreement beyond rounding,
    ``matching_tests`` lists which of pearson / yates / fisher reproduce the printed value."""
    rows = []
    for table, label, tab, p in published_tables(reg):
        res = contingency_test(tab)
        matching = [t for t in ("pearson", "yates", "fisher") if agrees(res.p_of(t), p)]
        col_sums = np.asarray(tab).sum(axis=0).tolist()
        rows.append({
            "table": table, "row": label, "entry": p.id, "counts": str(tab), "min_expected": res.min_expected,
            "test": res.test, "recomputed_p": res.p, "pearson_p": res.pearson_p, "yates_p": res.yates_p,
            "fisher_p": res.fisher_p, "fisher_method": res.fisher_method, "published_p": p.p,
            "published_raw": p.raw, "tolerance": rounding_tolerance(p), "difference": res.p - p.p,
            "differs": not agrees(res.p, p), "matching_tests": ",".join(matching) or "none",
            "note": "" if col_sums == [reg.population_size(g) for g in _cells(reg, p)[1]]
            else f"categories sum to {col_sums}, not the arm sizes",
        })
    return pd.DataFrame(rows)
