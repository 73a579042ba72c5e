"""Per-entry and pairwise rules of the consistency audit (see :mod:`hccbayes.data.published.audit`).

Every rule is generic: it looks only at entry kinds, semantic attributes, population sizes and printed
decimals, never at a particular id or value. Printed numbers are compared through their *rounding box*:
a value printed with d decimals stands for anything within ±0.5·10^−d of it.

Rules here: a (percent vs count and denominator), b (denominators implied by percentages),
e (ratio estimate vs its CI), f (p-value vs CI), g (median inside its interval), h (the same quantity
reported twice). The additive rules (c, d) live in :mod:`hccbayes.data.published.audit_totals`.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable

from scipy.stats import norm

from hccbayes.data.published.registry import SEMANTIC_KEYS, Entry, Registry

SEVERITIES = ("error", "warning", "info")
Z975 = 1.959964
EPS = 1e-9
FAMILY = {"count": "proportion", "percent": "proportion", "median_iqr": "median", "median_ci": "median",
          "hr_ci": "ratio", "p": "p", "number": "number"}


@dataclass(frozen=True)
class Finding:
    """One inconsistency between published numbers."""

    rule: str  # "<letter>.<name>", e.g. "a.percent_count"
    severity: str  # "error" | "warning" | "info"
    entries: tuple[str, ...]
    message: str
    arithmetic: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")


# ---- rounding helpers ------------------------------------------------------------------------------
def half_unit(dec: int) -> float:
    return 0.5 * 10.0 ** -dec


def rbox(value: float, dec: int) -> tuple[float, float]:
    """Interval of true values that print as ``value`` with ``dec`` decimals."""
    return value - half_unit(dec), value + half_unit(dec)


def round_half_up(x: float, dec: int) -> float:
    return math.floor(x * 10.0 ** dec + 0.5 + EPS) / 10.0 ** dec


def fmt(x: float, dec: int) -> str:
    return f"{round_half_up(x, dec):.{dec}f}"


def dec_word(dec: int) -> str:
    return f"{dec} decimal{'s' if dec != 1 else ''}"


def percent_fit(k: int, n: int, printed: float, dec: int) -> str | None:
    """How 100·k/n prints as ``printed``: "rounded", "double-rounded", "truncated" or None."""
    if n <= 0 or k < 0 or k > n:
        return None
    exact = 100.0 * k / n
    if abs(exact - printed) <= half_unit(dec) + EPS:
        return "rounded"
    if abs(round_half_up(round_half_up(exact, dec + 1), dec) - printed) < EPS:
        return "double-rounded"
    if abs(math.floor(exact * 10.0 ** dec + EPS) / 10.0 ** dec - printed) < EPS:
        return "truncated"
    return None


def counts_for_percent(n: int, printed: float, dec: int) -> list[int]:
    """Integers k with k/n rounding to the printed percent."""
    centre = round(printed * n / 100.0)
    return [k for k in range(max(centre - 2, 0), min(centre + 2, n) + 1)
            if percent_fit(k, n, printed, dec) == "rounded"]


def implied_denominators(printed: float, dec: int, bound: int, k: int | None = None) -> list[int]:
    """Denominators N <= bound for which k/N (or some integer k when k is None) prints as ``printed``."""
    out = []
    for n in range(1, bound + 1):
        if k is None:
            if counts_for_percent(n, printed, dec):
                out.append(n)
        elif percent_fit(k, n, printed, dec) == "rounded":
            out.append(n)
    return out


def show_set(values: list[int], limit: int = 12) -> str:
    if len(values) <= limit:
        return "{" + ", ".join(map(str, values)) + "}"
    return "{" + ", ".join(map(str, values[:limit])) + f", … ({len(values)} values)" + "}"


def semantic(entry: Entry, drop: Iterable[str] = ()) -> tuple:
    return tuple((k, entry.attrs.get(k)) for k in SEMANTIC_KEYS if k not in drop)


# ---- a, b: percentages against counts and denominators ---------------------------------------------
SizeOf = Callable[[str], "tuple[int, str] | None"]  # population -> (N, how N was obtained)


def _bound(registry: Registry, pop: str, n: int) -> int:
    """Largest denominator to consider: the parent population's size (or the population's own)."""
    parent = registry.populations[pop].parent if pop in registry.populations else None
    pn = registry.population_size(parent) if parent else None
    return max(n, pn or 0)


def rule_percentages(registry: Registry, size_of: SizeOf) -> list[Finding]:
    out: list[Finding] = []
    for e in registry:
        pop = e["population"]
        if e.kind not in ("count", "percent") or pop is None:
            continue
        known = size_of(pop)
        if known is None:
            continue
        size, how = known
        if e.kind == "count" and e.n is not None and e.n > size:
            out.append(Finding("a.percent_count", "error", (e.id,), f"{e.source}: count exceeds the size of "
                               f"{pop}", f"{e.n} > N = {size} ({how})"))
            continue
        if e.percent is not None:
            out.extend(_check_percent(registry, e, size, how))
    return out


def _check_percent(registry: Registry, e: Entry, size: int, how: str) -> list[Finding]:
    dec, pct, pop = e.decimals.get("percent", 0), e.percent, e["population"]
    bound = _bound(registry, pop, size)
    if e.kind == "count":
        fit = percent_fit(e.n, size, pct, dec)
        if fit == "rounded":
            return []
        exact = 100.0 * e.n / size
        arith = f"{e.n}/{size} = {exact:.2f}% → printed {pct:.{dec}f} ({dec_word(dec)}) ≠ {fmt(exact, dec)}"
        implied = [m for m in implied_denominators(pct, dec, bound, k=e.n) if m != size]
    else:
        ks = counts_for_percent(size, pct, dec)
        if ks:
            return []
        near = [k for k in range(size + 1) if percent_fit(k, size, pct, dec)]
        fit = percent_fit(near[0], size, pct, dec) if near else None
        arith = (f"no k/{size} rounds to {pct:.{dec}f}% ({dec_word(dec)}); nearest "
                 + ", ".join(f"{k}/{size} = {100 * k / size:.2f}%" for k in _neighbours(pct, size)))
        implied = [m for m in implied_denominators(pct, dec, bound) if m != size]
    where = f"{e.source}: denominator N = {size} ({how})"
    rule = "a.percent_count" if e.kind == "count" else "b.implied_denominator"
    if fit in ("double-rounded", "truncated"):
        alt = f"; also fits N ∈ {show_set(implied)}" if implied else ""
        how_fit = {"truncated": "truncation", "double-rounded": "double rounding"}[fit]
        return [Finding(rule, "warning", (e.id,), f"{where}: percent matches only by {how_fit}",
                        f"{arith}, but {how_fit} gives {pct:.{dec}f}{alt}")]
    if implied:
        return [Finding("b.implied_denominator", "error", (e.id,),
                        f"{where}: the printed percent implies a different denominator",
                        f"{arith}; printed value implies N ∈ {show_set(implied)} (N ≤ {bound}), not {size}")]
    return [Finding(rule, "error", (e.id,), f"{where}: percent does not match",
                    f"{arith}; no denominator N ≤ {bound} fits")]


def _neighbours(pct: float, n: int) -> list[int]:
    k = math.floor(pct * n / 100.0)
    return [j for j in (k, k + 1) if 0 <= j <= n]


# ---- e, f: ratio estimates, CIs and p-values -------------------------------------------------------
def _ratio_boxes(e: Entry):
    return [rbox(getattr(e, f), e.decimals.get(f, 2)) for f in ("estimate", "lower", "upper")]


def _log(x: float) -> float:
    return math.log(max(x, 1e-6))


def rule_ratio_ci(registry: Registry) -> list[Finding]:
    out = []
    for e in registry.find(kind="hr_ci"):
        est, lo, hi = e.estimate, e.lower, e.upper
        if not (lo <= est <= hi) or lo <= 0:
            out.append(Finding("e.ratio_ci", "error", (e.id,), f"{e.source}: estimate outside its CI",
                               f"{est} ∉ [{lo}, {hi}]"))
            continue
        (e0, e1), (l0, l1), (h0, h1) = _ratio_boxes(e)
        a_min = _log(e0) - (_log(l1) + _log(h1)) / 2
        a_max = _log(e1) - (_log(l0) + _log(h0)) / 2
        if a_min <= 0 <= a_max:
            continue
        width = (math.log(hi) - math.log(lo)) / 2
        off = min(abs(a_min), abs(a_max)) / width if width > 0 else math.inf
        sev = "error" if off > 0.25 else "warning" if off > 0.1 else "info"
        centre = math.exp((math.log(lo) + math.log(hi)) / 2)
        out.append(Finding("e.ratio_ci", sev, (e.id,), f"{e.source}: estimate off the CI's geometric centre",
                           f"√({lo}·{hi}) = {centre:.3f} vs printed {est}; |ln {est} − centre| = "
                           f"{abs(math.log(est) - math.log(centre)):.3f} on the log scale, "
                           f"{off:.0%} of the half-width {width:.3f} beyond rounding"))
    return out


def _p_box(p: Entry) -> tuple[float, float]:
    if p.p_bound == "<":
        return 0.0, p.p
    lo, hi = rbox(p.p, p.decimals.get("p", 3))
    return max(lo, 0.0), min(hi, 1.0)


def _z(pval: float) -> float:
    return float(norm.isf(max(pval, 1e-300) / 2))


def wald_p_range(e: Entry) -> tuple[float, float, float]:
    """(p at the printed numbers, min p, max p) of the Wald test over the rounding boxes of est/lo/hi."""
    (e0, e1), (l0, l1), (h0, h1) = _ratio_boxes(e)
    abs_ln = sorted((abs(_log(e0)), abs(_log(e1))))
    ln_min = 0.0 if e0 <= 1 <= e1 else abs_ln[0]
    se_min = (_log(h0) - _log(l1)) / (2 * Z975)
    se_max = (_log(h1) - _log(l0)) / (2 * Z975)
    se = (math.log(e.upper) - math.log(e.lower)) / (2 * Z975)
    p_hat = 2 * norm.sf(abs(math.log(e.estimate)) / se) if se > 0 else 0.0
    p_min = 2 * norm.sf(abs_ln[1] / se_min) if se_min > 0 else 0.0
    p_max = 2 * norm.sf(ln_min / se_max) if se_max > 0 else 1.0
    return float(p_hat), float(p_min), float(p_max)


def rule_p_vs_ci(registry: Registry) -> list[Finding]:
    ps = {(p.table, semantic(p)): p for p in registry.find(kind="p")}
    out = []
    for e in registry.find(kind="hr_ci"):
        p = ps.get((e.table, semantic(e)))
        if p is None or not (0 < e.lower <= e.estimate <= e.upper):
            continue
        p_hat, p_min, p_max = wald_p_range(e)
        q_lo, q_hi = _p_box(p)
        if p_max >= q_lo - EPS and p_min <= q_hi + EPS:
            continue
        gap = _z(q_hi) - _z(p_min) if p_min > q_hi else _z(p_max) - _z(q_lo)
        excludes_one = e.lower > 1 or e.upper < 1
        includes_one = e.lower < 1 < e.upper
        conflict = (excludes_one and q_lo > 0.05) or (includes_one and q_hi < 0.05)
        sev = "error" if conflict or gap >= 0.5 else "warning" if gap >= 0.1 else "info"
        what = (" (CI excludes 1 but p > 0.05)" if excludes_one and q_lo > 0.05 else
                " (CI includes 1 but p < 0.05)" if conflict else "")
        se = (math.log(e.upper) - math.log(e.lower)) / (2 * Z975)
        out.append(Finding("f.p_vs_ci", sev, (e.id, p.id), f"{e.source}: p-value inconsistent with the CI{what}",
                           f"SE = (ln {e.upper} − ln {e.lower})/(2·1.96) = {se:.3f}, z = ln {e.estimate}/SE = "
                           f"{math.log(e.estimate) / se:.2f}, Wald p = {p_hat:.3g} (range {p_min:.3g}–{p_max:.3g} "
                           f"over rounding) vs printed p {p.p_bound if p.p_bound == '<' else '='} {p.raw.strip()}; "
                           f"gap {gap:.2f} in z"))
    return out


# ---- g: medians inside their interval --------------------------------------------------------------
def rule_median_interval(registry: Registry) -> list[Finding]:
    out = []
    for e in registry:
        if e.kind not in ("median_iqr", "median_ci"):
            continue
        label = "IQR" if e.kind == "median_iqr" else "CI"
        if e.lower > e.upper:
            out.append(Finding("g.median_interval", "error", (e.id,), f"{e.source}: {label} bounds reversed",
                               f"lower {e.lower} > upper {e.upper}"))
        elif not (e.lower <= e.estimate <= e.upper):
            out.append(Finding("g.median_interval", "error", (e.id,), f"{e.source}: median outside its {label}",
                               f"{e.estimate} ∉ [{e.lower}, {e.upper}]"))
    return out


# ---- h: the same quantity reported twice -----------------------------------------------------------
_FIELDS = {"proportion": ("n", "percent"), "median": ("estimate", "lower", "upper"),
           "ratio": ("estimate", "lower", "upper"), "p": ("p",), "number": ("estimate",)}


def _compare(a: Entry, b: Entry, fld: str) -> tuple[str, str] | None:
    """(severity, text) when field ``fld`` of a and b disagree beyond rounding, else None."""
    x, y = getattr(a, fld), getattr(b, fld)
    if x is None or y is None:
        return None
    if fld == "n":
        return None if x == y else ("error", f"n {x} ≠ {y}")
    if fld == "p":
        (a0, a1), (b0, b1) = _p_box(a), _p_box(b)
        da, db = a.decimals.get("p", 3), b.decimals.get("p", 3)
    else:
        da, db = a.decimals.get(fld, 0), b.decimals.get(fld, 0)
        (a0, a1), (b0, b1) = rbox(x, da), rbox(y, db)
    if a1 >= b0 - EPS and b1 >= a0 - EPS:
        return None
    sev = "warning" if abs(x - y) <= 10.0 ** -min(da, db) + EPS else "error"
    return sev, f"{fld} {x} ({dec_word(da)}) vs {y} ({dec_word(db)}): rounding boxes do not overlap"


def rule_duplicates(registry: Registry) -> list[Finding]:
    groups: dict[tuple, list[Entry]] = defaultdict(list)
    for e in registry:
        groups[(FAMILY.get(e.kind, e.kind), semantic(e))].append(e)
    out: list[Finding] = []
    labels: dict[tuple, list[tuple[Entry, Entry]]] = defaultdict(list)
    for (family, _), members in groups.items():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                diffs = [d for f in _FIELDS.get(family, ()) if (d := _compare(a, b, f))]
                if diffs:
                    sev = "error" if any(s == "error" for s, _ in diffs) else "warning"
                    out.append(Finding("h.duplicate", sev, (a.id, b.id),
                                       f"the same quantity printed twice disagrees: {a.source} | {b.source}",
                                       f"{a.raw.strip()} vs {b.raw.strip()}: " + "; ".join(t for _, t in diffs)))
                elif a.kind != b.kind and family == "median":
                    labels[(a.table, a.kind, b.table, b.kind)].append((a, b))
    for (ta, ka, tb, kb), pairs in labels.items():
        ids = tuple(i for a, b in pairs for i in (a.id, b.id))
        out.append(Finding("h.interval_label", "warning", ids,
                           f"{ta} labels these intervals {ka} while {tb} labels the same numbers {kb}",
                           "; ".join(f"{a.raw.strip()} ({a.id}) = {b.raw.strip()} ({b.id})" for a, b in pairs)))
    return out
