"""A small but real run directory for the report tests, built the way the run engine does:
comparisons.csv (the table contract of hccbayes.inference.engine.table), run.json, fits/<key>.nc, the
survival curves of the fits (curves.csv, km.csv: the engine's FigureData) and the study record (study/: the
engine's write_study_record).

Rows come from the project's own estimators, not typed numbers:
* Tables 4 and 5: every published Cox HR with its summary-level normal-normal posteriors
  (the engine's rows_counts.summary_rows, five prior sets) and, for the univariable rows of the whole
  cohort, the Cox HR on the pseudo-patient cohort (inference.cox_freq);
* the arm comparisons of PFS and OS: small Weibull and PEM fits (inference.fit.fit) on the bundled
  cohort, the Cox HR and the KM medians per arm; one PEM fit is sampled far too briefly on purpose so
  that it fails the diagnostics gate (R-hat/ESS), to exercise the failure paths;
* Table 3 ORR and DCR: the engine's comparisons (rows_counts.compare: beta-binomial, and the skeptical set on the
  log-odds scale) of the published counts, rows by the engine's rows_counts.rate_rows.
"""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from hccbayes.data import load_cohort, load_registry, load_study
from hccbayes.data.published.audit import audit
from hccbayes.inference import cox_fit, study_km
from hccbayes.inference.engine.curves import FigureData
from hccbayes.inference.engine.rows_counts import compare, rate_rows, summary_rows
from hccbayes.inference.engine.rows_survival import prior_text
from hccbayes.inference.engine.study_record import write_study_record
from hccbayes.inference.engine.table import Rows, bayes_source, make_table, write_table
from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings, diagnostics_of, fit, versions
from hccbayes.inference.sensitivity.tipping import survival_tipping_points, tipping_rows
from hccbayes.inference.sensitivity.tipping_run import save_search
from hccbayes.models.priors.roles import default_roles
from hccbayes.models.priors.sets import PRIOR_SET_NAMES, prior_set
from hccbayes.models.response.counts import rates_from_registry
from hccbayes.models.summary_audit import summary_inputs
from hccbayes.models.summary_hr import published_hrs
from hccbayes.models.survival.design import SurvivalSpec, survival_data
from hccbayes.models.survival.quantities import hazard_ratios, median_survival, standardised_curves, summarise

SEED = 20250212
ARM_TERM = "tki_ici"
CONTRAST = "TKI+ICI vs TKI"
GOOD = SamplerSettings(draws=500, tune=500, chains=2, cores=1)
BAD = SamplerSettings(draws=30, tune=30, chains=2, cores=1)  # too short: fails R-hat/ESS on purpose
FITS = (("pfs", "weibull", "weakly_informative", GOOD), ("pfs", "pem", "weakly_informative", GOOD),
        ("os", "weibull", "weakly_informative", GOOD), ("os", "pem", "weakly_informative", GOOD),
        ("pfs", "pem", "skeptical", BAD))
RESPONSE_PRIORS = ("weakly_informative", "skeptical")
TITLES = {"pfs": "Progression-free survival by arm", "os": "Overall survival by arm"}


def _published_hr_rows(reg, cohort, study) -> list[dict]:
    rows = []
    by_model: dict[str, list] = {}
    for entry, p_entry in published_hrs(reg, ("t4", "t5")):
        by_model.setdefault(entry["model"] or "reported", []).append((entry, p_entry))
    for model, pairs in by_model.items():
        analysis = SimpleNamespace(id=f"cox_hr:{model}", title="", prior_sets=PRIOR_SET_NAMES)
        inputs = summary_inputs(pairs, audit(reg))
        rows += [{**r, "title": f"Cox HR ({model}), {r['contrast']}"} for r in summary_rows(analysis, inputs, 0.7)]
    # Cox on the pseudo-patient cohort for the whole-cohort univariable rows
    for r in [r for r in rows if r["source"] == "published" and r["quantity"] == "hr"
              and r["population"] == "all" and r["analysis"] == "cox_hr:univariable"]:
        ep = study.endpoint(r["endpoint"])
        factor = study.factors[r["contrast"]]
        frame = cohort.assign(_x=factor.indicator(cohort[factor.column]).to_numpy())
        c = cox_fit(frame, ep.time, ep.event, ["_x"]).iloc[0]
        rows.append({**{k: r[k] for k in ("analysis", "title", "population", "endpoint", "contrast", "registry_id")},
                     "quantity": "hr", "source": "frequentist", "model": "cox", "estimate": c["hr"],
                     "lower": c["lower"], "upper": c["upper"], "interval": "95% CI (Wald)", "unit": "HR",
                     "cohort_based": True})
    return rows


def _survival_rows(endpoint: str, dt, data, spec, prior: str) -> list[dict]:
    diag = diagnostics_of(dt)
    base = dict(analysis=f"arm_{endpoint}", title=TITLES[endpoint], population="all", endpoint=endpoint,
                contrast=CONTRAST, source=bayes_source(spec.model, prior), model=spec.model, prior_set=prior,
                diagnostics_ok=diag.ok, diagnostics="ok" if diag.ok else "; ".join(diag.problems()),
                cohort_based=True)
    hr = hazard_ratios(dt).sel(term=ARM_TERM)
    note = prior_text(prior_set(prior), ARM_TERM, (ARM_TERM,), ARM_TERM)  # as the engine's HR row names its prior
    rows = [dict(base, quantity="hr", unit="HR", interval="95% ETI", note=note, **summarise(hr))]
    for t in (1.0, 0.7):
        rows.append(dict(base, quantity="hr", unit="HR", probability=float((hr < t).mean()), threshold=t,
                         direction="<"))
    med = median_survival(standardised_curves(dt, data, spec, ARM_TERM))
    for level, arm in ((0, "TKI"), (1, "TKI+ICI")):
        rows.append(dict(base, quantity="median", group=arm, unit="months", interval="95% ETI",
                         **summarise(med.sel(level=level))))
    diff = med.sel(level=1) - med.sel(level=0)  # as the run engine: the stratified (primary) comparison
    rows.append(dict(base, quantity="median_diff", unit="months", interval="95% ETI", **summarise(diff)))
    rows.append(dict(base, quantity="median_diff", unit="months", probability=float((diff > 0).mean()),
                     threshold=0.0, direction=">"))
    return rows


def _frequentist_arm_rows(endpoint, cohort, study, reg) -> list[dict]:
    base = dict(analysis=f"arm_{endpoint}", title=TITLES[endpoint], population="all", endpoint=endpoint,
                contrast=CONTRAST, cohort_based=True)
    ep = study.endpoint(endpoint)
    c = cox_fit(cohort, ep.time, ep.event, [ARM_TERM]).iloc[0]
    rows = [dict(base, quantity="hr", source="frequentist", model="cox", estimate=c["hr"], lower=c["lower"],
                 upper=c["upper"], interval="95% CI (Wald)", unit="HR")]
    for _, k in study_km(cohort, study, endpoint, by="arm").iterrows():
        if k["group"] in ("TKI", "TKI+ICI"):
            rows.append(dict(base, quantity="median", group=k["group"], source="frequentist", model="km",
                             estimate=k["median"], lower=k["lower"], upper=k["upper"], interval="95% CI (log)",
                             unit="months"))
    e = reg.get(f"t4.tki_ici.{endpoint}_uni")
    rows.append(dict(base, quantity="hr", source="published", estimate=e.estimate, lower=e.lower, upper=e.upper,
                     interval="95% CI", unit="HR", registry_id=e.id, cohort_based=False))
    return rows


def _response_rows(reg, study) -> list[dict]:
    rows = []
    for rd in rates_from_registry(reg, ["best_response"]):
        if rd.endpoint not in ("best_response:ORR", "best_response:DCR"):
            continue
        name = rd.endpoint.split(":")[1].lower()
        title = {"orr": "Objective response rate", "dcr": "Disease control rate"}[name]
        bayes = Rows(dict(analysis=f"t3_{name}", title=title, population="all", endpoint=name, cohort_based=False))
        for prior in RESPONSE_PRIORS:  # the engine's comparison (the skeptical set on the log-odds scale)
            analysis = SimpleNamespace(mcid=0.7, historical={}, historical_weight=0.5)
            comp = compare(rd, prior, analysis, study, default_roles(study), (0.0, 0.05, 0.10), SEED)
            rate_rows(bayes, comp, "TKI+ICI vs TKI")
        rows += bayes.rows
        for g, pct in zip(rd.groups, rd.published_percent):
            if pct is not None:
                rows.append(dict(analysis=f"t3_{name}", title=title, population="all", endpoint=name,
                                 contrast="TKI+ICI vs TKI", quantity="rate", group=g.split(":")[-1],
                                 source="published", estimate=pct / 100, unit="proportion", cohort_based=False))
    return rows


def _tipping_rows(path: Path, cohort, study, cache) -> list[dict]:
    """Tipping points of the Weibull arm PFS contrast from the weakly informative set, stored as the run
    engine stores them (tipping/arm_pfs.json) and as its table rows."""
    spec = SurvivalSpec("pfs", terms=(ARM_TERM,), model="weibull")
    base_prior = prior_set("weakly_informative")
    points = survival_tipping_points(survival_data(cohort, study, spec), spec, GOOD, SEED, cache, base=base_prior)
    save_search(path / "tipping" / "arm_pfs.json", "report-factory", "arm_pfs", "weibull", base_prior.name, points)
    base = dict(analysis="arm_pfs", title=TITLES["pfs"], population="all", endpoint="pfs", contrast=CONTRAST,
                source=bayes_source("weibull", base_prior.name), model="weibull", prior_set=base_prior.name,
                cohort_based=True, unit="HR", diagnostics_ok=True, diagnostics="ok")
    return tipping_rows(points, base, mcid=0.7)


def make_run_dir(path: Path, with_fits: bool = True) -> Path:
    """Write comparisons.csv, run.json and (``with_fits``) fits/*.nc under ``path``; returns ``path``."""
    path = Path(path)
    (path / "fits").mkdir(parents=True, exist_ok=True)
    study = load_study("yin2025")
    reg = load_registry("yin2025")
    cohort = load_cohort(study.cohort_path, study)
    rows = _published_hr_rows(reg, cohort, study) + _response_rows(reg, study)
    write_study_record(path, study, reg, cohort, study.cohort_path)
    figures = FigureData(study)
    status = {}
    for endpoint in ("pfs", "os"):
        rows += _frequentist_arm_rows(endpoint, cohort, study, reg)
    if with_fits:
        cache = ModelCache()
        for i, (endpoint, model, prior, settings) in enumerate(FITS):
            spec = SurvivalSpec(endpoint, terms=(ARM_TERM,), model=model)
            data = survival_data(cohort, study, spec)
            dt = fit(data, prior_set(prior), spec, settings, seed=SEED + i, cache=cache)
            key = f"arm_{endpoint}__{model}__{prior}"
            dt.attrs.update({"fit_key": key, "analysis": f"arm_{endpoint}", "refit": ""})  # as the engine stores
            dt.to_netcdf(path / "fits" / f"{key}.nc")
            rows += _survival_rows(endpoint, dt, data, spec, prior)
            figures.add(SimpleNamespace(id=f"arm_{endpoint}", strata="arm"), prior, dt, data, spec)
            status[key] = "ok" if diagnostics_of(dt).ok else "diagnostics failed"
        rows += _tipping_rows(path, cohort, study, cache)
    figures.write(path)
    write_table(make_table(rows), path / "comparisons.csv")
    run = {"study": "yin2025", "versions": versions(), "seeds": {"base": SEED},
           "plan": {"seed": SEED, "primary_prior_set": "weakly_informative", "thresholds": {"hr": [1.0, 0.7],
                                                                             "risk_difference": [0.0, 0.05, 0.1]}},
           "status": status}
    (path / "run.json").write_text(json.dumps(run, indent=2), encoding="utf-8")
    return path


_SHARED: dict[str, Path] = {}


def shared_run_dir(tmp_path_factory) -> Path:
    """One factory run directory per test process, shared by every report test module (building it
    takes about 20 s; the report tests only read it)."""
    if "run" not in _SHARED:
        _SHARED["run"] = make_run_dir(tmp_path_factory.mktemp("run"))
    return _SHARED["run"]


if __name__ == "__main__":  # build a run directory by hand: python tests/report_factory.py OUT
    import sys

    make_run_dir(Path(sys.argv[1]))
