"""The model checks of a run's survival fits, as frames for the run engine and as ``checks/*.csv``.

:func:`run_checks` takes the fits as the engine made them (:class:`CheckedFit`: key, data, spec, priors and
the stored file) and returns one frame per check; it writes each frame to ``checks/<name>.csv`` and a
summary to ``checks/checks.json``. Nothing is read back: the engine turns the ``psense`` frame into table
rows itself.

* ``loo`` — PSIS-LOO per analysis and prior set (:func:`.model_checks.compare_models` when the analysis has
  more than one model, else :func:`.model_checks.loo_summary`);
* ``psense`` — power-scaling prior and likelihood sensitivity per parameter
  (:func:`hccbayes.inference.sensitivity.power_scaling.power_scaling`);
* ``ppc`` and ``ppc_bands`` — posterior predictive Kaplan–Meier coverage and the bands to plot
  (:func:`.ppc.posterior_predictive_km`);
* ``prior_predictive`` — once per model family (model, with or without regimen effects) and prior set, on
  the design of the family's first analysis, with the priors of a fit of it when there is one (else the
  named or custom set); one task per family, whose prior sets share one compiled model.

LOO, posterior predictive and power-scaling are per fit — of every fit, or of those whose prior set is in
``fit_prior_sets`` (the run engine: its default set); only the posterior, log_likelihood and log_prior
groups of the stored fit are read. Fits are taken in the order of their file names.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from hccbayes.atomic import write_csv, write_text
from hccbayes.inference.checks.fit_checks import CheckMemo, Pending, fit_check_frames, plan_fit_checks
from hccbayes.inference.checks.model_checks import PriorSampler, prior_predictive
from hccbayes.inference.engine.rows_survival import level_labels
from hccbayes.memo import MemoStore
from hccbayes.models.priors.roles import with_roles
from hccbayes.models.priors.sets import PriorSet, resolve_prior_set
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec

log = logging.getLogger(__name__)

CHECKS = ("loo", "psense", "ppc", "ppc_bands", "prior_predictive")
PRIOR_PREDICTIVE = "hccbayes.inference.checks.run_checks:prior_predictive_task"


@dataclass(frozen=True)
class CheckedFit:
    """One stored survival fit of a run, with the inputs it was made from."""

    key: str  # <analysis>__<model>__<prior set>
    analysis: str
    prior_set: str
    data: SurvivalData
    spec: SurvivalSpec
    priors: PriorSet
    path: Path  # the fit file
    fit_hash: str = ""  # the fit's hash (its checks are kept under it); "" computes them every time

    @property
    def model(self) -> str:
        return self.spec.model


def _family(spec: SurvivalSpec) -> str:
    """The model family whose priors a prior predictive check describes (builder and baseline)."""
    return f"{spec.model}{'+regimen' if spec.regimen_effects else ''}"


def _labels(study, spec: SurvivalSpec) -> tuple[str, str] | None:
    term = spec.contrast_term
    factor = getattr(study, "factors", {}).get(term)
    if spec.regimen_effects or factor is None:
        return None
    if not factor.levels:  # a threshold factor (column > cut-off)
        return f"{factor.column} ≤ {factor.above:g}", f"{factor.column} > {factor.above:g}"
    return level_labels(study, term)


def _like(fitted: PriorSet, priors: PriorSet) -> PriorSet:
    """``priors`` with the term roles of a fitted prior set, if it has them (the engine's priors)."""
    roles = getattr(fitted, "roles", None)
    return with_roles(priors, roles) if roles is not None else priors


def _priors_text(priors: PriorSet) -> str:
    """The prior set as data, for a memo key (its JSON, with the term roles it carries)."""
    return priors.to_json() + repr(getattr(priors, "roles", None))


def prior_predictive_task(args: Mapping, seed: int, context=None) -> dict[str, dict[str, pd.DataFrame]]:
    """Task kind: the prior predictive intervals of one model family under the prior sets in ``args["sets"]``
    (memo name -> (prior set, its tag)), the model compiled once for all of them."""
    sampler = None
    out = {}
    for name, (priors, tag) in args["sets"].items():
        sampler = sampler or PriorSampler(args["data"], args["spec"], priors, seed)
        pp = prior_predictive(args["data"], priors, args["spec"], args["draws"], seed, level_labels=args["labels"],
                              sampler=sampler)
        out[name] = {"pp": pp.assign(**tag)}
    return out


def _prior_predictive(fits: Sequence[CheckedFit], study, names: tuple[str, ...], draws: int, seed: int,
                      custom: Mapping[str, PriorSet] | None, pending: Pending) -> tuple[list[str], list[str]]:
    """Want the prior predictive checks in ``pending`` (one task per family: its prior sets share a compiled
    model); returns (their memo names in order, the families)."""
    by_key = {(f.analysis, f.model, f.prior_set): f for f in fits}
    families: dict[str, CheckedFit] = {}
    for f in fits:
        families.setdefault(_family(f.spec), f)
    order = []
    for family, first in families.items():
        labels = _labels(study, first.spec) or ("0", "1")
        keys, sets = {}, {}
        for name in names:
            stored = by_key.get((first.analysis, first.model, name))
            priors = stored.priors if stored is not None else _like(first.priors,
                                                                    resolve_prior_set(name, custom=custom))
            tag = dict(prior_set=name, family=family, analysis=first.analysis, model=first.model)
            memo_name = f"prior_predictive/{family}__{name}"
            order.append(memo_name)
            keys[memo_name] = pending.memo.key((first.fit_hash,), name, _priors_text(priors), draws, seed, labels, tag)
            sets[memo_name] = (priors, tag)

        def args(missing: list[str], first=first, labels=labels, sets=sets) -> dict:
            return {"data": first.data, "spec": first.spec, "draws": draws, "labels": labels,
                    "sets": {name: sets[name] for name in missing}}

        pending.want(f"prior_predictive__{family}", PRIOR_PREDICTIVE, seed, keys, args)
    return order, sorted(families)


def run_checks(fits: Sequence[CheckedFit], study, out: str | Path, prior_sets: tuple[str, ...] | None = None,
               fit_prior_sets: tuple[str, ...] | None = None, custom: Mapping[str, PriorSet] | None = None,
               n_rep: int = 200, prior_draws_n: int = 2000, seed: int = 0, memo: MemoStore | None = None,
               executor=None) -> dict[str, pd.DataFrame]:
    """The checks of ``fits`` (see the module docstring) as {name: frame} for the checks that have rows;
    each is also written to ``out/<name>.csv``, with ``out/checks.json`` saying what was done.
    ``prior_sets``: those of the prior predictive check (default: the fits'). ``memo``: where each check is
    kept under the digest of the code and its inputs (a fit's by its fit hash), reused while that is unchanged;
    ``executor``: where the checks are computed (:mod:`.fit_checks`; None: this process)."""
    out = Path(out)
    fits = sorted(fits, key=lambda f: f"{f.key}.nc")
    checked = [f for f in fits if fit_prior_sets is None or f.prior_set in fit_prior_sets]
    pending = Pending(CheckMemo(memo))
    groups = plan_fit_checks(checked, {f.key: _labels(study, f.spec) for f in checked}, n_rep, seed, pending)
    names = prior_sets or tuple(dict.fromkeys(f.prior_set for f in fits))
    order, families = _prior_predictive(fits, study, names, prior_draws_n, seed, custom, pending)
    whole = pending.whole_key(names, fit_prior_sets, n_rep, prior_draws_n, seed, [f.key for f in fits])
    result = pending.memo.get("result", whole)  # everything unchanged: the result kept whole, in one read
    if result is None:
        found = pending.run(executor)
        frames = fit_check_frames(checked, groups, found)
        frames["prior_predictive"] = [found[name]["pp"] for name in order]
        result = {name: pd.concat(frames[name], ignore_index=True) for name in CHECKS if frames[name]}
        pending.memo.put("result", whole, result)
    for name, frame in result.items():
        write_csv(frame, out / f"{name}.csv", float_format="%.8g")
    summary = {"fits": len(checked), "n_rep": n_rep, "prior_draws": prior_draws_n, "seed": seed,
               "fit_prior_sets": fit_prior_sets,
               "prior_predictive": {"families": families, "prior_sets": list(names)},
               "files": sorted(f"{name}.csv" for name in result)}
    write_text(out / "checks.json", json.dumps(summary, indent=1))
    log.info("model checks of %d fits written to %s", len(checked), out)
    return result
