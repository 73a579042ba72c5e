"""Task kinds for :mod:`hccbayes.inference.engine.executors` that the run engine and the tests share.

``survival_fit`` samples one survival posterior with the worker's process-local :class:`ModelCache`
(one compile per model structure per process) and returns the DataTree; :func:`survival_fit_task`
describes such a fit as a :class:`Task` whose digest is the run cache's fit hash
(:func:`hccbayes.inference.fitting.cache.fit_hash`), so a stored fit is valid exactly when the engine's cache
would reuse it.

``gated_survival_fit`` is the same fit through the run cache's diagnostics gate
(:func:`hccbayes.inference.fitting.cache.sample_with_gate`: one refit of a fit that fails the gate) and returns
``(DataTree, refit note)``. :func:`prefit` runs a list of :class:`FitJob` (what the run engine and the
sensitivity grid would fit one by one) on an executor as gated tasks and stores each result in the fit
cache as it completes; the callers' own loops then find every fit there (``fit_cached`` → "cached").
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from hccbayes.inference.engine.executors import Task, WorkerContext, run_tasks
from hccbayes.inference.fitting.cache import fit_hash, fit_inputs, is_valid, sample_with_gate, store_fit
from hccbayes.inference.fitting.fit import SamplerSettings, fit
from hccbayes.models.priors.sets import PriorSet
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec

log = logging.getLogger(__name__)

SURVIVAL_FIT = "hccbayes.inference.engine.tasks:survival_fit"
GATED_SURVIVAL_FIT = "hccbayes.inference.engine.tasks:gated_survival_fit"


def survival_fit(args: Mapping[str, Any], seed: int, context: WorkerContext):
    """Task kind: ``fit(data, priors, spec, settings, seed)`` with the process-local model cache."""
    return fit(args["data"], args["priors"], args["spec"], args["settings"], seed=seed, cache=context.models())


def gated_survival_fit(args: Mapping[str, Any], seed: int, context: WorkerContext):
    """Task kind: the fit with the diagnostics gate; returns ``(DataTree, refit note, seconds)``."""
    t0 = time.perf_counter()
    dt, note = sample_with_gate(args["data"], args["priors"], args["spec"], args["settings"], seed,
                                context.models())
    return dt, note, time.perf_counter() - t0


def survival_fit_task(key: str, data: SurvivalData, priors: PriorSet, spec: SurvivalSpec,
                      settings: SamplerSettings, seed: int, kind: str = SURVIVAL_FIT) -> Task:
    """A picklable task for one survival fit; its digest is the fit hash of the run cache."""
    digest = fit_hash(fit_inputs(data, priors, spec, settings, seed))
    return Task(key, kind, {"data": data, "priors": priors, "spec": spec, "settings": settings},
                int(seed), digest)


@dataclass(frozen=True)
class FitJob:
    """One cached survival fit as the engine names it: ``fits/<key>.nc`` with these inputs."""

    key: str
    analysis: str
    data: SurvivalData
    priors: PriorSet
    spec: SurvivalSpec
    settings: SamplerSettings
    seed: int

    def task(self) -> Task:
        return survival_fit_task(self.key, self.data, self.priors, self.spec, self.settings, self.seed,
                                 kind=GATED_SURVIVAL_FIT)


def prefit(jobs: Sequence[FitJob], fits_dir: Path, executor) -> dict[str, float]:
    """Fit every job whose cached file is missing or stale on ``executor``; each result is written to
    ``fits_dir/<key>.nc`` (atomically, with its hash) as it arrives. Returns key -> sampling seconds of
    the fits computed now (a failed task raises :class:`~hccbayes.inference.engine.executors.TaskFailed` after
    the others were stored)."""
    fits_dir = Path(fits_dir)
    by_key = {j.key: j for j in jobs}
    seconds: dict[str, float] = {}

    def done(task: Task) -> bool:
        return is_valid(fits_dir / f"{task.key}.nc", task.digest)

    def on_result(task: Task, result) -> None:
        dt, note, secs = result
        job = by_key[task.key]
        inputs = fit_inputs(job.data, job.priors, job.spec, job.settings, job.seed)
        store_fit(dt, fits_dir / f"{task.key}.nc", inputs, task.key, job.analysis, note)
        seconds[task.key] = secs

    stats = run_tasks([j.task() for j in jobs], executor, on_result, done=done)
    log.info("prefit: %d fit(s), %d cached, %d computed in %.1f s", stats.total, len(stats.skipped),
             len(stats.computed), stats.seconds)
    return seconds
