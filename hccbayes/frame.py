"""The DataFrame API: Bayesian survival and rate comparisons straight from a pandas DataFrame and column
names, for people who do not want a study folder.

:func:`survival` writes the frame as a study folder (``<out>/study``: study.toml, cohort.csv, plan.toml —
exactly what ``hccbayes init`` and a hand-made study hold) and runs it with the run engine, so the numbers
are those of ``hccbayes run`` on the same data: one code path. It returns a :class:`SurvivalResult`: the
posterior DataTrees, hazard ratios, standardised curves, medians / RMST / S(t) per group, P(·) rows, the
tidy comparison table (the same contract as every run) and a plot. :func:`rates` compares a proportion
between two groups (beta-binomial, closed form) into rows of the same table.

    import hccbayes.frame as hf
    res = hf.survival(df, time="days", event="died", group="arm", reference="Obs",
                      covariates=["age"], models=("weibull",), time_unit="days")
    res.hazard_ratios          # posterior median HR, 95% CrI, per term and model
    res.medians                # standardised median survival per group (+inf: not reached)
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hccbayes.atomic import write_csv, write_text
from hccbayes.errors import InputError, Problem
from hccbayes.inference.engine.rows_counts import rate_rows
from hccbayes.inference.engine.run import RunResult, run_plan
from hccbayes.inference.engine.table import Rows, make_table, read_table
from hccbayes.models.response.beta_binomial import compare_rates
from hccbayes.reports.figures import survival_figure

__all__ = ["SurvivalResult", "rates", "survival"]


def _q(value) -> str:
    return json.dumps(str(value), ensure_ascii=False)


def _check(df: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(Problem("<DataFrame>", f"no column(s) {missing}", f"use columns of the frame: {list(df.columns)}"))


def _study_toml(df: pd.DataFrame, time: str, event: str, group: str | None, reference, covariates, unit) -> str:
    lines = ["[study]", 'name = "frame"', 'id_column = "id"', f"time_unit = {_q(unit)}", "",
             "[endpoints.survival]", 'label = "Survival"', f"time = {_q(time)}", f"event = {_q(event)}", ""]
    for c in covariates:
        lines += [f"[columns.{_q(c)}]", 'type = "continuous"', f"label = {_q(c)}", ""]
    if group is not None:
        levels = [str(reference)] + [str(v) for v in pd.unique(df[group].dropna().astype(str)) if str(v) != str(reference)]
        lines += [f"[columns.{_q(group)}]", 'type = "categorical"', f"label = {_q(group)}",
                  f"levels = [{', '.join(_q(v) for v in levels)}]", ""]
        for i, level in enumerate(levels[1:], 1):
            lines += [f"[factors.{group}_{i}]", f"label = {_q(f'{level} vs {levels[0]}')}", f"column = {_q(group)}",
                      f"levels = [{_q(level)}]", ""]
    return "\n".join(lines)


def _plan_toml(terms, covariates, group, models, prior_sets, missing, horizon, landmarks, seed) -> str:
    lines = ["[plan]", 'name = "frame"', 'study = "."', f"seed = {int(seed)}", "", "[defaults]",
             f"prior_sets = [{', '.join(_q(p) for p in prior_sets)}]", f"quick_prior_set = {_q(prior_sets[0])}",
             "thresholds = { hr = [1.0], median_diff = [0.0], rmst_diff = [0.0] }", "",
             "[[analyses]]", 'id = "frame"', 'kind = "survival"', 'endpoint = "survival"',
             f"models = [{', '.join(_q(m) for m in models)}]", f"terms = [{', '.join(_q(t) for t in terms)}]",
             f"continuous = [{', '.join(_q(c) for c in covariates)}]"]
    if group is not None:
        lines.append(f"strata = {_q(group)}")
    if missing:
        lines.append(f"missing = {_q(missing)}")
    if horizon is not None:
        lines.append(f"horizon = {float(horizon)}")
    if landmarks:
        lines.append(f"landmarks = [{', '.join(str(float(t)) for t in landmarks)}]")
    return "\n".join(lines) + "\n"


@dataclass
class SurvivalResult:
    """What :func:`survival` returns: the run (table, fits, curves) of the frame's analysis."""

    run: RunResult

    @property
    def table(self) -> pd.DataFrame:
        """The tidy comparison table (frequentist and ``bayes:<model>:<prior set>`` rows)."""
        return self.run.table

    def _bayes(self, quantity: str, probabilities: bool = False) -> pd.DataFrame:
        t = self.table
        rows = t[(t.quantity == quantity) & t.source.str.startswith("bayes:")]
        return rows[rows.probability.notna() if probabilities else rows.probability.isna()]

    @property
    def hazard_ratios(self) -> pd.DataFrame:
        return self._bayes("hr")[["model", "prior_set", "contrast", "estimate", "lower", "upper"]]

    @property
    def medians(self) -> pd.DataFrame:
        return self._bayes("median")[["model", "prior_set", "group", "estimate", "lower", "upper", "note"]]

    @property
    def rmst(self) -> pd.DataFrame:
        return self._bayes("rmst")[["model", "prior_set", "group", "horizon", "estimate", "lower", "upper"]]

    @property
    def probabilities(self) -> pd.DataFrame:
        t = self.table
        return t[t.probability.notna()][["model", "prior_set", "contrast", "quantity", "direction", "threshold",
                                         "probability"]]

    @property
    def curves(self) -> pd.DataFrame:
        """Posterior median and 95% band of the standardised S(t) per model, prior set and group."""
        return pd.read_csv(self.run.run_dir / "curves.csv")

    def datatree(self, model: str, prior_set: str | None = None):
        """The posterior DataTree of one fit (posterior, sample_stats, log_likelihood, ...)."""
        import xarray as xr

        paths = sorted((self.run.run_dir / "fits").glob(f"frame__{model}__{prior_set or '*'}.nc"))
        if not paths:
            raise KeyError(f"no fit of model {model!r} (prior set {prior_set or 'any'})")
        with xr.open_datatree(paths[0]) as dt:
            return dt.load()

    def plot(self, model: str | None = None):
        """Kaplan–Meier steps per group with the posterior standardised curves (a matplotlib Figure)."""
        curves, km = self.curves, pd.read_csv(self.run.run_dir / "km.csv")
        models = [model] if model else list(dict.fromkeys(curves["model"]))
        groups = tuple(km.drop_duplicates("level").sort_values("level")["group"])
        unit = json.loads((self.run.run_dir / "study" / "study.json").read_text())["time_unit"]
        return survival_figure({m: curves[curves.model == m] for m in models}, km, groups, "Survival", unit)


def survival(df: pd.DataFrame, time: str, event: str, *, group: str | None = None, reference=None,
             covariates=(), models=("weibull", "pem"), prior_sets=("weakly_informative",), time_unit: str = "months",
             missing: str | None = None, horizon: float | None = None, landmarks=(), seed: int = 1,
             out: str | Path | None = None, quick: bool = False) -> SurvivalResult:
    """Fit proportional-hazards survival models (Weibull and/or PEM) to ``df``: ``time`` and ``event`` (1 =
    event, 0 = censored) columns, an optional ``group`` column whose levels are compared (``reference``
    first; default its first value) and numeric ``covariates`` (per SD). ``missing``: "complete_case" or
    "impute" when a covariate has missing values. ``out``: the run folder (default: a temporary one)."""
    covariates = list(covariates)
    _check(df, [time, event, *covariates] + ([group] if group else []))
    if group is not None and reference is None:
        reference = df[group].dropna().astype(str).iloc[0]
    out = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="hccbayes-frame-"))
    folder = out / "study"
    frame = df[[time, event, *covariates] + ([group] if group else [])].copy()
    frame.insert(0, "id", [f"R{i + 1}" for i in range(len(frame))])
    write_csv(frame, folder / "cohort.csv", index=False)
    write_text(folder / "study.toml", _study_toml(df, time, event, group, reference, covariates, time_unit))
    levels = [] if group is None else [v for v in pd.unique(df[group].dropna().astype(str)) if v != str(reference)]
    terms = [f"{group}_{i}" for i in range(1, len(levels) + 1)] + covariates
    write_text(folder / "plan.toml", _plan_toml(terms, covariates, group, models, list(prior_sets), missing,
                                                horizon, landmarks, seed))
    return SurvivalResult(run_plan(folder / "plan.toml", out / "run", quick=quick, force=True))


def rates(df: pd.DataFrame, outcome: str, group: str, reference, *, prior_set: str = "weakly_informative",
          thresholds=(0.0,), seed: int = 1) -> pd.DataFrame:
    """Compare the proportion of ``outcome`` (0/1 or True/False) between the two levels of ``group``
    (beta-binomial, closed form): rows of the comparison table (rates per group, difference, risk and odds
    ratio, P(difference > t))."""
    _check(df, [outcome, group])
    sub = df[[outcome, group]].dropna()
    counts = {f"{group}:{g}": (int(v[outcome].astype(int).sum()), len(v)) for g, v in sub.groupby(group, sort=False)}
    ref = f"{group}:{reference}"
    if len(counts) != 2 or ref not in counts:
        raise InputError(Problem("<DataFrame>", f"column {group!r} has groups {list(counts)}",
                                 f"compare exactly two groups, one of them the reference {reference!r}"))
    other = next(g for g in counts if g != ref).split(":", 1)[1]
    comp = compare_rates(counts, ref, prior_set=prior_set, thresholds=tuple(thresholds), seed=seed)
    rows = Rows({"analysis": "rates", "title": f"{outcome} by {group}", "population": "all", "endpoint": outcome,
                 "cohort_based": True})
    rate_rows(rows, comp, f"{other} vs {reference}")
    return make_table(rows.rows)


def load(run_dir: str | Path) -> pd.DataFrame:
    """The comparison table of a run folder (e.g. ``SurvivalResult.run.run_dir``)."""
    return read_table(Path(run_dir) / "comparisons.csv")
