"""The groups a survival analysis compares (the levels of its ``strata`` column) and its RMST horizon.

A group is a setting of the analysis' terms for everyone — the g-computation of
:func:`hccbayes.models.survival.quantities.group_curves`. The strata column's levels are coded by the
study's factors among the terms: one factor (``treated``: B vs A; ``marker_high``) gives two groups,
labelled as its hazard ratio is; several factors of the same column (``lev`` and ``lev5fu`` of a three-arm
trial's arm column) give one group per level, the level no factor codes being the reference. Contrasts are
each group against the reference, then any pair the plan asks for (``contrasts``).

The RMST horizon (:func:`horizon_for`) is the plan's, or by default the smallest of the groups' last
follow-up times: beyond the follow-up of a group its survival is the model's extrapolation. A plan horizon
beyond it is an error with its fix, unless the analysis says ``extrapolate = true`` — then the rows say so.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hccbayes.errors import HccbayesError


class GroupError(HccbayesError):
    """The groups or the horizon of an analysis do not fit its data (the message says the fix)."""


@dataclass(frozen=True)
class Groups:
    settings: dict[str, dict[str, float]]  # group label -> {term: value}, the reference first
    single: str | None = None  # the factor when one factor codes the groups (its HR label names the contrast)
    pairs: tuple[tuple[str, str], ...] = field(default=())  # (group, compared with), reference contrasts first

    @property
    def reference(self) -> str:
        return next(iter(self.settings))

    def members(self, data) -> dict[str, np.ndarray]:
        """group -> boolean mask of the patients in it (their own values of the coding terms)."""
        out = {}
        for label, values in self.settings.items():
            mask = np.ones(data.n, dtype=bool)
            for term, value in values.items():
                mask &= data.X[:, data.terms.index(term)] == value
            out[label] = mask
        return out


EXTRAPOLATED = "EXTRAPOLATED"  # the word a row beyond follow-up carries in its note (the report reads it)


def _levels(study, column: str) -> tuple[str, ...]:
    if column == study.arm_column:
        return (study.reference_arm, *[a for a in study.arm_names if a != study.reference_arm])
    col = study.column(column)
    return tuple(col.levels) if col.levels else ("0", "1")


def strata_groups(study, strata: str, terms: tuple[str, ...], level_labels, contrasts=()) -> Groups | None:
    """The groups of an analysis with ``strata`` (None when no term codes that column); ``level_labels``
    is the labeller of a single factor's two levels (rows_survival.level_labels)."""
    coding = [t for t in terms if t in study.factors and study.factors[t].column == strata
              and (study.factors[t].levels or len([u for u in terms if u in study.factors
                                                   and study.factors[u].column == strata]) == 1)]
    if not coding:
        return None
    if len(coding) == 1:
        zero, one = level_labels(study, coding[0], terms)
        settings = {zero: {coding[0]: 0.0}, one: {coding[0]: 1.0}}
        pairs = [(one, zero)]
    else:
        settings = {}
        for level in _levels(study, strata):
            values = {t: float(level in {str(v) for v in study.factors[t].levels}) for t in coding}
            if values not in settings.values():
                settings[level] = values
        ref = [g for g, v in settings.items() if not any(v.values())]
        if len(ref) != 1:
            raise GroupError(f"the factors {coding} code every level of {strata!r}: no reference group is "
                             "left (drop the factor of the reference level from the terms)")
        settings = {ref[0]: settings.pop(ref[0]), **settings}
        pairs = [(g, ref[0]) for g in list(settings)[1:]]
    for one, zero in contrasts:
        unknown = [g for g in (one, zero) if g not in settings]
        if unknown:
            raise GroupError(f"contrasts name group(s) {unknown}, not among the groups {list(settings)} of "
                             f"{strata!r}: use those names")
        if (one, zero) not in pairs:
            pairs.append((one, zero))
    return Groups(settings, coding[0] if len(coding) == 1 else None, tuple(pairs))


def horizon_for(analysis, members: dict[str, np.ndarray], data, time_unit: str) -> tuple[float, str]:
    """(RMST horizon, note): the plan's horizon, checked against the smallest last follow-up of the groups
    (``members``: group -> mask of its patients), or that follow-up by default (see the module docstring)."""
    last = {g: float(data.time[m].max()) for g, m in members.items() if m.any()}
    group, follow_up = min(last.items(), key=lambda kv: kv[1])
    if analysis.horizon is None:
        return follow_up, f"RMST horizon {follow_up:g} {time_unit}: the last follow-up of group {group}"
    if analysis.horizon <= follow_up:
        return analysis.horizon, ""
    if analysis.extrapolate:
        return analysis.horizon, (f"RMST to {analysis.horizon:g} {time_unit} {EXTRAPOLATED} beyond the last "
                                  f"follow-up of group {group} ({follow_up:g} {time_unit})")
    raise GroupError(f"RMST horizon {analysis.horizon:g} {time_unit} is beyond the last follow-up of group "
                     f"{group} ({follow_up:g} {time_unit}): set horizon <= {follow_up:g}, leave it out (default: "
                     "that follow-up), or set extrapolate = true to let the model extrapolate (flagged)")
