"""The public run API: a plan (or a study's own plan) in, a run folder out — and, unless asked not to, its
report. The run engine (:mod:`hccbayes.inference.engine.run`) writes the table, fits, checks and run.json;
the report (:func:`hccbayes.reports.build.build_report`) is drawn from that folder afterwards. Both are
joined here, at the front door, so that neither floor reaches up to the other."""
from __future__ import annotations

import time
from pathlib import Path

from hccbayes.inference.engine import run as engine
from hccbayes.inference.engine.run import AnalysesFailed, DiagnosticsFailed, RunResult
from hccbayes.reports.reuse import report_once

__all__ = ["run_plan", "reproduce", "RunResult", "AnalysesFailed", "DiagnosticsFailed"]


def _with_report(call, report: bool) -> RunResult:
    t0 = time.perf_counter()
    try:
        result = call()
    except (DiagnosticsFailed, AnalysesFailed) as err:  # every other output is written; the report too, then re-raise
        if report:
            _report(err.result, t0)
        raise
    if report:
        _report(result, t0)
    return result


def _report(result: RunResult, t_start: float) -> None:
    t0 = time.perf_counter()
    result.report = report_once(result.run_dir)
    result.timings["report"] = round(time.perf_counter() - t0, 2)
    result.seconds = time.perf_counter() - t_start


def run_plan(plan_or_path, out: str | Path, *, report: bool = False, **kwargs) -> RunResult:
    """:func:`hccbayes.inference.engine.run.run_plan` (same arguments), then the report when ``report``."""
    return _with_report(lambda: engine.run_plan(plan_or_path, out, **kwargs), report)


def reproduce(study: str | Path | None = None, out: str | Path | None = None, *, report: bool = False,
              **kwargs) -> RunResult:
    """:func:`hccbayes.inference.engine.run.reproduce` (same arguments), then the report when ``report``."""
    return _with_report(lambda: engine.reproduce(study, out, **kwargs), report)
