"""The published-figure registry: every number a paper reports, typed, with a stable id and its source.

``published.toml`` is written table by table, the way the paper prints it: each table declares its
columns (which population, endpoint or model a column holds, and the kind of number in it), each row
its attributes and its cells *as printed* ("11 (15.7)", "0.66 (0.37-1.18)", "56.00 [51.00, 63.00]").
Numbers from the Results text are ``[[text]]`` entries with the sentence they come from. The loader
expands this into one :class:`Entry` per printed cell, id ``<table>.<row>.<column>``, parsed into
typed fields while keeping the printed decimals (which the audit needs to respect rounding). Which of
the printed counts make up two-group comparisons of proportions is declared under ``[comparisons]``
(:mod:`hccbayes.data.published.comparisons`).

Entry kinds and what they parse:

=============  =========================================  ==================================
kind           printed form                               fields
=============  =========================================  ==================================
count          ``11 (15.7)`` or ``11``                    n, percent
percent        ``24.2``                                   percent
median_iqr     ``56.00 [51.00, 63.00]``                   estimate, lower, upper (quartiles)
median_ci      ``7.50 (4.06-10.94)``                      estimate, lower, upper (95% CI)
hr_ci          ``0.49 (0.26-0.95)``                       estimate, lower, upper (95% CI)
p              ``0.033``, ``<0.001``, ``1``               p, p_bound ("=" or "<")
number         ``403``                                    estimate
=============  =========================================  ==================================
"""
from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterator, Mapping

import pandas as pd

from hccbayes.data.published.comparisons import ComparisonSpec, parse_comparisons
from hccbayes.data.study import resolve_study_folder
from hccbayes.errors import Problem, RegistryError

log = logging.getLogger(__name__)

KINDS = ("count", "percent", "median_iqr", "median_ci", "hr_ci", "p", "number")
# attributes that say *what* an entry measures (used to find the same quantity reported twice)
SEMANTIC_KEYS = ("measure", "population", "endpoint", "model", "variable", "level", "factor", "grade",
                 "outcome")

_NUM = r"[-+]?\d+(?:\.\d+)?"
_DASH = r"\s*(?:-|–|—|to|,)\s*"
_INTERVAL = re.compile(rf"^\s*({_NUM})\s*[\(\[]\s*({_NUM}){_DASH}({_NUM})\s*[\)\]]\s*$")
_COUNT = re.compile(rf"^\s*(\d+)\s*(?:\(\s*({_NUM})\s*%?\s*\))?\s*$")
_P = re.compile(rf"^\s*([<>=≤]?)\s*({_NUM})\s*$")
_PLAIN = re.compile(rf"^\s*({_NUM})\s*%?\s*$")


def decimals(text: str) -> int:
    """Number of printed decimals of a numeric string ("14.30" -> 2, "2" -> 0)."""
    text = text.strip()
    return len(text.split(".", 1)[1]) if "." in text else 0


@dataclass(frozen=True)
class Entry:
    """One published number (one printed cell or one figure from the text)."""

    id: str
    kind: str
    raw: str
    source: str  # e.g. "Table 4 · AFP (>400 vs. ≤400) · OS multivariate HR (95% CI)"
    table: str  # table key (the [tables.<key>] of published.toml) or "text"
    attrs: Mapping[str, Any] = field(default_factory=dict)
    estimate: float | None = None
    lower: float | None = None
    upper: float | None = None
    n: int | None = None
    percent: float | None = None
    p: float | None = None
    p_bound: str = "="
    decimals: Mapping[str, int] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.attrs.get(key)

    @property
    def key(self) -> tuple:
        """What the entry measures, independent of where it was printed."""
        return (self.kind if self.kind != "median_iqr" else "median_ci",) + tuple(
            self.attrs.get(k) for k in SEMANTIC_KEYS)

    def as_row(self) -> dict[str, Any]:
        row = {"id": self.id, "kind": self.kind, "table": self.table, "source": self.source, "raw": self.raw,
               "estimate": self.estimate, "lower": self.lower, "upper": self.upper, "n": self.n,
               "percent": self.percent, "p": self.p, "p_bound": self.p_bound}
        for k in SEMANTIC_KEYS:
            row[k] = self.attrs.get(k)
        return row


def parse_value(kind: str, raw: str) -> dict[str, Any]:
    """Parse a printed value of ``kind``; raises ValueError with a readable reason."""
    text = re.sub(r"(\d)\.\s+(\d)", r"\1.\2", str(raw))  # "0. 68" as printed -> 0.68
    if kind in ("median_iqr", "median_ci", "hr_ci"):
        m = _INTERVAL.match(text)
        if not m:
            raise ValueError(f"expected 'estimate (lower-upper)' for a {kind}, got {raw!r}")
        est, lo, hi = m.groups()
        return {"estimate": float(est), "lower": float(lo), "upper": float(hi),
                "decimals": {"estimate": decimals(est), "lower": decimals(lo), "upper": decimals(hi)}}
    if kind == "count":
        m = _COUNT.match(text)
        if not m:
            raise ValueError(f"expected 'n (percent)' or 'n' for a count, got {raw!r}")
        n, pct = m.groups()
        out: dict[str, Any] = {"n": int(n), "decimals": {}}
        if pct is not None:
            out["percent"] = float(pct)
            out["decimals"] = {"percent": decimals(pct)}
        return out
    if kind == "p":
        m = _P.match(text)
        if not m:
            raise ValueError(f"expected a p-value such as '0.033' or '<0.001', got {raw!r}")
        bound, val = m.groups()
        return {"p": float(val), "p_bound": "<" if bound in ("<", "≤") else "=",
                "decimals": {"p": decimals(val)}}
    if kind in ("percent", "number"):
        m = _PLAIN.match(text)
        if not m:
            raise ValueError(f"expected a number for a {kind}, got {raw!r}")
        (val,) = m.groups()
        key = "percent" if kind == "percent" else "estimate"
        return {key: float(val), "decimals": {key: decimals(val)}}
    raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")


@dataclass(frozen=True)
class Population:
    name: str
    label: str
    n: int | None
    parent: str | None = None


@dataclass(frozen=True)
class Registry:
    """All published figures of one study, queryable by id and by attributes."""

    study: str
    source: str
    entries: tuple[Entry, ...]
    populations: Mapping[str, Population]
    partitions: Mapping[str, tuple[str, tuple[str, ...]]]  # name -> (whole, parts)
    path: str = ""
    comparisons: Mapping[str, ComparisonSpec] = field(default_factory=dict)  # [comparisons]: see that module
    titles: Mapping[str, str] = field(default_factory=dict)  # table key -> its title ("Table 4"), file order

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, entry_id: str) -> Entry:
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(f"no published entry with id {entry_id!r}")

    def find(self, kind: str | None = None, table: str | None = None, **attrs: Any) -> list[Entry]:
        """Entries matching a kind, a table and attribute values (``population="arm:A"``)."""
        out = []
        for e in self.entries:
            if kind is not None and e.kind != kind:
                continue
            if table is not None and e.table != table:
                continue
            if all(e.attrs.get(k) == v for k, v in attrs.items()):
                out.append(e)
        return out

    def to_frame(self):
        """The registry as a tidy DataFrame, one row per entry."""

        return pd.DataFrame([e.as_row() for e in self.entries])

    def population_size(self, name: str) -> int | None:
        pop = self.populations.get(name)
        return pop.n if pop else None


def load_registry(path_or_study: str | Path) -> Registry:
    """Load ``published.toml`` from a path, a study folder or a bundled study name."""
    p = Path(path_or_study)
    if p.is_dir():
        p = p / "published.toml"
    elif not p.is_file():

        p = resolve_study_folder(path_or_study) / "published.toml"
    if not p.is_file():
        raise RegistryError(Problem(str(p), "file not found", "create published.toml in the study folder"))
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise RegistryError(Problem(str(p), f"not valid TOML: {err}", "fix the syntax")) from None
    return parse_registry(raw, str(p))


def study_registry(study) -> Registry:
    """The registry of a study's ``published.toml``, or an empty one when the study publishes nothing (a
    cohort of one's own, a trial re-analysed from its patient data): published.toml is optional."""
    path = Path(study.folder) / "published.toml"
    if not path.is_file():
        log.info("study %s has no published.toml: no published figures, no audit", study.name)
        return parse_registry({"registry": {"study": study.name}}, "")
    return load_registry(path)


def parse_registry(raw: dict[str, Any], fname: str = "<registry>") -> Registry:
    problems: list[Problem] = []
    head = raw.get("registry", {})
    pops = {}
    for name, spec in raw.get("populations", {}).items():
        pops[name] = Population(name, spec.get("label", name), spec.get("n"), spec.get("parent"))
    partitions = {}
    for name, spec in raw.get("partitions", {}).items():
        whole, parts = spec.get("whole"), tuple(spec.get("parts", ()))
        for pop in (whole, *parts):
            if pop not in pops:
                problems.append(Problem(fname, f"partition '{name}' names unknown population {pop!r}",
                                        "declare it under [populations]"))
        partitions[name] = (whole, parts)

    entries: list[Entry] = []
    seen: set[str] = set()

    def add(entry_id, kind, rawval, source, table, attrs, where):
        if entry_id in seen:
            problems.append(Problem(fname, f"duplicate entry id {entry_id!r} ({where})", "make ids unique"))
            return
        seen.add(entry_id)
        if attrs.get("population") is not None and attrs["population"] not in pops:
            problems.append(Problem(fname, f"{where}: unknown population {attrs['population']!r}",
                                    "declare it under [populations]"))
        try:
            parsed = parse_value(kind, rawval)
        except ValueError as err:
            problems.append(Problem(fname, f"{where}: {err}", "write the value as printed in the paper"))
            return
        dec = MappingProxyType(parsed.pop("decimals", {}))
        entries.append(Entry(id=entry_id, kind=kind, raw=str(rawval), source=source, table=table,
                             attrs=MappingProxyType(dict(attrs)), decimals=dec, **parsed))

    for tkey, table in raw.get("tables", {}).items():
        title = table.get("title", tkey)
        tattrs = {k: v for k, v in table.items() if k not in ("title", "columns", "rows", "note")}
        columns = table.get("columns", {})
        for i, row in enumerate(table.get("rows", []), start=1):
            rid = row.get("id")
            where = f"[tables.{tkey}] row {i} ({rid or 'no id'})"
            if not rid:
                problems.append(Problem(fname, f"{where}: row without id", "add id = \"...\""))
                continue
            rattrs = {k: v for k, v in row.items() if k not in ("id", "label", "cells", "kind")}
            for ckey, rawval in row.get("cells", {}).items():
                if ckey not in columns:
                    problems.append(Problem(fname, f"{where}: cell for undeclared column {ckey!r}",
                                            f"declare it under [tables.{tkey}.columns]"))
                    continue
                col = dict(columns[ckey])
                kind = col.pop("kind", None) or row.get("kind")
                clabel = col.pop("label", ckey)
                attrs = {**tattrs, **col, **rattrs}
                source = f"{title} · {row.get('label', rid)} · {clabel}"
                add(f"{tkey}.{rid}.{ckey}", kind, rawval, source, tkey, attrs, where)

    for i, item in enumerate(raw.get("text", []), start=1):
        tid = item.get("id")
        where = f"[[text]] {i} ({tid or 'no id'})"
        if not tid or "value" not in item or "kind" not in item:
            problems.append(Problem(fname, f"{where}: needs id, kind and value", "add the missing keys"))
            continue
        attrs = {k: v for k, v in item.items() if k not in ("id", "kind", "value", "quote", "section")}
        source = f"Results {item.get('section', '')}: \"{item.get('quote', '')}\"".strip()
        add(f"text.{tid}", item["kind"], item["value"], source, "text", attrs, where)

    tables = set(raw.get("tables", {})) | ({"text"} if raw.get("text") else set())
    comparisons = parse_comparisons(raw.get("comparisons", {}), pops, tables, fname, problems)
    if problems:
        raise RegistryError(problems, summary=f"{len(problems)} problem(s) in {fname}")
    return Registry(study=head.get("study", ""), source=head.get("source", ""), entries=tuple(entries),
                    populations=MappingProxyType(pops), partitions=MappingProxyType(partitions), path=fname,
                    comparisons=MappingProxyType(comparisons),
                    titles=MappingProxyType({k: t.get("title", k) for k, t in raw.get("tables", {}).items()}))
