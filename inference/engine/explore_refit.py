"""The refit behind ``hccbayes explore`` (:mod:`.explore_run`): a stored fit's model refitted on its own data, for
a prior whose Pareto k̂ is above 0.7. The study, cohort and plan are those the run recorded in run.json; the
analysis' data are rebuilt from them and must hash as the fit's did (else the study or cohort changed since the
run, and the refit is refused); the sampler settings and seed are the fit's own. Imported only when a refit is
needed: it imports pandas and the fitting stack.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from hccbayes.data.cohort import load_cohort
from hccbayes.data.study import load_study
from hccbayes.errors import HccbayesError, Problem
from hccbayes.inference.engine.explore_run import ExploreError, StoredFit
from hccbayes.inference.engine.frames import analysis_frame
from hccbayes.inference.engine.plan import parse_plan
from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings, data_hash
from hccbayes.inference.sensitivity.explore_refit import Refitter
from hccbayes.models.survival.design import SurvivalSpec, survival_data


def run_refitter(run: Path, info: dict, fit: StoredFit, analysis: str, cache: ModelCache | None = None) -> Refitter:
    """The fit's model refittable on its own data (see the module docstring); ``info``: the run's run.json;
    ``cache``: compiled models to reuse (default: a new one)."""
    where = str(fit.path)
    try:
        plan = parse_plan(info["plan"]["raw"], Path(info["plan"]["path"]) if info["plan"].get("path") else None)
        study = load_study(info["study_folder"])
        df = load_cohort(info["cohort"], study)
        spec = SurvivalSpec(**fit.spec)
        data = survival_data(analysis_frame(df, study, plan.analysis(analysis)), study, spec)
    except HccbayesError as err:
        raise ExploreError(Problem(where, f"a refit needs the run's study and cohort, which cannot be read: {err}",
                                   "restore the study folder named in run.json, or explore priors nearer the fit's")) from None
    except (KeyError, TypeError) as err:
        raise ExploreError(Problem(str(run / "run.json"), f"does not describe the fit's analysis ({err})",
                                   "re-run the analysis with this version of hccbayes")) from None
    if data_hash(data) != fit.attrs.get("data_hash"):
        raise ExploreError(Problem(where, "a refit would use other data than the fit (the study or cohort changed "
                                   "since the run)", "re-run the analysis, then explore its new fits"))
    settings = replace(SamplerSettings(), **json.loads(fit.attrs["requested_sampler"]))
    return Refitter(data, spec, settings, int(fit.attrs["seed"]), cache or ModelCache())
