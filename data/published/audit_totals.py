"""Additive rules of the consistency audit: population sizes, category sums and partition totals.

Counts are additive over a declared partition: for any quantity q (an entry's semantic attributes without
its population) and any *cell* (an intersection of populations), x_q(C ∩ whole) = Σ_parts x_q(C ∩ part).
The same identity holds for head-counts (q = None), which is how unknown population sizes are derived:

* a population named ``"<variable>:<level>"`` (``marker_change:elevated``) is linked to count entries with that
  variable and level: a count of it in population P is the size of the cell P ∩ <variable>:<level>;
* whenever all but one term of a partition identity are known, the last one is derived; when all are known
  and they disagree, that is a finding (rule d) with both computations and every entry they rest on.

Percent-only entries become counts once their population's size is known (the unique integer k with
k/N rounding to the printed percent). Rule c checks that the levels of one categorical variable printed
in one table sum to the group size, and that declared derived levels (``[derived.<variable>]`` in
published.toml, e.g. ORR = CR + PR) equal the sum of their components.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping

from hccbayes.data.published.audit_rules import EPS, Finding, counts_for_percent, rbox, semantic
from hccbayes.data.published.registry import Entry, Registry

log = logging.getLogger(__name__)
Cell = frozenset


@dataclass(frozen=True)
class Fact:
    value: int
    ids: tuple[str, ...]
    expr: str  # how the value was obtained (one level), for the finding's arithmetic
    steps: tuple[str, ...] = ()  # derivations the value rests on, printed before the comparison
    direct: bool = False  # read off one printed entry

    def term(self, name: str) -> tuple[str, tuple[str, ...]]:
        """How the fact appears as a term of a sum, and the steps to print before it."""
        if self.direct:
            return f"{self.value} ({self.expr})", self.steps
        return str(self.value), self.steps + (f"{name} = {self.expr} = {self.value}",)

    def explain(self, name: str) -> str:
        """The fact with everything it rests on, as one line."""
        return "; ".join(self.term(name)[1]) if not self.direct else self.expr


def _terms(facts, names) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    shown, steps = [], []
    for f, name in zip(facts, names):
        text, st = f.term(name)
        shown.append(text)
        steps.extend(st)
    ids = tuple(dict.fromkeys(i for f in facts for i in f.ids))
    return " + ".join(shown), tuple(dict.fromkeys(steps)), ids


class Totals:
    """Known and derived counts per (quantity, cell), propagated over the registry's partitions."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.facts: dict[tuple, Fact] = {}
        self.findings: list[Finding] = []
        self._checked: set[tuple] = set()
        self.anc = _ancestors(registry)

    # -- cells -----------------------------------------------------------------------------------
    def norm(self, pops) -> Cell:
        pops = set(pops)
        return Cell(p for p in pops if not any(p in self.anc.get(o, ()) for o in pops if o != p))

    def empty(self, cell: Cell) -> bool:
        """True when two populations of the cell lie in different parts of one partition."""
        for _, (_, parts) in self.registry.partitions.items():
            hit = {part for part in parts for p in cell if p == part or part in self.anc.get(p, ())}
            if len(hit) > 1:
                return True
        return False

    @staticmethod
    def label(cell: Cell) -> str:
        return " ∩ ".join(sorted(cell)) or "all"

    # -- facts -----------------------------------------------------------------------------------
    def observe(self, q, cell: Cell, fact: Fact, quiet_same_source: bool = False) -> None:
        old = self.facts.get((q, cell))
        if old is None:
            self.facts[(q, cell)] = fact
        elif old.value != fact.value and not quiet_same_source:
            self._conflict(q, cell, old, fact, "")

    def name(self, q, cell: Cell) -> str:
        return f"{'N' if q is None else 'x'}({self.label(cell)})"

    def _conflict(self, q, cell, a: Fact, b: Fact, via: str) -> None:
        what = "size" if q is None else _qlabel(q)
        ids = tuple(dict.fromkeys(a.ids + b.ids))
        steps = tuple(dict.fromkeys(a.steps + b.steps))
        name = self.name(q, cell)
        self.findings.append(Finding(
            "d.partition_total", "error", ids,
            f"{what} of {self.label(cell)} differs between two routes{via}",
            "; ".join(steps + (f"{name} = {a.expr} = {a.value}", f"{name} = {b.expr} = {b.value}"))
            + f" → {a.value} ≠ {b.value}"))

    def propagate(self, q) -> None:
        changed = True
        while changed:
            changed = False
            for pname, (whole, parts) in self.registry.partitions.items():
                members = (whole, *parts)
                contexts = set()
                for (qq, cell) in list(self.facts):
                    if qq != q:
                        continue
                    contexts.add(cell)
                    contexts.update(cell - {m} for m in members if m in cell)
                for ctx in sorted(contexts, key=sorted):  # a fixed order: string hashing is per process
                    if any(m in ctx for m in members):
                        continue
                    changed |= self._apply(q, pname, ctx, whole, parts)

    def _apply(self, q, pname, ctx, whole, parts) -> bool:
        wcell = self.norm(ctx | {whole})
        pcells = [self.norm(ctx | {p}) for p in parts]
        if self.empty(wcell):
            return False
        w = self.facts.get((q, wcell))
        ps = [self.facts.get((q, c)) for c in pcells]
        missing = [i for i, f in enumerate(ps) if f is None]
        known = [(f, self.name(q, c)) for f, c in zip(ps, pcells) if f is not None]
        shown, steps, ids = _terms([f for f, _ in known], [n for _, n in known])
        total = sum(f.value for f, _ in known)
        if w is not None and not missing:
            key = (q, pname, ctx)
            if total != w.value and key not in self._checked:
                self._checked.add(key)
                self._conflict(q, wcell, w, Fact(total, ids, f"Σ {pname}: {shown}", steps),
                               f" (partition {pname})")
            return False
        if w is not None and len(missing) == 1:
            cell = pcells[missing[0]]
            wshown, wsteps, _ = _terms([w], [self.name(q, wcell)])
            if total > w.value:
                self._checked.add((q, pname, ctx))
                self._conflict(q, wcell, w, Fact(total, ids, f"Σ {pname}: {shown}", steps),
                               f" (parts exceed the whole in partition {pname})")
                return False
            self.facts[(q, cell)] = Fact(w.value - total, tuple(dict.fromkeys(w.ids + ids)),
                                         f"{wshown} − " + (f"({shown})" if len(known) > 1 else shown), tuple(dict.fromkeys(wsteps + steps)))
            return True
        if w is None and not missing:
            self.facts[(q, wcell)] = Fact(total, ids, shown, steps)
            return True
        return False

    def size(self, pop: str) -> Fact | None:
        return self.facts.get((None, self.norm({pop})))


def _ancestors(registry: Registry) -> dict[str, set[str]]:
    direct: dict[str, set[str]] = defaultdict(set)
    for name, pop in registry.populations.items():
        if pop.parent:
            direct[name].add(pop.parent)
    for whole, parts in registry.partitions.values():
        for p in parts:
            direct[p].add(whole)
    out: dict[str, set[str]] = {}
    for name in registry.populations:
        seen, stack = set(), list(direct[name])
        while stack:
            a = stack.pop()
            if a not in seen:
                seen.add(a)
                stack.extend(direct[a])
        out[name] = seen
    return out


def _qlabel(q) -> str:
    return "count of " + ", ".join(f"{k}={v}" for k, v in q if v is not None)


def _quantity(e: Entry) -> tuple:
    return semantic(e, drop=("population",))


def build_totals(registry: Registry) -> Totals:
    """Sizes (declared and derived) and counts of every quantity, with partition findings (rule d)."""
    t = Totals(registry)
    for name, pop in registry.populations.items():
        if pop.n is not None:
            t.observe(None, t.norm({name}), Fact(pop.n, (), f"declared N({name})", direct=True))
    counts = [e for e in registry if e.kind == "count" and e["population"] in registry.populations]
    for e in counts:
        link = f"{e['variable']}:{e['level']}"
        if e["variable"] is not None and link in registry.populations:
            t.observe(None, t.norm({e["population"], link}), Fact(e.n, (e.id,), e.id, direct=True))
    t.propagate(None)
    for e in registry:
        if e["population"] not in registry.populations or e.kind not in ("count", "percent"):
            continue
        fact = _count_fact(t, e)
        if fact is not None:
            t.observe(_quantity(e), t.norm({e["population"]}), fact, quiet_same_source=True)
    for q in sorted({q for (q, _) in t.facts if q is not None}, key=repr):  # fixed order (PYTHONHASHSEED)
        t.propagate(q)
    log.info("audit totals: %d known or derived counts", len(t.facts))
    return t


def _count_fact(t: Totals, e: Entry) -> Fact | None:
    if e.kind == "count":
        return Fact(e.n, (e.id,), e.id, direct=True)
    size = t.size(e["population"])
    if size is None:
        return None
    ks = counts_for_percent(size.value, e.percent, e.decimals.get("percent", 0))
    if len(ks) != 1:
        return None
    nshown, steps, _ = _terms([size], [f"N({e['population']})"])
    return Fact(ks[0], tuple(dict.fromkeys((e.id, *size.ids))), f"{e.raw.strip()}% of {nshown}, {e.id}",
                steps, direct=True)


# ---- c: category sums and declared derived levels -------------------------------------------------
def rule_category_sums(registry: Registry, totals: Totals, derived: Mapping[str, Mapping]) -> list[Finding]:
    out: list[Finding] = []
    groups: dict[tuple, list[Entry]] = defaultdict(list)
    for e in registry:
        if e.kind == "count" and e.table != "text" and e["variable"] is not None and e["level"] is not None:
            groups[(e.table, semantic(e, drop=("level",)))].append(e)
    for (table, _), members in groups.items():
        dlevels = derived.get(members[0]["variable"], {})
        base = [e for e in members if str(e["level"]) not in dlevels]
        pop = members[0]["population"]
        size = totals.size(pop) if pop else None
        if len(base) < 2 or size is None:
            continue
        total = sum(e.n for e in base)
        if total != size.value:
            sev = "error" if total > size.value else "warning"
            out.append(Finding("c.category_sum", sev, tuple(e.id for e in base),
                               f"{table}: levels of {members[0]['variable']} in {pop} do not sum to the group size",
                               " + ".join(f"{e.n} ({e['level']})" for e in base)
                               + f" = {total} ≠ N = {size.value} ({size.explain('N(' + pop + ')')})"))
    for (q, cell), fact in list(totals.facts.items()):
        if q is None:
            continue
        attrs = dict(q)
        comps = derived.get(attrs.get("variable"), {}).get(str(attrs.get("level")))
        if not comps:
            continue
        parts = [totals.facts.get((tuple((k, c if k == "level" else v) for k, v in q), cell)) for c in comps]
        if any(p is None for p in parts):
            continue
        total = sum(p.value for p in parts)
        if total != fact.value:
            ids = tuple(dict.fromkeys(fact.ids + tuple(i for p in parts for i in p.ids)))
            out.append(Finding("c.derived_sum", "error", ids,
                               f"{attrs.get('level')} ≠ {' + '.join(comps)} in {totals.label(cell)}",
                               f"{fact.explain('x')} = {fact.value} vs " + " + ".join(
                                   f"{p.value} ({c})" for p, c in zip(parts, comps)) + f" = {total}"))
    return out


# ---- i: a pooled median lies between its parts' medians --------------------------------------------
def rule_pooled_median(registry: Registry) -> list[Finding]:
    med: dict[tuple, Entry] = {}
    for e in registry:
        if e.kind in ("median_iqr", "median_ci") and e["population"] is not None:
            med.setdefault((_quantity(e), e["population"]), e)
    out = []
    for pname, (whole, parts) in registry.partitions.items():
        for (q, pop), w in med.items():
            if pop != whole or not all((q, p) in med for p in parts):
                continue
            ps = [med[(q, p)] for p in parts]
            lo = min(rbox(p.estimate, p.decimals.get("estimate", 0))[0] for p in ps)
            hi = max(rbox(p.estimate, p.decimals.get("estimate", 0))[1] for p in ps)
            w0, w1 = rbox(w.estimate, w.decimals.get("estimate", 0))
            if w1 < lo - EPS or w0 > hi + EPS:
                out.append(Finding("i.pooled_median", "warning", (w.id, *(p.id for p in ps)),
                                   f"median of {whole} outside the range of its {pname} parts' medians",
                                   f"{w.estimate} ∉ [{min(p.estimate for p in ps)}, "
                                   f"{max(p.estimate for p in ps)}] ({', '.join(p.id for p in ps)})"))
    return out
