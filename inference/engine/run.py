"""The run engine: a plan in, one output directory out.

``run_plan(plan, out)`` validates the plan against its study and cohort (every data problem of every
analysis is a :class:`PlanError` before anything is fitted), then runs the analyses in order with one
:class:`ModelCache` (one compile per model structure) and writes

* ``comparisons.csv`` — the comparison table (:mod:`hccbayes.inference.engine.table`), written once, when
  every row is made: those of the analyses, then the power-scaling rows of the checks;
* ``fits/<analysis>__<model>__<prior set>.nc`` — posterior DataTrees, cached and hashed
  (:mod:`hccbayes.inference.fitting.cache`);
* ``run.json`` — versions, seeds, hashes, timings, the plan as data, the study and each analysis's status
  (:mod:`.outdir`);
* ``tipping/<analysis>.json`` — tipping-point searches of the analyses that ask for them
  (:mod:`hccbayes.inference.sensitivity.tipping_run`), also ``tipping_point`` rows of the table;
* ``checks/`` — model checks of the default-prior survival fits
  (:func:`hccbayes.inference.checks.run_checks.run_checks`: PSIS-LOO between models, posterior predictive
  KM, power-scaling, prior predictive per model family); the power-scaling frame also becomes
  ``psense_prior`` / ``psense_likelihood`` rows of the table;
* ``curves.csv`` and ``km.csv`` — what the survival figures plot (:mod:`.curves`);
* ``study/`` — the study's description, the audit of its published figures and the fidelity of its cohort
  (:mod:`.study_record`);
* ``selection.csv`` — where the multivariable analyses' terms come from: the published lists and the ones the
  univariable p-value rule picks on the cohort (:mod:`.selection`).

The report (``report/``) is built from the run folder afterwards, by :func:`hccbayes.api.run_plan` (the
CLI's default) or ``hccbayes report``, from these files alone: the engine knows nothing of reports.

With an ``executor`` (:func:`.executors.make_executor`: ``--jobs N`` or ``--scheduler ADDRESS``) every
survival fit is first run as a gated task (:func:`.tasks.prefit`) whose result lands in the fit cache as
it completes; the row loop then reads every fit from the cache, so the table is the inline run's. With local
processes (``--jobs``) one pool of workers serves the whole run (started first thing for a new run folder, so
that the workers' imports overlap this process's preparations); the tipping-point searches run in the batch of
their model structure, and the model checks of the fits run on the workers as soon as the fits are done, while
this process makes the rows (:mod:`.checks_stage`, :mod:`hccbayes.inference.checks.fit_checks`).

Every file is written atomically. A directory that holds another run's outputs is refused unless
``force`` (:func:`.outdir.prepare_out`); the same plan re-run into the same directory reuses every valid
fit. ``quick`` runs the plan's quick sampler settings and only its quick prior set.

Everything else is reused too (issue 19), kept under content hashes in ``cache/``: each analysis' rows,
records and curves (:mod:`.memo_run`), the univariable screens of variable selection, the study record, each
model check (:mod:`hccbayes.inference.checks.fit_checks`). A re-run with nothing changed computes nothing, reads
no posterior and rewrites no file — not even run.json, which keeps the record of the run that made the
outputs; a file that would get the bytes it already has is left alone (:mod:`hccbayes.atomic`).
"""
from __future__ import annotations

import json
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from hccbayes.data.cohort import load_cohort
from hccbayes.data.published.registry import study_registry
from hccbayes.data.reconstruction.kmipd.study_source import basis_note
from hccbayes.data.study import load_study
from hccbayes.errors import HccbayesError, PlanError, Problem
from hccbayes.inference.engine import links as lk
from hccbayes.inference.engine import rows_counts
from hccbayes.inference.engine.checks_stage import check_rows, start_checks
from hccbayes.inference.engine.curves import FigureData
from hccbayes.inference.engine.memo_run import AnalysisMemo, run_digest
from hccbayes.inference.engine.outdir import OutputDirError, identity, prepare_out, study_ref, write_run_json
from hccbayes.inference.engine.plan import Plan, load_plan
from hccbayes.inference.engine.selection import resolve_selection, write_selection
from hccbayes.inference.engine.study_record import write_study_record
from hccbayes.inference.engine.survival_run import (
    Context,
    analysis_frame,
    fit_jobs,
    preflight,
    run_survival,
    tipping_job,
)
from hccbayes.inference.engine.table import make_table, note_cohort_rows, validate_table, write_table
from hccbayes.inference.engine.tasks import prefit
from hccbayes.inference.fitting.fit import ModelCache, versions
from hccbayes.memo import MemoStore, digest, files_intact, files_record

log = logging.getLogger(__name__)

__all__ = ["AnalysesFailed", "DiagnosticsFailed", "OutputDirError", "RunResult", "reproduce", "run_plan"]


class AnalysesFailed(HccbayesError):
    """Some analyses (or the model checks) failed inside a fit or a check: each is reported for itself in
    run.json (status "failed" and the error); every other output is written (the CLI exits 2)."""

    def __init__(self, result: "RunResult"):
        self.result = result
        failed = {k: s["error"] for k, s in result.statuses.items() if s.get("status") == "failed"}
        if result.checks_error:
            failed["model checks"] = result.checks_error
        super().__init__(f"{len(failed)} part(s) of the run failed (the rest is written to {result.run_dir}): "
                         + "; ".join(f"{k}: {v}" for k, v in failed.items()))


class DiagnosticsFailed(HccbayesError):
    """``strict``: some fits failed the diagnostics gate (the CLI exits 1). Outputs are written."""

    def __init__(self, result: "RunResult"):
        self.result = result
        super().__init__(f"{len(result.failed_fits)} fit(s) failed the diagnostics gate: "
                         + ", ".join(result.failed_fits) + f" (outputs in {result.run_dir})")


@dataclass
class RunResult:
    table: pd.DataFrame
    run_dir: Path
    statuses: dict[str, dict[str, Any]]
    failed_fits: list[str] = field(default_factory=list)
    seconds: float = 0.0
    compiles: int = 0
    report: Path | None = None  # report/report.html when the report was written (hccbayes.api)
    timings: dict[str, float] = field(default_factory=dict)  # fits, checks, report (seconds)
    checks_error: str = ""  # the model checks' failure ("" when they ran or were not asked for)

    @property
    def failed_analyses(self) -> list[str]:
        return [k for k, s in self.statuses.items() if s.get("status") == "failed"]



def _run_analysis(ctx: Context, a, status: dict) -> list[dict]:
    if a.kind == "survival":
        return run_survival(ctx, a, status)
    if a.kind == "response":
        seeds = lambda endpoint, ps, cohort: ctx.seed(a, endpoint, ps, cohort)  # noqa: E731
        return rows_counts.response_rows(replace(a, prior_sets=ctx.prior_sets(a)),
                                         lk.response_links(a, ctx.registry), ctx.df, ctx.study, seeds, ctx.roles)
    return rows_counts.summary_rows(replace(a, prior_sets=ctx.prior_sets(a)),
                                    lk.summary_analysis_inputs(a, ctx.registry), a.mcid, ctx.roles)


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, unit="analysis", disable=not sys.stderr.isatty())


def _table_of(rows: list[dict], basis: str | None = None) -> pd.DataFrame:
    table = make_table(note_cohort_rows(rows, basis))  # basis: e.g. a cohort rebuilt from published curves
    problems = validate_table(table)
    if problems:
        raise RuntimeError(f"the engine produced a table that breaks its contract: {problems}")
    return table


def _prefit(ctx: Context, executor) -> None:
    """Every survival fit of the plan, and every tipping-point search, on ``executor`` before the rows."""
    survival = [a for a in ctx.plan.analyses if a.kind == "survival"]
    jobs = [job for a in survival for _, _, job in fit_jobs(ctx, a)]
    searches = [t[0] for a in survival if (t := tipping_job(ctx, a)) is not None]
    ctx.prefitted.update(prefit(jobs, ctx.fits_dir, executor, searches, ctx.posteriors))


def _failure(err: Exception) -> str:
    """One line for a failure inside a fit or a check (the traceback goes to the log at DEBUG level)."""
    log.debug("failure", exc_info=err)
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _study_record(out: Path, base: str, study, registry, df, cohort_path: Path) -> None:
    """``out/study/`` (:func:`.study_record.write_study_record`), unless the files it made from the same code,
    study and cohort (``base``: :func:`.memo_run.run_digest`) are all still there."""
    memo, key = MemoStore(out / "cache"), digest(base, "study record")
    stored = memo.get("study_record", key)
    if stored is not None and files_intact(out / "study", stored):
        return
    folder = write_study_record(out, study, registry, df, cohort_path)
    memo.put("study_record", key, files_record(folder))


def _completed(out: Path, checks: bool) -> bool:
    """Whether ``out`` holds the record of a complete run (with model checks if ``checks``)."""
    try:
        old = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return old.get("status") == "complete" and old.get("checks", True) == checks


def run_plan(plan_or_path: Plan | str | Path, out: str | Path, quick: bool = False, strict: bool = False,
             force: bool = False, cache: ModelCache | None = None, executor=None, checks: bool = True) -> RunResult:
    """Run a plan (a :class:`Plan` or the path of a plan file) into ``out``; see the module docstring.
    ``strict``: raise :class:`DiagnosticsFailed` (after writing every output) when a fit fails the gate;
    ``executor``: run the survival fits as tasks on it first (None: inline, one after another);
    ``checks``: model checks and power-scaling rows."""
    with ExitStack() as workers:  # an executor's session of worker processes, when the run opens one
        return _run_plan(plan_or_path, out, quick, strict, force, cache, executor, checks, workers)


def _session(executor, workers: ExitStack) -> None:
    """Keep one pool of worker processes for the rest of the run (fits, then checks), started now."""
    if hasattr(executor, "session"):
        workers.enter_context(executor.session())


def _run_plan(plan_or_path, out, quick, strict, force, cache, executor, checks, workers: ExitStack) -> RunResult:
    t_start = time.perf_counter()
    if not Path(out).exists() or not any(Path(out).iterdir()):  # a new run folder: everything is to be computed
        _session(executor, workers)
    plan = plan_or_path if isinstance(plan_or_path, Plan) else load_plan(plan_or_path)
    study = load_study(plan.study)
    cohort_path = plan.cohort or study.cohort_path
    df = load_cohort(cohort_path, study)
    basis = basis_note(study)
    registry = study_registry(study)
    out = Path(out).resolve()
    base = run_digest(plan, study, cohort_path, quick)
    pending = MemoStore(out / "cache", defer=True)  # written once the folder is known to be this run's
    plan, selection = resolve_selection(plan, study, df, lambda d, a: analysis_frame(d, study, a), pending, base)
    preflight(plan, study, df)
    ident = identity(plan, study, cohort_path)
    prepare_out(out, ident, force)
    pending.flush()
    ctx = Context(plan, study, df, registry, out / "fits", quick, cache or ModelCache(), FigureData(study))
    compiles0 = ctx.cache.compiles
    run = {**ident, "status": "running", "started": datetime.now(timezone.utc).isoformat(),
           "quick": quick, "strict": strict, "versions": versions(), "python": sys.version.split()[0],
           "study": study_ref(study),
           "study_folder": str(study.folder), "cohort": str(cohort_path), "plan": plan.to_dict(),
           "executor": getattr(executor, "name", "inline") if executor is not None else "inline", "checks": checks,
           "uncovered_registry_entries": lk.uncovered(plan, registry), "analyses": {}}
    memo = AnalysisMemo(out, base)
    analysis_dicts = plan.to_dict()["analyses"]
    up_to_date = _completed(out, checks) and memo.all_stored(plan.analyses, analysis_dicts)
    if not up_to_date:  # a run that will change nothing leaves the record of the run that made its outputs
        write_run_json(run, out)
    write_selection(selection, out)
    checks_memo = MemoStore(out / "cache")
    local = executor if getattr(executor, "name", "") == "processes" else None  # checks read fits/ here
    started = None
    if executor is not None and not up_to_date:
        _session(executor, workers)
        with ThreadPoolExecutor(1, thread_name_prefix="study-record") as side:  # made while the workers fit
            record = side.submit(_study_record, out, base, study, registry, df, cohort_path)
            _prefit(ctx, executor)
            record.result()
        if checks and local is not None:  # the checks need only the fit files: on the workers while rows are made
            started = start_checks(ctx, out, checks_memo, local)
    else:
        _study_record(out, base, study, registry, df, cohort_path)
    rows: list[dict] = []
    statuses: dict[str, dict] = {}
    with _progress(len(plan.analyses)) as bar:
        for i, a in enumerate(plan.analyses, 1):
            bar.set_description(a.id)
            log.info("analysis %d/%d: %s (%s)", i, len(plan.analyses), a.id, a.kind)
            t0 = time.perf_counter()
            status: dict[str, Any] = {"kind": a.kind, "fits": {}}
            try:
                new = memo.run(ctx, a, analysis_dicts[i - 1], status, lambda a=a, s=status: _run_analysis(ctx, a, s))
            except Exception as err:  # noqa: BLE001 - a failure inside one analysis is that analysis' result
                new = []
                status.update(error=_failure(err))
                log.error("analysis %s failed: %s", a.id, status["error"])
            failed = [k for k, f in status["fits"].items() if not f["diagnostics"]["ok"]]
            status.update(status="failed" if "error" in status else "diagnostics_failed" if failed else "ok",
                          rows=len(new), seconds=round(time.perf_counter() - t0, 3))
            statuses[a.id] = status
            rows.extend(new)
            bar.update(1)
    ctx.figures.write(out)
    timings = {"fits": round(time.perf_counter() - t_start, 2)}
    checks_error = ""
    if checks:
        t0 = time.perf_counter()
        try:
            rows += check_rows(ctx, out, statuses, checks_memo, local, started)
        except Exception as err:  # noqa: BLE001 - the table and fits stand without the checks
            checks_error = _failure(err)
            log.error("model checks failed: %s", checks_error)
        timings["checks"] = round(time.perf_counter() - t0, 2)
    table = _table_of(rows, basis)
    write_table(table, out / "comparisons.csv")
    failed_fits = [k for s in statuses.values() for k, f in s["fits"].items() if not f["diagnostics"]["ok"]]
    seconds = time.perf_counter() - t_start
    failed_analyses = [k for k, s in statuses.items() if s["status"] == "failed"]
    run.update(status="failed" if failed_analyses or checks_error else "complete",
               finished=datetime.now(timezone.utc).isoformat(), seconds=round(seconds, 2),
               compiles=ctx.cache.compiles - compiles0, rows=len(table), failed_fits=failed_fits,
               timings=timings, analyses=statuses, **({"checks_error": checks_error} if checks_error else {}))
    if up_to_date and memo.all_reused and not checks_memo.misses and not checks_error:
        log.info("nothing changed: every analysis and check reused from %s, run.json kept", out / "cache")
    else:
        write_run_json(run, out)
    log.info("run complete in %.1f s: %d rows, %d fits failed the diagnostics gate", seconds, len(table),
             len(failed_fits))
    result = RunResult(table, out, statuses, failed_fits, seconds, ctx.cache.compiles - compiles0,
                       timings=timings, checks_error=checks_error)
    if failed_analyses or checks_error:
        raise AnalysesFailed(result)
    if strict and failed_fits:
        raise DiagnosticsFailed(result)
    return result


def reproduce(study: str | Path | None = None, out: str | Path | None = None, quick: bool = False,
              strict: bool = False, force: bool = False, cache: ModelCache | None = None, executor=None,
              checks: bool = True) -> RunResult:
    """Run a study's own plan.toml (default study: :func:`~hccbayes.data.study.default_study`) on its bundled
    cohort (default out: ``runs/<study>[-quick]``)."""

    s = load_study(study)
    if not s.plan_path.is_file():
        raise PlanError(Problem(str(s.plan_path), "the study has no plan.toml",
                                "write a plan (see inference/engine/plan.py) or use 'hccbayes run PLAN'"))
    out = out if out is not None else Path("runs") / (s.name + ("-quick" if quick else ""))
    return run_plan(s.plan_path, out, quick=quick, strict=strict, force=force, cache=cache, executor=executor,
                    checks=checks)
