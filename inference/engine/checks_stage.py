"""The model-check stage of a run: the checks of the survival fits
(:func:`hccbayes.inference.checks.run_checks.run_checks`) and the table rows of their power-scaling diagnoses.

With local worker processes the checks need only the fit files, which exist once the fits are done, so the run
starts them then (:func:`start_checks`: from a thread of the main process, the work itself on the workers) and makes
its rows meanwhile; :func:`check_rows` collects them. The checks are those of every survival analysis; when an
analysis failed while its rows were made, they are made again without it (each fit's checks come from the memo),
so the outputs are the same as when the checks run after the rows.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from hccbayes.inference.checks.run_checks import CheckedFit, run_checks
from hccbayes.inference.engine import rows_survival as rs
from hccbayes.inference.engine.survival_run import Context, fit_jobs
from hccbayes.inference.sensitivity.power_scaling import psense_rows
from hccbayes.memo import MemoStore


def check_frames(ctx: Context, out: Path, failed: set[str], memo: MemoStore | None = None,
                 executor=None) -> dict[str, pd.DataFrame]:
    """The checks of the default-prior fits of the survival analyses not in ``failed`` (``out/checks``):
    {check name: frame}. ``memo``: where each check is kept under its content hash; ``executor``: where the
    per-fit checks run (None: this process)."""
    survival = [a for a in ctx.plan.analyses if a.kind == "survival" and a.id not in failed]
    if not survival:
        return {}
    fits = [CheckedFit(job.key, a.id, ps, job.data, job.spec, job.priors, ctx.fits_dir / f"{job.key}.nc",
                       job.task().digest)
            for a in survival for _, ps, job in fit_jobs(ctx, a)]
    sets = tuple(dict.fromkeys(ps for a in survival for ps in ctx.prior_sets(a)))
    return run_checks(fits, ctx.study, out / "checks", prior_sets=sets, fit_prior_sets=(ctx.default_prior_set,),
                      custom=ctx.plan.custom_prior_sets, memo=memo, executor=executor)


def start_checks(ctx: Context, out: Path, memo: MemoStore, executor) -> Future:
    """The checks of every survival analysis, started now on ``executor`` from a thread of this process."""
    thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checks")
    future = thread.submit(check_frames, ctx, out, set(), memo, executor)
    thread.shutdown(wait=False)  # the thread ends when the checks do
    return future


def check_rows(ctx: Context, out: Path, statuses: dict[str, dict], memo: MemoStore | None = None, executor=None,
               started: Future | None = None) -> list[dict]:
    """The power-scaling rows of the checks — those ``started`` earlier (:func:`start_checks`) when no analysis
    failed, else made now without the failed analyses — with the columns every row of the fit has (source,
    model, prior set, diagnostics). A failure of the checks raises here."""
    failed = {k for k, s in statuses.items() if s["status"] == "failed"}
    if started is not None and not failed:
        frames = started.result()
    else:
        if started is not None:
            started.exception()  # wait for them: their files are written again below, without the failed analyses
        frames = check_frames(ctx, out, failed, memo, executor)
    if "psense" not in frames:
        return []
    rows: list[dict] = []
    for (aid, model, prior), frame in frames["psense"].groupby(["analysis", "model", "prior_set"], sort=False):
        analysis = rs.analysis_rows(ctx.plan.analysis(aid))
        analysis.extend(psense_rows(frame, {**ctx.fit_columns[f"{aid}__{model}__{prior}"], "cohort_based": True}))
        rows.extend(analysis.rows)
    return rows
