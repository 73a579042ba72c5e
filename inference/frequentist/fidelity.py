"""Fidelity table: every reconstruction target recomputed from a cohort CSV with the reference
estimators (:mod:`hccbayes.inference.frequentist.survival`, :mod:`hccbayes.inference.frequentist.cox`), beside the
published value, a tolerance and pass/fail.

Hard targets: group sizes, per-arm counts (Table 1 categorical rows, best response, adverse events,
other counted columns), event totals, per-arm median and quartiles of continuous columns (R type-7
quantiles, ± 1% relative), the KM medians of the hard populations (± 0.05 months) and the coherence
rules (the file passes ``validate_cohort``; PD progresses by the first assessment, CR/PR/SD after it;
censored follow-up inside the window). Soft targets: other KM medians (± 0.5 months), KM median CIs
(SPSS-style, each limit within ``ci_limit`` months), univariable Cox HRs of significant published rows
inside the published 95% CI, and the direction of every multivariable HR.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hccbayes.data.cohort import load_cohort
from hccbayes.data.published.registry import load_registry
from hccbayes.data.reconstruction.search import population_mask
from hccbayes.data.reconstruction.targets import collect_targets, load_settings, response_window
from hccbayes.data.study import Study, load_study
from hccbayes.inference.frequentist.cox import cox_fit
from hccbayes.inference.frequentist.survival import km_medians

log = logging.getLogger(__name__)
COLUMNS = ["target", "kind", "published", "reconstructed", "tolerance", "passed", "source"]


def row(rows: list, target: str, kind: str, published: Any, got: Any, tol: str, ok: bool, source: str) -> None:
    """Append one row of a fidelity table (the columns of :data:`COLUMNS`)."""
    rows.append(dict(target=target, kind=kind, published=published, reconstructed=got, tolerance=tol,
                     passed=bool(ok), source=source))


def _fmt(x: float, nd: int = 2) -> str:
    return "NA" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"


def _counts(study: Study, targets, df: pd.DataFrame, rows: list) -> None:
    arm = df[study.arm_column].astype(str)
    for r, n in targets.sizes.items():
        row(rows, f"size.regimen:{r}", "hard", n, int((df[study.regimen_column].astype(str) == r).sum()),
             "exact", (df[study.regimen_column].astype(str) == r).sum() == n, f"populations.regimen:{r}")
    for t in targets.counts:
        got = int((df.loc[arm == t.arm, t.column].astype(str).str.replace(".0", "", regex=False)
                   == t.value).sum())
        row(rows, f"count.{t.column}={t.value}.arm:{t.arm}", "hard", t.n, got, "exact", got == t.n, t.entry)
    for ep, (n, entry) in targets.events.items():
        got = int(df[study.endpoint(ep).event].sum())
        row(rows, f"events.{ep}", "hard", n, got, "exact", got == n, entry)


def _quantiles(study: Study, targets, df: pd.DataFrame, rows: list, rel: float) -> None:
    for t in targets.quantiles:
        x = df.loc[df[study.arm_column].astype(str) == t.arm, t.column].astype(float).dropna().to_numpy()
        got = np.quantile(x, [0.25, 0.5, 0.75])  # numpy "linear" = R type 7
        for name, pub, g in zip(("q1", "median", "q3"), (t.q1, t.median, t.q3), got):
            row(rows, f"quantile.{t.column}.{name}.arm:{t.arm}", "hard", pub, round(float(g), 4),
                 f"±{rel:.0%} (type 7)", abs(g - pub) <= rel * abs(pub) + 1e-9, t.entry)


def _medians(study: Study, targets, df: pd.DataFrame, rows: list, fid: dict) -> None:
    hard_tol, soft_tol = float(fid.get("median_hard", 0.05)), float(fid.get("median_soft", 0.5))
    ci_tol, method = float(fid.get("ci_limit", 1.5)), fid.get("ci_method", "spss")
    for t in targets.medians:
        ep = study.endpoint(t.endpoint)
        sub = df.loc[population_mask(df, study, t.population)]
        med = float(km_medians(sub, ep.time, ep.event, ci_method="log").loc[0, "median"])
        ci = km_medians(sub, ep.time, ep.event, ci_method=method).iloc[0]
        tol = hard_tol if t.hard else soft_tol
        row(rows, f"km_median.{t.endpoint}.{t.population}", "hard" if t.hard else "soft", t.estimate,
             round(med, 3), f"±{tol:g} mo", abs(med - t.estimate) <= tol + 1e-9, t.entry)
        if t.lower is not None and t.upper is not None:
            lo, hi = float(ci["lower"]), float(ci["upper"])
            ok = all(np.isfinite(v) and abs(v - p) <= ci_tol for v, p in ((lo, t.lower), (hi, t.upper)))
            row(rows, f"km_ci.{t.endpoint}.{t.population}", "soft", f"{t.lower:g}-{t.upper:g}",
                 f"{_fmt(lo)}-{_fmt(hi)}", f"each limit ±{ci_tol:g} mo ({method})", ok, t.entry)


def _cox(study: Study, targets, df: pd.DataFrame, rows: list) -> None:
    groups: dict[tuple, list] = {}
    for t in targets.cox:
        groups.setdefault((t.population, t.endpoint, t.model), []).append(t)
    for (pop, endpoint, model), ts in groups.items():
        ep = study.endpoint(endpoint)
        sub = df.loc[population_mask(df, study, pop)]
        if model == "multivariable":
            fit = cox_fit(sub, ep.time, ep.event, [t.factor for t in ts]).set_index("term")
        for t in ts:
            if model == "univariable":
                if not t.significant:
                    continue
                hr = float(cox_fit(sub, ep.time, ep.event, [t.factor], model="univariable")["hr"].iloc[0])
                row(rows, f"cox_uni.{endpoint}.{pop}.{t.factor}", "soft", f"{t.hr:g} ({t.lower:g}-{t.upper:g})",
                     round(hr, 3), "inside published 95% CI", t.lower <= hr <= t.upper, t.entry)
            else:
                hr = float(fit.loc[t.factor, "hr"])
                row(rows, f"cox_multi.{endpoint}.{pop}.{t.factor}", "soft", t.hr, round(hr, 3),
                     "same direction (HR vs 1)", np.sign(np.log(hr)) == np.sign(np.log(t.hr)), t.entry)


def _coherence(study: Study, settings: dict, df: pd.DataFrame, rows: list) -> None:
    rs = settings.get("response", {})
    implied = [(study.endpoint(e.implies), e) for e in study.endpoints if e.implies]
    if not implied:
        return
    pfs, os_ = implied[0]  # e.g. a death is also a progression event, and PFS time never exceeds OS time
    t_p, e_p, t_o, e_o = (df[c].astype(float).to_numpy() for c in (pfs.time, pfs.event, os_.time, os_.event))
    row(rows, "coherence.pfs_le_os", "hard", "all", int((t_p <= t_o).sum()), "every patient",
         (t_p <= t_o).all(), "study.toml endpoints.os.implies")
    row(rows, "coherence.death_is_pfs_event", "hard", "all", int(((e_o == 0) | (e_p == 1)).sum()),
         "every patient", ((e_o == 0) | (e_p == 1)).all(), "study.toml endpoints.os.implies")
    window = response_window(study, settings)
    if study.response is not None and window is not None:
        late, early = window
        prog = set(rs.get("progressive", ["PD"]))
        is_pd = df[study.response.column].astype(str).isin(prog).to_numpy()
        ok_pd = (e_p == 1) & (t_p <= late)
        ok_other = t_p > early
        row(rows, "coherence.pd_progresses_by_first_assessment", "hard", int(is_pd.sum()),
             int((is_pd & ok_pd).sum()), f"PFS event <= {late} mo", (ok_pd | ~is_pd).all(), "Methods 1.2")
        row(rows, "coherence.non_pd_progresses_after_first_assessment", "hard", int((~is_pd).sum()),
             int((~is_pd & ok_other).sum()), f"PFS > {early} mo", (ok_other | is_pd).all(), "Methods 1.2")
    if "censor_window" not in settings.get("survival", {}):
        return
    lo, hi = settings["survival"]["censor_window"]
    cens = e_o == 0
    inside = (t_o[cens] >= lo - 1e-9) & (t_o[cens] <= hi + 1e-9)
    row(rows, "coherence.censored_follow_up", "hard", int(cens.sum()), int(inside.sum()),
         f"{lo:g}-{hi:g} mo", inside.all(), "reconstruction.toml survival.censor_window")


def fidelity(study: Study | str | Path | None = None, cohort: str | Path | None = None) -> pd.DataFrame:
    """The fidelity table of ``cohort`` (default: the study's cohort.csv; default study: the default bundled
    study) against its published targets.

    Raises :class:`~hccbayes.errors.CohortError` if the cohort file is not valid for the study.
    """
    study = study if isinstance(study, Study) else load_study(study)
    settings = load_settings(study)
    targets = collect_targets(study, load_registry(study.folder), settings)
    path = Path(cohort) if cohort is not None else study.cohort_path
    df = load_cohort(path, study)
    rows: list[dict] = []
    row(rows, "coherence.validate_cohort", "hard", "valid", "valid", "no problems", True, str(path))
    _counts(study, targets, df, rows)
    _quantiles(study, targets, df, rows, float(settings.get("fidelity", {}).get("quantile_relative", 0.01)))
    _medians(study, targets, df, rows, settings.get("fidelity", {}))
    _coherence(study, settings, df, rows)
    _cox(study, targets, df, rows)
    return pd.DataFrame(rows, columns=COLUMNS)


def summary_line(table: pd.DataFrame) -> str:
    """'hard targets X/Y, soft targets X/Y'."""
    parts = []
    for kind in ("hard", "soft"):
        sub = table[table["kind"] == kind]
        parts.append(f"{kind} targets {int(sub['passed'].sum())}/{len(sub)}")
    return ", ".join(parts)
