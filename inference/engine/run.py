"""The run engine: a plan in, one output directory out.

``run_plan(plan, out)`` validates the plan against its study and cohort (every data problem of every
analysis is a :class:`PlanError` before anything is fitted), then runs the analyses in order with one
:class:`ModelCache` (one compile per model structure) and writes

* ``comparisons.csv`` — the comparison table (:mod:`hccbayes.inference.engine.table`);
* ``fits/<analysis>__<model>__<prior set>.nc`` — posterior DataTrees, cached and hashed (:mod:`.runs`);
* ``run.json`` — versions, seeds, hashes, timings, the plan as data, the study and each analysis's status;
* ``tipping/<analysis>.json`` — tipping-point searches of the analyses that ask for them
  (:mod:`.tipping_run`), also ``tipping_point`` rows of the table;
* ``checks/`` — model checks of the default-prior survival fits (:func:`.model_checks.add_model_checks`:
  PSIS-LOO between models, posterior predictive KM, power-scaling, prior predictive per model family);
  the power-scaling diagnoses also become ``psense_prior`` / ``psense_likelihood`` rows of the table;
The report (``report/``) is built from the run folder afterwards, by :func:`hccbayes.api.run_plan` (the CLI's
default) or ``hccbayes report``: the engine knows nothing of reports.

With an ``executor`` (:func:`.executors.make_executor`: ``--jobs N`` or ``--scheduler ADDRESS``) every
survival fit is first run as a gated task (:func:`.tasks.prefit`) whose result lands in the fit cache as
it completes; the row loop then reads every fit from the cache, so the table is the inline run's.

Every file is written atomically. A directory that holds another run's outputs (a different plan or
study hash) is refused unless ``force``; the same plan re-run into the same directory reuses every
valid fit. ``quick`` runs the plan's quick sampler settings and only its quick prior set.
"""
from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from hccbayes.atomic import write_text
from hccbayes.data.cohort import load_cohort
from hccbayes.data.published.registry import load_registry
from hccbayes.data.reconstruction.kmipd.study_source import basis_note
from hccbayes.data.study import STUDIES_DIR, load_study
from hccbayes.errors import HccbayesError, PlanError, Problem
from hccbayes.inference.checks.model_checks import add_model_checks
from hccbayes.inference.engine import links as lk
from hccbayes.inference.engine import rows_counts
from hccbayes.inference.engine import rows_survival as rs
from hccbayes.inference.engine.plan import Plan, load_plan
from hccbayes.inference.engine.seeds import derived_seed
from hccbayes.inference.engine.table import make_table, note_cohort_rows, validate_table, write_table
from hccbayes.inference.engine.tasks import FitJob, prefit
from hccbayes.inference.fitting.cache import clean_temporary, fit_cached
from hccbayes.inference.fitting.fit import ModelCache, SamplerSettings, versions
from hccbayes.inference.sensitivity.power_scaling import psense_rows
from hccbayes.inference.sensitivity.tipping_run import analysis_tipping_rows
from hccbayes.models.priors.sets import resolve_prior_set
from hccbayes.models.survival.design import SpecError, survival_data

log = logging.getLogger(__name__)


class OutputDirError(HccbayesError):
    """The output directory cannot be used (not writable, or another run's outputs)."""


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


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()


def _atomic_json(obj: dict, path: Path) -> None:
    write_text(path, json.dumps(obj, indent=1, default=str, sort_keys=False))


def prepare_out(out: Path, identity: dict[str, str], force: bool) -> None:
    """Create/check the output directory; refuse another run's outputs unless ``force``."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "fits").mkdir(exist_ok=True)
        probe = out / ".write-probe.tmp"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise OutputDirError(Problem(str(out), f"cannot write there ({err.strerror or err})",
                                     "choose a writable directory with --out")) from None
    run_json = out / "run.json"
    if run_json.is_file():
        try:
            old = json.loads(run_json.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            old = {}
        theirs = {k: old.get(k) for k in identity}
        if theirs != identity and not force:
            raise OutputDirError(Problem(str(out), "holds the outputs of a different run (plan or study "
                                         f"hash differs: {theirs.get('plan_hash', '?')!s:.12} vs "
                                         f"{identity['plan_hash']:.12})",
                                         "choose another --out directory, or pass --force to overwrite"))
    elif any(p.name != "fits" for p in out.iterdir()) and not force:
        raise OutputDirError(Problem(str(out), "is not empty and holds no run.json of an hccbayes run",
                                     "choose an empty or new --out directory, or pass --force"))
    for folder in (out, out / "fits", out / "tipping", out / "checks"):
        clean_temporary(folder)


def _preflight(plan: Plan, study, df) -> None:
    problems = []
    for a in plan.analyses:
        if a.kind != "survival":
            continue
        for model in fitted_models(a):
            try:
                survival_data(df, study, rs.spec_for(a, model))
            except SpecError as err:
                problems.append(Problem(str(plan.path or "<plan>"), f"key 'analyses.{a.id}': {err}",
                                        "drop that term or change the population of this analysis"))
    if problems:
        raise PlanError(problems, summary=f"{len(problems)} analysis(es) cannot be run on the cohort")


@dataclass
class _Context:
    plan: Plan
    study: Any
    df: pd.DataFrame
    registry: Any
    fits_dir: Path
    quick: bool
    cache: ModelCache
    prefitted: dict[str, float] = field(default_factory=dict)  # key -> seconds of fits run on an executor

    @property
    def default_prior_set(self) -> str:
        return self.plan.quick_prior_set

    def prior_sets(self, a) -> tuple[str, ...]:
        return (self.plan.quick_prior_set,) if self.quick else a.prior_sets

    def primary_prior_set(self, a) -> str:
        """The default prior set when the analysis uses it, else its first: the set of its LOO-only
        model fits and the start of its tipping-point search."""
        sets = self.prior_sets(a)
        return self.default_prior_set if self.default_prior_set in sets else sets[0]

    def settings(self, a) -> SamplerSettings:
        s = replace(SamplerSettings(), **dict(a.sampler))
        return replace(s, **dict(self.plan.quick_sampler)) if self.quick else s

    def seed(self, a, *parts) -> int:
        return derived_seed(self.plan.seed, a.seed if a.seed is not None else "", a.id, *parts)


def fitted_models(a) -> tuple[str, ...]:
    """The models of a survival analysis: its ``models`` and then any ``loo_models`` not among them."""
    return tuple(dict.fromkeys((*a.models, *a.loo_models)))


def fit_jobs(ctx: _Context, a):
    """(model, prior set, FitJob) of every fit of a survival analysis, in the engine's order: each of
    ``models`` under each prior set, then each other ``loo_models`` model under the analysis' primary prior
    set only (the fits that LOO compares)."""
    settings = ctx.settings(a)
    for model in fitted_models(a):
        spec = rs.spec_for(a, model)
        data = survival_data(ctx.df, ctx.study, spec)
        for ps in ctx.prior_sets(a) if model in a.models else (ctx.primary_prior_set(a),):
            priors = resolve_prior_set(ps, a.mcid, ctx.plan.custom_prior_sets)
            yield model, ps, FitJob(f"{a.id}__{model}__{ps}", a.id, data, priors, spec, settings,
                                    ctx.seed(a, model, ps))


def _run_survival(ctx: _Context, a, status: dict) -> list[dict]:
    links = lk.survival_links(a, ctx.registry)
    rm = rs.RowMaker(a, ctx.study)
    rs.published_rows(rm, links)
    sub = ctx.df
    for col, val in a.population.items():
        sub = sub[sub[col].astype(str) == str(val)]
    rs.frequentist_rows(rm, sub, ctx.study, links)
    start = None  # the fit a tipping-point search starts from: first model, primary prior set
    for model, ps, job in fit_jobs(ctx, a):
        if (model, ps) == (a.models[0], ctx.primary_prior_set(a)):
            start = (ps, job)
        outcome = fit_cached(job.key, ctx.fits_dir, job.data, job.priors, job.spec, job.settings, job.seed,
                             ctx.cache, analysis=a.id)
        if job.key in ctx.prefitted:  # computed by an executor in this run, then read from the cache
            outcome.status, outcome.seconds = "fitted", ctx.prefitted[job.key]
        d = outcome.diagnostics
        status["fits"][job.key] = {"status": outcome.status, "seed": job.seed,
                                   "seconds": round(outcome.seconds, 3), "fit_hash": outcome.dt.attrs["fit_hash"],
                                   "diagnostics": d.to_dict(), "note": outcome.note}
        rs.bayes_rows(rm, ctx.study, job.data, job.spec, outcome, ps, links)
    if a.tipping_points:
        _tipping(ctx, a, rm, status, *start)
    return rm.rows


def _tipping(ctx: _Context, a, rm, status: dict, ps: str, job: FitJob) -> None:
    """Tipping points of the contrast, searched from the data, spec and priors of ``job`` — the fit of the
    first model under prior set ``ps`` (cached in tipping/)."""

    # the rows carry the diagnostics of the fit the search starts from
    fit_row = next((r for r in rm.rows if r.get("source") == f"bayes:{job.spec.model}:{ps}"), {})
    diagnostics = {k: fit_row.get(k) for k in ("diagnostics_ok", "diagnostics")}
    t0 = time.perf_counter()
    points, cached = analysis_tipping_rows(rm, job.data, job.spec, job.priors, ps, job.settings,
                                           ctx.seed(a, job.spec.model, "tipping"), ctx.cache, a.mcid,
                                           ctx.fits_dir.parent, diagnostics)
    status["tipping"] = {"model": job.spec.model, "prior_set": ps, "cached": cached,
                         "seconds": round(time.perf_counter() - t0, 3),
                         "evaluations": sum(p.evaluations for p in points)}


def _run_analysis(ctx: _Context, a, status: dict) -> list[dict]:
    if a.kind == "survival":
        return _run_survival(ctx, a, status)
    if a.kind == "response":
        seeds = lambda endpoint, ps, cohort: ctx.seed(a, endpoint, ps, cohort)  # noqa: E731
        return rows_counts.response_rows(replace(a, prior_sets=ctx.prior_sets(a)),
                                         lk.response_links(a, ctx.registry), ctx.df, ctx.study, seeds)
    return rows_counts.summary_rows(replace(a, prior_sets=ctx.prior_sets(a)),
                                    lk.summary_links(a, ctx.registry), a.mcid)


def _identity(plan: Plan, study, cohort_path: Path) -> dict[str, str]:
    raw = json.dumps(plan.raw, sort_keys=True, default=str).encode()
    files = [study.folder / "study.toml", study.published_path, cohort_path]
    return {"plan_hash": _sha(raw), "study_hash": _sha(*(p.read_bytes() for p in files))}


def _study_ref(study) -> str:
    """The bundled name when the study is the bundled one, else its folder (both load_study inputs)."""

    return study.name if study.folder == (STUDIES_DIR / study.name).resolve() else str(study.folder)


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, unit="analysis", disable=not sys.stderr.isatty())


def _table_of(rows: list[dict], basis: str | None = None) -> pd.DataFrame:
    table = make_table(note_cohort_rows(rows, basis))  # basis: e.g. a cohort rebuilt from published curves
    problems = validate_table(table)
    if problems:
        raise RuntimeError(f"the engine produced a table that breaks its contract: {problems}")
    return table


def _prefit(ctx: _Context, executor) -> None:
    jobs = [job for a in ctx.plan.analyses if a.kind == "survival" for _, _, job in fit_jobs(ctx, a)]
    ctx.prefitted.update(prefit(jobs, ctx.fits_dir, executor))


def _checks(ctx: _Context, out: Path, statuses: dict, rows_so_far: list[dict]) -> list[dict]:
    """Model checks of the default-prior fits into ``out/checks``; their power-scaling diagnoses as rows
    (with the fit's diagnostics columns, as its other rows)."""

    survival = [a for a in ctx.plan.analyses if a.kind == "survival"]
    if not survival:
        return []
    sets = tuple(dict.fromkeys(ps for a in survival for ps in ctx.prior_sets(a)))
    paths = add_model_checks(out, prior_sets=sets, fit_prior_sets=(ctx.default_prior_set,),
                             custom=ctx.plan.custom_prior_sets)
    if "psense" not in paths:
        return []
    ps = pd.read_csv(paths["psense"])
    diag = {(r["analysis"], r["source"]): r.get("diagnostics", "") for r in rows_so_far
            if str(r.get("source", "")).startswith("bayes:")}
    rows: list[dict] = []
    for (aid, model, prior), frame in ps.groupby(["analysis", "model", "prior_set"], sort=False):
        fit = statuses[aid]["fits"][f"{aid}__{model}__{prior}"]
        rm = rs.RowMaker(ctx.plan.analysis(aid), ctx.study)
        source = f"bayes:{model}:{prior}"
        base = dict(source=source, model=model, prior_set=prior, cohort_based=True,
                    diagnostics_ok=fit["diagnostics"]["ok"], diagnostics=diag.get((aid, source), ""))
        for row in psense_rows(frame, base):
            rm.add(**row)
        rows.extend(rm.rows)
    return rows


def run_plan(plan_or_path: Plan | str | Path, out: str | Path, quick: bool = False, strict: bool = False,
             force: bool = False, cache: ModelCache | None = None, executor=None, checks: bool = True) -> RunResult:
    """Run a plan (a :class:`Plan` or the path of a plan file) into ``out``; see the module docstring.
    ``strict``: raise :class:`DiagnosticsFailed` (after writing every output) when a fit fails the gate;
    ``executor``: run the survival fits as tasks on it first (None: inline, one after another);
    ``checks``: model checks and power-scaling rows."""

    t_start = time.perf_counter()
    plan = plan_or_path if isinstance(plan_or_path, Plan) else load_plan(plan_or_path)
    study = load_study(plan.study)
    cohort_path = plan.cohort or study.cohort_path
    df = load_cohort(cohort_path, study)
    basis = basis_note(study)
    registry = load_registry(study.folder)
    _preflight(plan, study, df)
    out = Path(out).resolve()
    identity = _identity(plan, study, cohort_path)
    prepare_out(out, identity, force)
    ctx = _Context(plan, study, df, registry, out / "fits", quick, cache or ModelCache())
    compiles0 = ctx.cache.compiles
    run = {**identity, "status": "running", "started": datetime.now(timezone.utc).isoformat(),
           "quick": quick, "strict": strict, "versions": versions(), "python": sys.version.split()[0],
           "study": _study_ref(study),
           "study_folder": str(study.folder), "cohort": str(cohort_path), "plan": plan.to_dict(),
           "executor": getattr(executor, "name", "inline") if executor is not None else "inline",
           "uncovered_registry_entries": lk.uncovered(plan, registry), "analyses": {}}
    _atomic_json(run, out / "run.json")
    if executor is not None:
        _prefit(ctx, executor)
    rows: list[dict] = []
    statuses: dict[str, dict] = {}
    with _progress(len(plan.analyses)) as bar:
        for i, a in enumerate(plan.analyses, 1):
            bar.set_description(a.id)
            log.info("analysis %d/%d: %s (%s)", i, len(plan.analyses), a.id, a.kind)
            t0 = time.perf_counter()
            status: dict[str, Any] = {"kind": a.kind, "fits": {}}
            new = _run_analysis(ctx, a, status)
            failed = [k for k, f in status["fits"].items() if not f["diagnostics"]["ok"]]
            status.update(status="diagnostics_failed" if failed else "ok", rows=len(new),
                          seconds=round(time.perf_counter() - t0, 3))
            statuses[a.id] = status
            rows.extend(new)
            bar.update(1)
    table = _table_of(rows, basis)
    write_table(table, out / "comparisons.csv")  # written before the checks: a failing check loses no row
    timings = {"fits": round(time.perf_counter() - t_start, 2)}
    if checks:
        t0 = time.perf_counter()
        table = _table_of(rows + _checks(ctx, out, statuses, rows), basis)
        write_table(table, out / "comparisons.csv")
        timings["checks"] = round(time.perf_counter() - t0, 2)
    failed_fits = [k for s in statuses.values() for k, f in s["fits"].items() if not f["diagnostics"]["ok"]]
    seconds = time.perf_counter() - t_start
    run.update(status="complete", finished=datetime.now(timezone.utc).isoformat(), seconds=round(seconds, 2),
               compiles=ctx.cache.compiles - compiles0, rows=len(table), failed_fits=failed_fits,
               timings=timings, analyses=statuses)
    _atomic_json(run, out / "run.json")
    log.info("run complete in %.1f s: %d rows, %d fits failed the diagnostics gate", seconds, len(table),
             len(failed_fits))
    result = RunResult(table, out, statuses, failed_fits, seconds, ctx.cache.compiles - compiles0,
                       timings=timings)
    if strict and failed_fits:
        raise DiagnosticsFailed(result)
    return result


def reproduce(study: str | Path = "yin2025", out: str | Path | None = None, quick: bool = False,
              strict: bool = False, force: bool = False, cache: ModelCache | None = None, executor=None,
              checks: bool = True) -> RunResult:
    """Run a study's own plan.toml on its bundled cohort (default out: ``runs/<study>[-quick]``)."""

    s = load_study(study)
    if not s.plan_path.is_file():
        raise PlanError(Problem(str(s.plan_path), "the study has no plan.toml",
                                "write a plan (see inference/engine/plan.py) or use 'hccbayes run PLAN'"))
    out = out if out is not None else Path("runs") / (s.name + ("-quick" if quick else ""))
    return run_plan(s.plan_path, out, quick=quick, strict=strict, force=force, cache=cache, executor=executor,
                    checks=checks)
