"""Reconstruction targets read from a study's published-figure registry, plus the study's
``reconstruction.toml`` choices (what the paper does not pin down).

Nothing here is specific to one paper: a target is found by the registry attributes documented in
:mod:`hccbayes.data.published.registry` (``variable``/``level`` counts per ``arm:<name>`` population, ``outcome`` +
``grade`` adverse-event counts, ``measure = "km_median"`` medians, ``measure = "events"`` totals,
``factor``/``endpoint``/``model`` Cox hazard ratios). A target the registry does not hold is simply
absent; the reconstruction then leaves that feature free.
"""
from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hccbayes.data.published.registry import Registry
from hccbayes.data.study import Study
from hccbayes.errors import InputError, Problem

log = logging.getLogger(__name__)


class ReconstructionError(InputError):
    """The published targets cannot be met together (or the reconstruction settings are malformed)."""


def norm_level(value: Any) -> str:
    """Compare printed levels loosely: '≤ 5' == '<=5', 'Yes' == 1 == '1', Cyrillic 'В' == 'B'."""
    s = str(value).strip().lower().replace("≤", "<=").replace("≥", ">=").replace(" ", "")
    s = s.replace("в", "b").replace("с", "c")  # Cyrillic look-alikes in the extracted PDF text
    return {"yes": "1", "true": "1", "no": "0", "false": "0"}.get(s, s)


@dataclass(frozen=True)
class CountTarget:
    column: str
    arm: str
    value: str  # the CSV value counted
    n: int
    entry: str


@dataclass(frozen=True)
class QuantileTarget:
    column: str
    arm: str
    median: float
    q1: float
    q3: float
    entry: str


@dataclass(frozen=True)
class MedianTarget:
    population: str
    endpoint: str
    estimate: float
    lower: float | None
    upper: float | None
    hard: bool
    entry: str


@dataclass(frozen=True)
class CoxTarget:
    population: str
    endpoint: str
    model: str
    factor: str
    hr: float
    lower: float
    upper: float
    significant: bool
    entry: str


@dataclass
class Targets:
    sizes: dict[str, int]                      # regimen -> n
    counts: list[CountTarget] = field(default_factory=list)
    quantiles: list[QuantileTarget] = field(default_factory=list)
    events: dict[str, tuple[int, str]] = field(default_factory=dict)  # endpoint -> (n, entry)
    medians: list[MedianTarget] = field(default_factory=list)
    cox: list[CoxTarget] = field(default_factory=list)

    def counts_for(self, column: str, arm: str) -> dict[str, int]:
        return {t.value: t.n for t in self.counts if t.column == column and t.arm == arm}


def load_settings(study: Study) -> dict[str, Any]:
    """``reconstruction.toml`` of the study folder (its ``[reconstruction]`` table); {} if absent."""
    path = Path(study.folder) / "reconstruction.toml"
    if not path.is_file():
        log.info("%s not found; using default reconstruction settings", path)
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")).get("reconstruction", {})
    except tomllib.TOMLDecodeError as err:
        raise ReconstructionError(Problem(str(path), f"not valid TOML: {err}", "fix the syntax")) from None


def response_window(study: Study, settings: dict[str, Any]) -> tuple[float, float] | None:
    """(latest progression of a PD patient, earliest progression of the others) from reconstruction.toml's
    ``[reconstruction.response]`` (the study's assessment schedule, in its time unit); None when the study
    does not declare them. No default: the schedule belongs to the study, not to the code."""
    rs = settings.get("response", {})
    keys = ("pd_latest_progression", "non_pd_earliest_progression")
    if not all(k in rs for k in keys):
        return None
    return float(rs[keys[0]]), float(rs[keys[1]])


def _csv_value(study: Study, column: str, level: Any) -> str | None:
    col = study.column(column) if column in {c.name for c in study.columns} else None
    wanted = norm_level(level)
    if col is None:  # e.g. the response column
        cats = study.response.categories if study.response and column == study.response.column else ()
        return next((c for c in cats if norm_level(c) == wanted), None)
    if col.type == "binary":
        return wanted if wanted in ("0", "1") else None
    return next((lv for lv in col.levels if norm_level(lv) == wanted), None)


def _levels(study: Study, column: str) -> tuple[str, ...]:
    if study.response and column == study.response.column:
        return study.response.categories
    col = study.column(column)
    return ("0", "1") if col.type == "binary" else col.levels


def _count_targets(study: Study, reg: Registry, problems: list[Problem]) -> list[CountTarget]:
    cols = [c.name for c in study.columns if c.type in ("categorical", "binary")]
    if study.response:
        cols.append(study.response.column)
    out = []
    for arm in study.arms:
        pop = f"arm:{arm.name}"
        n_arm = reg.population_size(pop)
        for column in cols:
            found: dict[str, tuple[int, str]] = {}
            for e in reg.find(kind="count", variable=column, population=pop):
                value = _csv_value(study, column, e["level"] if e["level"] is not None else 1)
                if value is not None:
                    found.setdefault(value, (e.n, e.id))
            if not found:
                continue
            levels = _levels(study, column)
            missing = [lv for lv in levels if lv not in found]
            if len(missing) == 1 and n_arm is not None:  # e.g. only "Surgery (%)" printed: rest are 0
                found[missing[0]] = (n_arm - sum(n for n, _ in found.values()), "complement")
            total = sum(n for n, _ in found.values())
            if n_arm is not None and (missing and len(missing) > 1 or total != n_arm):
                problems.append(Problem(reg.path, f"counts of '{column}' in {pop} add up to {total}, not "
                                        f"{n_arm} (levels found: {sorted(found)})",
                                        "transcribe every level of the row (or fix the slip)"))
                continue
            out += [CountTarget(column, arm.name, v, n, eid) for v, (n, eid) in found.items()]
    return out


def _ae_targets(study: Study, reg: Registry) -> list[CountTarget]:
    out = []
    for arm in study.arms:
        for event, _ in study.adverse_events:
            for grade in study.ae_grades:
                hits = reg.find(kind="count", outcome=event, grade=grade, population=f"arm:{arm.name}")
                if hits:
                    out.append(CountTarget(study.ae_column(event, grade), arm.name, "1", hits[0].n,
                                           hits[0].id))
    return out


def _quantile_targets(study: Study, reg: Registry) -> list[QuantileTarget]:
    out = []
    for c in study.columns:
        if c.type != "continuous":
            continue
        for arm in study.arms:
            hits = reg.find(kind="median_iqr", variable=c.name, population=f"arm:{arm.name}")
            if hits:
                e = hits[0]
                out.append(QuantileTarget(c.name, arm.name, e.estimate, e.lower, e.upper, e.id))
    return out


def _median_targets(reg: Registry, hard_kinds: list[str]) -> list[MedianTarget]:
    out: dict[tuple[str, str], MedianTarget] = {}
    for e in reg.find(measure="km_median"):
        if e.kind not in ("median_ci", "median_iqr") or e["population"] is None:
            continue
        key = (e["population"], e["endpoint"])
        hard = e["population"].split(":", 1)[0] in hard_kinds
        out.setdefault(key, MedianTarget(key[0], key[1], e.estimate, e.lower, e.upper, hard, e.id))
    return list(out.values())


def _cox_targets(study: Study, reg: Registry) -> list[CoxTarget]:
    out, seen = [], set()
    entries = reg.find(kind="hr_ci")
    for e in [e for e in entries if e.table != "text"] + [e for e in entries if e.table == "text"]:
        factor = e["factor"]
        key = (e["population"] or "all", e["endpoint"], e["model"] or "univariable", factor)
        if key in seen:  # the Results text repeats table cells; the table is followed
            continue
        seen.add(key)
        if factor is None or e["endpoint"] is None:
            continue
        if factor not in study.factors:
            log.warning("%s: factor %r is not declared in study.toml; not a reconstruction target",
                        e.id, factor)
            continue
        ps = reg.find(kind="p", factor=factor, endpoint=e["endpoint"], model=e["model"],
                      population=e["population"])
        significant = bool(ps) and ps[0].p < 0.05
        out.append(CoxTarget(e["population"] or "all", e["endpoint"], e["model"] or "univariable", factor,
                             e.estimate, e.lower, e.upper, significant, e.id))
    return out


def collect_targets(study: Study, reg: Registry, settings: dict[str, Any]) -> Targets:
    """Every reconstruction target of ``study`` in ``reg``; a ReconstructionError if they conflict."""
    problems: list[Problem] = []
    sizes = {}
    for r in study.regimens:
        n = reg.population_size(f"regimen:{r}")
        if n is None:
            problems.append(Problem(reg.path, f"no size for population 'regimen:{r}'",
                                    f"declare \"regimen:{r}\" = {{ n = ... }} under [populations]"))
        sizes[r] = n
    for arm in study.arms:
        n_arm = reg.population_size(f"arm:{arm.name}")
        if n_arm is not None and None not in (sizes.get(r) for r in arm.regimens) \
                and n_arm != sum(sizes[r] for r in arm.regimens):
            problems.append(Problem(reg.path, f"arm {arm.name}: n = {n_arm} but its regimens add up to "
                                    f"{sum(sizes[r] for r in arm.regimens)}", "fix the population sizes"))
    targets = Targets(sizes=sizes)
    targets.counts = _count_targets(study, reg, problems) + _ae_targets(study, reg)
    targets.quantiles = _quantile_targets(study, reg)
    for ep in study.endpoints:
        hits = reg.find(kind="count", measure="events", population="all", endpoint=ep.name)
        if hits:
            targets.events[ep.name] = (hits[0].n, hits[0].id)
    targets.medians = _median_targets(reg, list(settings.get("hard_median_populations", ["regimen"])))
    targets.cox = _cox_targets(study, reg)
    if problems:
        raise ReconstructionError(problems, summary=f"{len(problems)} problem(s) with the published targets")
    log.info("targets: %d counts, %d quantiles, %d medians, %d Cox rows, events %s", len(targets.counts),
             len(targets.quantiles), len(targets.medians), len(targets.cox), targets.events)
    return targets
