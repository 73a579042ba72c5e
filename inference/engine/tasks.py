"""Task kinds for :mod:`hccbayes.inference.engine.executors` that the run engine and the tests share.

``survival_fit`` samples one survival posterior with the worker's process-local :class:`ModelCache`
(one compile per model structure per process) and returns the DataTree; :func:`survival_fit_task`
describes such a fit as a :class:`Task` whose digest is the run cache's fit hash
(:func:`hccbayes.inference.fitting.cache.fit_hash`), so a stored fit is valid exactly when the engine's cache
would reuse it.

``gated_survival_fit`` is the same fit through the run cache's diagnostics gate
(:func:`hccbayes.inference.fitting.cache.sample_with_gate`: one refit of a fit that fails the gate) and returns
``(DataTree, refit note)``. :func:`prefit` runs a list of :class:`FitJob` (what the run engine and the
sensitivity grid would fit one by one) on an executor and stores each result in the fit cache as it
completes; the callers' own loops then find every fit there (``fit_cached`` → "cached"):

* on an executor whose workers share this machine's disk (inline, local processes: ``local = True``) the
  jobs go as **structure-affine batches** (:mod:`.batches`: one batch per model structure, largest first, a
  very large one split only where that beats another compile), task kind ``fit_batch``: the worker fits each
  job of its batch through the gate with nutpie on ``cores // workers`` threads and **writes each fit file
  itself** (:func:`~hccbayes.inference.fitting.cache.store_fit`: the same bytes as the inline engine) and
  returns small records (key, seconds, refit note) — so each structure is compiled by one worker, not by all;
* on Dask (workers may not share the disk) each job is one gated task returning its DataTree, written by
  the calling process as it arrives.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from hccbayes.inference.engine.batches import fit_seconds, plan_batches
from hccbayes.inference.engine.executors import Task, TaskFailed, WorkerContext, run_tasks
from hccbayes.inference.fitting.cache import VOLATILE_ATTRS, fit_hash, fit_inputs, is_valid, sample_with_gate, store_fit
from hccbayes.inference.fitting.fit import SamplerSettings, fit, fitted_structure
from hccbayes.inference.sensitivity.tipping_run import MAX_EVALS, TARGETS, TippingJob
from hccbayes.models.priors.sets import PriorSet
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec

log = logging.getLogger(__name__)

SURVIVAL_FIT = "hccbayes.inference.engine.tasks:survival_fit"
GATED_SURVIVAL_FIT = "hccbayes.inference.engine.tasks:gated_survival_fit"
FIT_BATCH = "hccbayes.inference.engine.tasks:fit_batch"


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


class FitFailed(Exception):
    """A fit of a batch raised in its worker: its error type and message (exceptions of compiled code do
    not always pickle, so the worker sends text)."""


def fit_batch(args: Mapping[str, Any], seed: int, context: WorkerContext) -> list[dict]:
    """Task kind: fit each :class:`FitJob` of ``args["jobs"]`` through the gate with the process-local model
    cache (nutpie on ``args["threads"]`` threads; None: all cores) and write it to ``args["fits_dir"]``; run
    each :class:`~hccbayes.inference.sensitivity.tipping_run.TippingJob` there with the same compiled model
    (it writes its own file). Returns one record per job: key, seconds and refit note, or the error of a job
    that raised (the batch's other jobs still run). ``seed`` is unused: each job carries its own."""
    cache = context.models()
    cache.threads = args["threads"]
    fits_dir = Path(args["fits_dir"])
    records = []
    for job in args["jobs"]:
        t0 = time.perf_counter()
        note = ""
        try:
            if isinstance(job, TippingJob):
                job.search(cache)
            else:
                dt, note = sample_with_gate(job.data, job.priors, job.spec, job.settings, job.seed, cache)
                inputs = fit_inputs(job.data, job.priors, job.spec, job.settings, job.seed)
                store_fit(dt, fits_dir / f"{job.key}.nc", inputs, job.key, job.analysis, note)
        except Exception as err:  # noqa: BLE001 - reported through TaskFailed after the batch's other fits
            log.warning("%s failed: %s: %s", job.key, type(err).__name__, err)
            records.append({"key": job.key, "error": f"{type(err).__name__}: {err}"})
            continue
        records.append({"key": job.key, "seconds": time.perf_counter() - t0, "note": note})
        if args.get("posteriors") and not isinstance(job, TippingJob):
            records[-1]["posterior"] = stored_posterior(dt)
    return records


def stored_posterior(dt):
    """The posterior group and root attrs of a fit as reading its file back gives them
    (:func:`~hccbayes.inference.fitting.cache.read_groups`; the volatile attrs are not stored): sent back to the
    run, which makes its rows from it instead of reading the file again (about 10 ms a fit)."""
    import xarray as xr

    post = dt["posterior"].to_dataset()
    post.attrs = {k: v for k, v in post.attrs.items() if k not in VOLATILE_ATTRS}
    tree = xr.DataTree.from_dict({"/posterior": post})
    tree.attrs = {k: v for k, v in dt.attrs.items() if k not in VOLATILE_ATTRS}
    return tree


def _structure(job) -> tuple:
    return fitted_structure(job.data, job.spec)


def _cost(job) -> float:
    """Estimated seconds of a job: one fit, or a tipping-point search's refits (at most ``MAX_EVALS`` per
    target)."""
    per_fit = fit_seconds(job.settings)
    return per_fit * MAX_EVALS * len(TARGETS) if isinstance(job, TippingJob) else per_fit


def batch_tasks(jobs: Sequence[FitJob | TippingJob], fits_dir: Path, executor, posteriors: bool = False) -> list[Task]:
    """The jobs as structure-affine ``fit_batch`` tasks for a local ``executor``, largest first (see the
    module doc), each with the sampler threads its worker may use; ``posteriors``: each fit's record carries its
    posterior (:func:`stored_posterior`)."""
    batches = plan_batches(jobs, _structure, executor.jobs, _cost)
    threads = executor.threads_for(len(batches))
    tasks = []
    for batch in batches:
        tasks.append(Task(f"batch-{batch[0].key}", FIT_BATCH,
                          {"jobs": list(batch), "fits_dir": str(fits_dir), "threads": threads,
                           "posteriors": posteriors}, 0))
    return tasks


def prefit(jobs: Sequence[FitJob], fits_dir: Path, executor, searches: Sequence[TippingJob] = (),
           posteriors: dict | None = None) -> dict[str, float]:
    """Fit every job whose cached file is missing or stale on ``executor``; each result lands in
    ``fits_dir/<key>.nc`` (atomically, with its hash) as it is done — written by the worker on a local
    executor, by this process on Dask. On a local executor the tipping-point ``searches`` not yet stored
    run in the batch of their model structure, and ``posteriors`` (a dict), when given, gets each fit's posterior
    group and attrs by key as its file holds them (:func:`stored_posterior`). Returns key -> seconds (gate included) of the fits and searches
    computed now (a failed fit raises :class:`~hccbayes.inference.engine.executors.TaskFailed` after the others
    were stored)."""
    fits_dir = Path(fits_dir)
    todo = [j for j in jobs if not is_valid(fits_dir / f"{j.key}.nc", j.task().digest)]
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if getattr(executor, "local", False):
        failures: dict[str, BaseException] = {}

        def on_batch(task: Task, records: list[dict]) -> None:
            for r in records:
                if "error" in r:
                    failures[r["key"]] = FitFailed(r["error"])
                else:
                    seconds[r["key"]] = r["seconds"]
                    if posteriors is not None and "posterior" in r:
                        posteriors[r["key"]] = r["posterior"]

        work = [*todo, *(s for s in searches if not s.done())]
        if work:  # a re-run with every fit cached starts no worker
            run_tasks(batch_tasks(work, fits_dir, executor, posteriors is not None), executor, on_batch)
        if failures:
            raise TaskFailed(failures)
    else:
        by_key = {j.key: j for j in todo}

        def on_result(task: Task, result) -> None:
            dt, note, secs = result
            job = by_key[task.key]
            inputs = fit_inputs(job.data, job.priors, job.spec, job.settings, job.seed)
            store_fit(dt, fits_dir / f"{task.key}.nc", inputs, task.key, job.analysis, note)
            seconds[task.key] = secs

        run_tasks([j.task() for j in todo], executor, on_result)
    log.info("prefit: %d fit(s), %d cached, %d computed (with %d tipping-point search(es)) in %.1f s", len(jobs),
             len(jobs) - len(todo), len(seconds), sum(k.startswith("tipping:") for k in seconds),
             time.perf_counter() - t0)
    return seconds
