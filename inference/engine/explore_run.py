"""Prior exploration of a finished run: one stored survival fit of a run folder and its explorer.

:func:`open_exploration` finds the fit of an analysis in ``<run>/fits/`` (the model asked for, else the
analysis' first; the run's default prior set when that was fitted, else the first set in name order), reads
only its attrs and the term's log-HR draws (h5netcdf alone) and returns an
:class:`~hccbayes.inference.sensitivity.explore.Explorer` of a term (default: the fit's contrast term). Where a prior
has a Pareto k̂ above 0.7 the explorer refits, with the refit made on first use by the ``refit`` factory it is
given — :func:`hccbayes.inference.engine.explore_refit.run_refitter`: the study, cohort and plan the run recorded
read again, the analysis' data rebuilt and checked against the fit's data hash, the model refitted with the fit's
own sampler settings and seed through the diagnostics gate.

This module imports neither pandas nor scipy.stats nor ArviZ nor PyMC, so that a fresh ``hccbayes explore`` answers
in well under a second (tests/test_explore.py checks it); the refit's modules are imported only when one is needed.
"""
from __future__ import annotations

import glob
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hccbayes.errors import HccbayesError, Problem
from hccbayes.inference.sensitivity.explore import Explorer
from hccbayes.models.priors.sets import DEFAULT_MCID
from hccbayes.models.priors.term_prior import stored_prior_set

log = logging.getLogger(__name__)


class ExploreError(HccbayesError):
    """A run folder, analysis, model or term that cannot be explored (one readable line)."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))


@dataclass(frozen=True)
class StoredFit:
    path: Path
    attrs: dict

    @property
    def spec(self) -> dict:
        return json.loads(self.attrs["spec"])

    @property
    def contrast_term(self) -> str | None:
        """The spec's ``primary`` term, else its first (as ``SurvivalSpec.contrast_term``, whose module imports
        pandas)."""
        return self.spec.get("primary") or next(iter(self.spec["terms"]), None)


def _run_json(run: Path) -> dict:
    path = run / "run.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExploreError(Problem(str(run), "is not a run folder (no run.json)",
                                   "give the folder written by 'hccbayes run' or 'hccbayes reproduce'")) from None
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise ExploreError(Problem(str(path), f"cannot be read ({err})", "re-run the analysis")) from None


def read_attrs(path: Path) -> dict:
    """The root attrs of a stored fit, no variable read: :func:`hccbayes.inference.fitting.cache.read_attrs`, here
    because that module imports the fitting stack (xarray, PyMC) with it."""
    import h5netcdf

    with h5netcdf.File(path, "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v)
                for k, v in f.attrs.items()}


def _fits_of(run: Path, analysis: str) -> list[StoredFit]:
    """The stored fits of ``analysis``: the files named ``<analysis>__<model>__<prior set>.nc`` (the run engine's
    keys) whose attrs say they belong to it (only those files' attrs are read)."""
    out = []
    for path in sorted((run / "fits").glob(f"{glob.escape(analysis)}__*.nc")):
        try:
            attrs = read_attrs(path)
        except (OSError, ValueError, KeyError, RuntimeError) as err:
            log.warning("skipping unreadable fit %s (%s)", path.name, err)
            continue
        if attrs.get("analysis") == analysis and "spec" in attrs and "priors" in attrs:
            out.append(StoredFit(path, attrs))
    return out


def _choices(names: list[str], most: int = 12) -> str:
    shown = ", ".join(names[:most]) or "(none)"
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def find_fit(run: Path, analysis: str, model: str | None, default_set: str, planned: tuple[str, ...] = ()) -> StoredFit:
    """The stored fit to explore (see the module docstring), or an :class:`ExploreError` naming the choices;
    ``planned``: the analysis' models in the plan's order (the first one fitted is the default)."""
    fits = _fits_of(run, analysis)
    if not fits:
        known = sorted({f.name.split("__")[0] for f in (run / "fits").glob("*.nc")})
        raise ExploreError(Problem(str(run / "fits"), f"no survival fit of analysis {analysis!r}",
                                   f"use --analysis with one of: {_choices(known)}"))
    fitted = list(dict.fromkeys(f.spec["model"] for f in fits))
    models = [m for m in planned if m in fitted] + [m for m in fitted if m not in planned]
    model = model or models[0]
    of_model = [f for f in fits if f.spec["model"] == model]
    if not of_model:
        raise ExploreError(Problem(str(run / "fits"), f"analysis {analysis!r} has no {model!r} fit",
                                   f"use --model with one of: {', '.join(models)}"))
    preferred = [f for f in of_model if f.attrs.get("prior_set") == default_set]
    return (preferred or sorted(of_model, key=lambda f: str(f.attrs.get("prior_set"))))[0]


def read_log_hr(path: Path, term: str) -> np.ndarray:
    """(chain, draw) log-HR draws of ``term`` straight from the fit's NetCDF posterior group (h5netcdf, as
    :func:`~hccbayes.inference.fitting.cache.read_attrs`: no xarray decoding, which a float posterior stored by the
    engine does not need, and several times quicker for one variable in a fresh process)."""
    import h5netcdf

    with h5netcdf.File(path, "r") as f:
        post = f["posterior"]
        var = post.variables["log_hr"]
        terms = [t.decode() if isinstance(t, bytes) else str(t) for t in post.variables["term"][...]]
        if term not in terms:
            raise KeyError(f"term {term!r} not among the posterior's {terms}")
        order = [var.dimensions.index(d) for d in ("chain", "draw", "term")]
        values = np.transpose(np.asarray(var[...], dtype=float), order)
    return np.ascontiguousarray(values[:, :, terms.index(term)])


RefitFactory = Callable[[Path, dict, StoredFit, str], Callable]


def open_exploration(run_dir: str | Path, analysis: str, *, model: str | None = None, term: str | None = None,
                     mcid: float | None = None, ci_prob: float = 0.95,
                     refit: RefitFactory | None = None) -> tuple[Explorer, StoredFit, float]:
    """(explorer, the fit explored, the MCID) for ``analysis`` of the run in ``run_dir``; ``mcid`` defaults to the
    analysis' (as planned), else 0.7. ``refit``: called as ``refit(run folder, its run.json, the fit, analysis)`` on
    the first prior with k̂ > 0.7, it returns the refit (prior set -> gated DataTree; e.g.
    :func:`~hccbayes.inference.engine.explore_refit.run_refitter`); None: never refit (k̂ > 0.7 is then flagged)."""
    run = Path(run_dir)
    info = _run_json(run)
    plan_info = info.get("plan") or {}
    planned = [a for a in plan_info.get("analyses", []) if isinstance(a, dict) and a.get("id") == analysis]
    fit = find_fit(run, analysis, model, str(plan_info.get("quick_prior_set", "weakly_informative")),
                   tuple(planned[0].get("models") or ()) if planned else ())
    try:
        terms, contrast = tuple(fit.spec["terms"]), fit.contrast_term
    except (TypeError, KeyError, AttributeError) as err:
        raise ExploreError(Problem(str(fit.path), f"its spec cannot be read ({err!r})", "re-run the analysis")) from None
    term = term or contrast
    if term not in terms:
        raise ExploreError(Problem(str(fit.path), f"term {term!r} is not in the model",
                                   f"use --term with one of: {', '.join(terms) or '(none)'}"))
    if mcid is None:
        mcid = float(planned[0].get("mcid") or DEFAULT_MCID) if planned else DEFAULT_MCID
    try:
        draws = read_log_hr(fit.path, term)
    except (OSError, ValueError, KeyError) as err:
        raise ExploreError(Problem(str(fit.path), f"cannot be read ({err})", "re-run the analysis")) from None
    priors = stored_prior_set(fit.attrs["priors"], contrast)
    lazy = _LazyRefit(refit, (run, info, fit, analysis)) if refit is not None else None
    explorer = Explorer(draws, term, priors, thresholds=(1.0, float(mcid)), ci_prob=ci_prob, refit=lazy)
    return explorer, fit, float(mcid)


@dataclass
class _LazyRefit:
    """The refit of a run's fit, made on first use (reading the study and compiling the model are needed only
    for a refit)."""

    factory: RefitFactory
    args: tuple
    refitter: Callable | None = None

    def __call__(self, priors):
        if self.refitter is None:
            self.refitter = self.factory(*self.args)
        return self.refitter(priors)
