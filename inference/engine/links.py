"""Which published figures an analysis of a plan reproduces: matching by registry attributes.

* survival analyses with ``link = ["cox_hr"]``: every ``hr_ci`` entry with ``measure = "cox_hr"``, the
  analysis's endpoint and population, ``model`` univariable (one term) or multivariable (several), and
  ``factor`` among the terms — plus the ``p`` entries with the same attributes;
* survival analyses with ``link = ["km_median"]`` and ``strata``: every ``km_median`` entry of the
  endpoint whose population is ``<strata>:<level>`` or, for an unfiltered analysis, ``all``;
* response analyses: the comparisons published.toml declares under ``[comparisons]``
  (:func:`hccbayes.models.response.counts.rates_from_registry`) named in the analysis's ``comparisons``, or
  all of them when it names none (their count/percent and p entries);
* summary analyses: every published Cox HR of the analysis's ``tables`` (every table when it names none),
  read as the audit lets it be read (:func:`summary_analysis_inputs`).

Nothing here names a study's tables or populations: what links is declared in the study folder (the
registry's attributes and ``[comparisons]``, the plan's ``link``, ``comparisons`` and ``tables``).
:func:`required_entries` lists what the paper reports as comparisons (every published Cox HR, every KM
median, every count or percentage of a declared comparison); :func:`coverage` maps entry ids to the
analyses that link them, so a test can check that a plan covers the paper.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hccbayes.data.published.audit import audit
from hccbayes.data.published.registry import Entry, Registry
from hccbayes.models.response.counts import rates_from_registry
from hccbayes.models.summary_audit import SummaryInput, summary_inputs
from hccbayes.models.summary_hr import published_hrs


@dataclass
class SurvivalLinks:
    hr: dict[str, list[Entry]] = field(default_factory=dict)  # term -> hr_ci entries
    p: dict[str, list[Entry]] = field(default_factory=dict)  # term -> p entries
    km: dict[str, list[Entry]] = field(default_factory=dict)  # group ("overall" or level) -> medians

    def ids(self) -> list[str]:
        return [e.id for d in (self.hr, self.p, self.km) for es in d.values() for e in es]


def survival_links(analysis, registry: Registry) -> SurvivalLinks:
    out = SurvivalLinks()
    pop = analysis.population_label
    if "cox_hr" in analysis.link:
        model = "univariable" if len(analysis.terms) == 1 else "multivariable"
        for term in analysis.terms:
            attrs = dict(measure="cox_hr", endpoint=analysis.endpoint, population=pop, model=model, factor=term)
            out.hr[term] = registry.find(kind="hr_ci", **attrs)
            out.p[term] = registry.find(kind="p", **attrs)
    if "km_median" in analysis.link and analysis.strata:
        prefix = f"{analysis.strata}:"
        for e in registry.find(measure="km_median", endpoint=analysis.endpoint):
            epop = str(e["population"])
            if epop.startswith(prefix) and pop == "all":
                out.km.setdefault(epop[len(prefix):], []).append(e)
            elif epop == pop:
                out.km.setdefault("overall", []).append(e)
    return out


def response_links(analysis, registry: Registry) -> list:
    return rates_from_registry(registry, analysis.comparisons or None)


def summary_links(analysis, registry: Registry) -> list[tuple[Entry, Entry | None]]:
    return published_hrs(registry, analysis.tables or None)


def summary_analysis_inputs(analysis, registry: Registry) -> list[SummaryInput]:
    """The published HRs of a summary analysis as its audit lets them be used (duplicates once, an SE re-derived
    from the p where the CI is off its estimate, excluded where it cannot be): :mod:`~hccbayes.models.summary_audit`."""
    return summary_inputs(summary_links(analysis, registry), audit(registry))


def analysis_entry_ids(analysis, registry: Registry) -> list[str]:
    if analysis.kind == "survival":
        return survival_links(analysis, registry).ids()
    if analysis.kind == "response":
        return [i for rd in response_links(analysis, registry) for i in rd.sources]
    return [x.id for pair in summary_links(analysis, registry) for x in pair if x is not None]


def coverage(plan, registry: Registry, kinds: tuple[str, ...] = ("survival", "response", "summary")
             ) -> dict[str, list[str]]:
    """entry id -> ids of the analyses (of the given kinds) that reproduce it."""
    out: dict[str, list[str]] = {}
    for a in plan.analyses:
        if a.kind in kinds:
            for entry_id in analysis_entry_ids(a, registry):
                out.setdefault(entry_id, []).append(a.id)
    return out


def required_entries(registry: Registry) -> dict[str, str]:
    """entry id -> the analysis kind that must reproduce it on the cohort (see the module docstring)."""
    compared = {i for rd in rates_from_registry(registry) for i in rd.sources[:len(rd.groups)]}
    out = {}
    for e in registry:
        if (e.kind == "hr_ci" and e["measure"] == "cox_hr") or e["measure"] == "km_median":
            out[e.id] = "survival"
        elif e.id in compared:
            out[e.id] = "response"
    return out


def uncovered(plan, registry: Registry) -> list[str]:
    """Required entries no analysis of the required kind links (empty for a complete plan)."""
    need = required_entries(registry)
    cov = {k: coverage(plan, registry, (k,)) for k in set(need.values())}
    return sorted(i for i, kind in need.items() if i not in cov[kind])
