"""Landmark analysis of post-baseline covariates.

A covariate measured after time zero (study.toml: ``measured_at`` of its column, e.g. a tumour marker's change
after 8 weeks, known at 1.84 months) is not known when follow-up starts. Used as if it were, it credits
the patients who had to survive event-free until the measurement to the group their later value puts
them in (guarantee-time or immortal-time bias: Anderson, Cain & Gelber, J Clin Oncol 1983;1:710–719).
A **landmark analysis** starts the clock at a landmark time L no earlier than the measurement: it keeps
the patients still event-free and in follow-up at L (observed time > L; a patient with an event or
censored at or before L is left out) and measures their time from L (time − L). Hazard ratios, medians
and RMST are then those of patients alive and event-free at L, from L on.

:func:`post_baseline_terms` names the terms of an analysis that are measured after baseline (and when);
:func:`landmark_frame` makes the landmark cohort of one endpoint; :func:`landmark_note` and
:func:`naive_note` are the words rows and reports carry.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def term_column(study, term: str) -> str | None:
    """The cohort column a term is made from: its factor's column, or the term itself (a continuous column)."""
    factor = study.factors.get(term)
    return factor.column if factor is not None else term


def post_baseline_terms(study, terms: Iterable[str]) -> dict[str, float]:
    """term -> the time its column is measured at, for the terms whose column declares ``measured_at``."""
    out = {}
    declared = {c.name: c for c in study.columns}
    for t in terms:
        column = declared.get(term_column(study, t) or "")
        if column is not None and column.measured_at is not None:
            out[t] = float(column.measured_at)
    return out


def landmark_frame(df: pd.DataFrame, study, endpoint: str, at: float) -> pd.DataFrame:
    """The patients of ``df`` event-free and in follow-up at ``at`` for ``endpoint`` (observed time > at),
    with that endpoint's time measured from ``at``. Other columns are unchanged."""
    ep = study.endpoint(endpoint)
    time = df[ep.time].astype(float)
    out = df[time > at].copy()
    out[ep.time] = time[time > at] - at
    return out


def landmark_note(study, endpoint: str, at: float, n_before: int, n_after: int) -> str:
    """What every row of a landmark analysis says about its patients and its clock."""
    unit = study.time_unit
    label = study.endpoint(endpoint).event_label
    return (f"landmark analysis from {at:g} {unit}: the {n_after} of {n_before} patients free of {label} and in "
            f"follow-up at {at:g} {unit}, time measured from then on")


def naive_note(study, measured: dict[str, float]) -> str:
    """What the rows of an analysis that treats post-baseline covariates as baseline ones say."""
    parts = []
    for term, at in measured.items():
        column = study.column(term_column(study, term))
        parts.append(f"{column.label} is measured at {at:g} {study.time_unit}")
    return ("naive analysis from time zero, as published: " + "; ".join(parts) + ", but is used as if known at "
            "time zero (guarantee-time bias: the value exists only for patients followed up to its measurement, "
            "so the time before it is credited to a group it did not yet define); see the landmark analysis")
