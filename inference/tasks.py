"""Task kinds for :mod:`hccbayes.inference.executors` that the run engine and the tests share.

``survival_fit`` samples one survival posterior with the worker's process-local :class:`ModelCache`
(one compile per model structure per process) and returns the DataTree; :func:`survival_fit_task`
describes such a fit as a :class:`Task` whose digest is the run cache's fit hash
(:func:`hccbayes.inference.runs.fit_hash`), so a stored fit is valid exactly when the engine's cache
would reuse it.
"""
from __future__ import annotations

from typing import Any, Mapping

from hccbayes.inference.executors import Task, WorkerContext
from hccbayes.inference.fit import SamplerSettings, fit
from hccbayes.inference.runs import fit_hash, fit_inputs
from hccbayes.models.design import SurvivalData, SurvivalSpec
from hccbayes.models.priors import PriorSet

SURVIVAL_FIT = "hccbayes.inference.tasks:survival_fit"


def survival_fit(args: Mapping[str, Any], seed: int, context: WorkerContext):
    """Task kind: ``fit(data, priors, spec, settings, seed)`` with the process-local model cache."""
    return fit(args["data"], args["priors"], args["spec"], args["settings"], seed=seed, cache=context.models())


def survival_fit_task(key: str, data: SurvivalData, priors: PriorSet, spec: SurvivalSpec,
                      settings: SamplerSettings, seed: int) -> Task:
    """A picklable task for one survival fit; its digest is the fit hash of the run cache."""
    digest = fit_hash(fit_inputs(data, priors, spec, settings, seed))
    return Task(key, SURVIVAL_FIT, {"data": data, "priors": priors, "spec": spec, "settings": settings},
                int(seed), digest)
