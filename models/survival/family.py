"""A survival family: one baseline hazard h0(t), and everything the package does with it.

A family (one module each: :mod:`~hccbayes.models.survival.weibull`, :mod:`~hccbayes.models.survival.piecewise`,
:mod:`~hccbayes.models.survival.mspline`, ...; registered in :mod:`~hccbayes.models.survival.families`) is a
subclass of :class:`SurvivalFamily` that supplies

* its **baseline priors**: the settings it reads from a prior set (``defaults``, overridable by name) and
  :meth:`~SurvivalFamily.baseline_priors`, the prior values of its baseline parameters, centred on the data's
  crude event rate (:class:`Anchors`);
* its **setup**: the data-derived constants of the baseline (reference time, cut points, knots);
* its **log hazard and log cumulative hazard** of a patient with linear predictor η, written once for numpy
  and PyTensor (``xp``), on a **time basis** (the arrays the hazard needs at given times).

From these the shared base gives the PyMC model (the censored likelihood of
:mod:`~hccbayes.models.survival.likelihood` on patient rows; a family may supply its own data representation,
as the piecewise-exponential family's pattern × interval sufficient statistics), the per-patient
log-likelihood of posterior draws, S(t) (via the baseline log cumulative hazard on a grid), simulation of event
times by inverting the cumulative hazard (for SBC and predictive checks), the model data of a fit, the
structure key under which a compiled model is reused, and the log prior of the top-level parameters.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from hccbayes.models.priors.sets import PriorSet
from hccbayes.models.priors.values import Prior
from hccbayes.models.survival import imputation as imp
from hccbayes.models.survival.arrays import SurvivalData
from hccbayes.models.survival.imputation_model import add_imputed, model_values
from hccbayes.models.survival.packing import PackedData, pack
from hccbayes.models.survival.likelihood import (
    EFFECT_DEFAULTS,
    add_effects,
    censored_loglik,
    coords,
    effect_priors,
    hyper_names,
    linear_predictor,
    regimen_centring,
)

BISECTIONS = 60  # halvings of the bracket when a cumulative hazard is inverted numerically (2^-60 of it)


@dataclass(frozen=True)
class Anchors:
    """The data-derived numbers baseline priors are centred on: the crude event rate (events per unit
    person-time: a constant hazard), the median observed time and the last observed time. Simulation-based
    calibration fixes them (a prior that depends on the data is not a generative model)."""

    rate: float
    t_ref: float
    t_end: float

    @classmethod
    def of(cls, data: SurvivalData) -> Anchors:
        return cls(data.crude_rate, data.reference_time, float(np.max(data.time)))


def flat(post, name: str, idx: np.ndarray | None = None) -> np.ndarray:
    """A posterior variable with (chain, draw) flattened into one sample axis (optionally the draws ``idx``)."""
    a = np.asarray(post[name].values)
    a = a.reshape(a.shape[0] * a.shape[1], *a.shape[2:])
    return a if idx is None else a[idx]


class SurvivalFamily:
    """Base of every survival family (see the module docstring). Subclasses set the class variables and
    implement :meth:`setup`, :meth:`baseline_priors`, :meth:`time_basis`, :meth:`log_hazard` and
    :meth:`log_cum_hazard`; the rest has defaults."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # in words, for reports: "Weibull proportional-hazards"
    short: ClassVar[str] = ""  # in tables: "Weibull"
    baseline_words: ClassVar[str] = ""  # in a sentence: "proportional-hazards models with a Weibull baseline hazard"
    baselines: ClassVar[tuple[str, ...]] = ("independent",)  # SurvivalSpec.baseline options it knows
    defaults: ClassVar[Mapping[str, Any]] = {}  # its baseline prior settings; a prior set may override them
    graph_constants: ClassVar[tuple[str, ...]] = ()  # setup entries the hazard uses inside the model
    auxiliary: ClassVar[tuple[str, ...]] = ()  # sampled variables that carry no prior one chooses
    diagnostic_vars: ClassVar[tuple[str, ...]] = ()  # baseline variables shown in trace plots of failing fits
    rows: ClassVar[str] = "patient"  # what a row of the likelihood is
    basis_names: ClassVar[tuple[str, ...]] = ()  # the arrays of time_basis

    # ---- what a family supplies ---------------------------------------------------------------------------
    def setup(self, data: SurvivalData, spec, anchors: Anchors) -> dict[str, Any]:
        raise NotImplementedError

    def baseline_priors(self, settings: Mapping[str, Any], setup: Mapping[str, Any], spec,
                        anchors: Anchors) -> dict[str, Prior]:
        """Prior value of each top-level baseline parameter, in the order they enter the model."""
        raise NotImplementedError

    def time_basis(self, t: np.ndarray, setup: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The arrays (first axis: times) the hazard needs at times ``t``."""
        raise NotImplementedError

    def log_hazard(self, basis, setup, theta, eta, xp):
        raise NotImplementedError

    def log_cum_hazard(self, basis, setup, theta, eta, xp):
        raise NotImplementedError

    def default_points(self, data: SurvivalData, spec) -> np.ndarray | None:
        """The baseline's interior time points (cut points, knots) chosen from the data when the spec gives none;
        None for a family without such points."""
        return None

    def points(self, data: SurvivalData, spec) -> np.ndarray:
        """The spec's interior time points, else the family's default ones."""
        return np.asarray(spec.cuts, float) if spec.cuts is not None else self.default_points(data, spec)

    def resolve(self, data: SurvivalData, spec):
        """The spec with the time points the family chose from the data written in (recorded with the fit)."""
        points = None if spec.cuts is not None else self.default_points(data, spec)
        return spec if points is None else replace(spec, cuts=tuple(float(c) for c in points))

    def structure(self, setup: Mapping[str, Any], spec) -> tuple:
        """What, beyond terms and regimens, a compiled model of this family is specific to."""
        return ()

    def describe(self, settings: Mapping[str, Any], fits: list[tuple[str, dict]], fmt) -> str:
        """Its baseline priors in words for a report's methods, given its fits as (analysis, fitted spec as a dict);
        ``fmt(value, kind)`` formats numbers."""
        return ""

    def sizes(self, setup: Mapping[str, Any], spec) -> dict[str, int]:
        """Length of each baseline parameter that is a vector of independent draws from one scalar prior."""
        return {}

    def coords(self, data: SurvivalData, setup: Mapping[str, Any]) -> dict[str, list]:
        """Coordinates of the model's dimensions beyond terms and regimens."""
        return {"patient": list(data.ids)}

    def add_baseline(self, priors: Mapping[str, Prior], hyper: Mapping[str, Mapping[str, Any]],
                     setup: Mapping[str, Any]) -> dict[str, Any]:
        """The baseline's PyMC variables (inside a model context), one per prior."""
        return {name: prior.to_pymc(name, hyper[name]) for name, prior in priors.items()}

    def time_at(self, log_target: np.ndarray, setup, theta) -> np.ndarray:
        """T with log H0(T) = ``log_target`` (samples, patients): event times given log E − η, E ~ Exp(1). By
        default bisection on the (monotone) baseline cumulative hazard, the bracket doubled from the last observed
        time until it holds the target; a family with a closed form overrides it."""
        hi = np.full(log_target.shape, float(setup["t_end"]))
        while (short := self._log_h0_at(hi, setup, theta) < log_target).any():
            hi = np.where(short, 2.0 * hi, hi)
        lo = np.zeros_like(hi)
        for _ in range(BISECTIONS):
            mid = 0.5 * (lo + hi)
            below = self._log_h0_at(mid, setup, theta) < log_target
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    # ---- what the base gives --------------------------------------------------------------------------------
    def settings(self, priors: PriorSet) -> dict[str, Any]:
        """This family's baseline prior settings (and the effects'): defaults, overridden by the prior set."""
        base = {**EFFECT_DEFAULTS, **self.defaults}
        return {k: priors.baseline.get(k, v) for k, v in base.items()}

    def effective_priors(self, priors: PriorSet) -> PriorSet:
        """The prior set with the baseline settings this family used written out (stored with a fit)."""
        return replace(priors, baseline=self.settings(priors))

    def priors(self, data: SurvivalData, priors: PriorSet, spec, anchors: Anchors | None = None):
        """(setup, {parameter: prior}) of the top-level parameters: log-HRs, baseline, regimen scale."""
        anchors = anchors or Anchors.of(data)
        setup = self.setup(data, spec, anchors)
        settings = self.settings(priors)
        effects = effect_priors(data, priors, spec.contrast_term, settings)
        baseline = self.baseline_priors(settings, setup, spec, anchors)
        ordered = {"log_hr": effects.pop("log_hr"), **baseline, **effects}
        return setup, ordered

    def draw_prior(self, rng: np.random.Generator, data: SurvivalData, priors: PriorSet, spec,
                   anchors: Anchors) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(parameters drawn with numpy from their priors in model order, then the non-centred regimen z; the
        setup) — the generative side of simulation-based calibration."""
        setup, top = self.priors(data, priors, spec, anchors)
        sizes = {"regimen_tau": len(data.arm_names), **self.sizes(setup, spec)}
        theta = {name: np.asarray(prior.rvs(rng, sizes.get(name))) for name, prior in top.items()}
        if data.regimen is not None:
            theta["regimen_z"] = rng.normal(0.0, 1.0, len(data.regimen_names))
        return theta, setup

    def row_values(self, data: SurvivalData, setup: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The likelihood's rows as model data: one per patient (a family may aggregate them)."""
        return self.patient_rows(data, setup)

    def patient_rows(self, data: SurvivalData, setup: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """One row per patient: centred design, event, time basis (and regimen index)."""
        out = {"X": data.centred(data.X), "event": data.event.astype(float),
               **self.time_basis(data.time.astype(float), setup)}
        if data.regimen is not None:
            out["regimen_idx"] = data.regimen.astype("int64")
        return out

    def model_values(self, data: SurvivalData, priors: PriorSet, spec, anchors: Anchors | None = None) -> dict:
        """Everything that may change between fits of one compiled model, by name (design, time basis, prior
        hyperparameters, ...)."""
        return self._values(data, *self.priors(data, priors, spec, anchors))

    def model_data(self, data: SurvivalData, priors: PriorSet, spec, anchors: Anchors | None = None) -> dict:
        """:meth:`model_values` as the compiled model's data (:func:`~hccbayes.models.survival.packing.pack`)."""
        return pack(self.model_values(data, priors, spec, anchors))

    def _values(self, data: SurvivalData, setup: Mapping[str, Any], top: Mapping[str, Prior]) -> dict:
        lay = imp.layout(data)
        values = self.row_values(data if lay is None else imp.complete_rows(data, lay), setup)
        if lay is not None:  # the patients with a missing value: their own rows (imputation.py)
            values.update(model_values(data, lay, self.patient_rows(imp.expanded_rows(data, lay), setup)))
        if data.regimen is not None:
            values["regimen_centring"] = regimen_centring(data)
        values.update({k: np.asarray(setup[k], float) for k in self.graph_constants})
        for name, prior in top.items():
            values.update(zip(hyper_names(name, prior), prior.hyperparameters().values()))
        return values

    def structure_key(self, data: SurvivalData, spec, anchors: Anchors | None = None) -> tuple:
        setup = self.setup(data, spec, anchors or Anchors.of(data))
        return (self.name, len(data.terms), *self.structure(setup, spec), data.regimen is not None,
                len(data.regimen_names), tuple(data.regimen_arm.tolist()) if data.regimen_arm is not None else (),
                *imp.structure(imp.layout(data)))

    def build(self, data: SurvivalData, priors: PriorSet, spec, anchors: Anchors | None = None):
        """Pure builder: (data, priors, spec) -> pm.Model with the observed variable ``y``."""
        import pymc as pm

        setup, top = self.priors(data, priors, spec, anchors)
        values = self._values(data, setup, top)
        lay = imp.layout(data)
        rows = data if lay is None else imp.complete_rows(data, lay)
        with pm.Model(coords={**coords(data), **self.coords(rows, setup), **imp.coords(data, lay)}) as model:
            md = PackedData(values)
            regimen_idx = md["regimen_idx"] if data.regimen is not None else None
            hyper = {name: {p: md[h] for p, h in zip(prior.hyperparameters(), hyper_names(name, prior))}
                     for name, prior in top.items()}
            centring = md["regimen_centring"] if data.regimen is not None else None
            eta = add_effects(data, md["X"], top, hyper, regimen_idx, centring)
            baseline = {k: top[k] for k in top if k not in ("log_hr", "regimen_tau")}
            theta = self.add_baseline(baseline, hyper, setup)
            self.add_likelihood(md, setup, theta, eta)
            if lay is not None:
                add_imputed(self, md, setup, theta, lay)
        return model

    def add_likelihood(self, md: PackedData, setup, theta: Mapping[str, Any], eta) -> None:
        """The observed variable ``y``: the censored log-likelihood of every patient (``md``: the model data)."""
        import pymc as pm
        import pytensor.tensor as pt

        consts = {k: md[k] for k in self.graph_constants}
        basis = {k: md[k] for k in self.basis_names}
        names = (*theta, *consts, *basis)

        def logp(value, eta, *args):
            parts = dict(zip(names, args))
            local = {**setup, **{k: parts[k] for k in consts}}
            th, b = {k: parts[k] for k in theta}, {k: parts[k] for k in basis}
            return censored_loglik(value, self.log_hazard(b, local, th, eta, pt),
                                   pt.exp(self.log_cum_hazard(b, local, th, eta, pt)))

        params = (eta, *theta.values(), *consts.values(), *basis.values())
        batched = (1, *[0] * (len(theta) + len(consts)), *[1] * len(basis))  # per-row parameters: η and the basis
        cores = [f"({','.join(f'c{i}_{j}' for j in range(p.ndim - b))})" for i, (p, b) in enumerate(zip(params, batched))]
        pm.CustomDist("y", *params, logp=logp, signature=f"{','.join(cores)}->()",
                      observed=md["event"])  # one per row

    # ---- posterior draws in numpy ------------------------------------------------------------------------
    def theta(self, post, data: SurvivalData, spec, idx: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The baseline parameters of posterior draws: scalars as (samples, 1), vectors as (samples, k)."""
        names = [n for n in self.parameters(spec) if n in post]
        return {n: flat(post, n, idx).reshape(-1, 1) if post[n].ndim == 2 else flat(post, n, idx) for n in names}

    def parameters(self, spec) -> tuple[str, ...]:
        """Names of the posterior variables the hazard functions read."""
        raise NotImplementedError

    def eta(self, post, data: SurvivalData, X: np.ndarray, regimen: np.ndarray | None = None,
            idx: np.ndarray | None = None) -> np.ndarray:
        """Linear predictor of posterior draws for the rows of ``X`` (uncentred): (samples, rows); ``X`` may be
        one design per draw, (samples, rows, terms) (imputed values)."""
        deviation = flat(post, "regimen_deviation", idx) if regimen is not None and "regimen_deviation" in post \
            else None
        log_hr = flat(post, "log_hr", idx)
        if np.ndim(X) == 3:
            eta = (data.centred(X) * log_hr[:, None, :]).sum(axis=-1)
            return eta if deviation is None else eta + deviation[:, regimen]
        return linear_predictor(data.centred(X), log_hr, deviation, regimen)

    def pointwise_loglik(self, post, data: SurvivalData, spec) -> np.ndarray:
        """Per-patient log-likelihood of posterior draws: (samples, patients). A patient with imputed values: given
        the draw's continuous values, marginal over the missing binary ones, log Σ_x P(x | π)·L(y | x)."""
        setup = self.setup(data, spec, Anchors.of(data))
        theta = self.theta(post, data, spec)
        eta = self.eta(post, data, data.X, data.regimen)
        basis = self.time_basis(data.time.astype(float), setup)
        ll = censored_loglik(data.event, self.log_hazard(basis, setup, theta, eta, np),
                             np.exp(self.log_cum_hazard(basis, setup, theta, eta, np)))
        drawn = self.imputed(post, data, spec)
        if drawn is not None:
            lay, _, row_ll, logw = drawn
            ll[:, lay.patients] = imp.marginal_loglik(lay, row_ll, logw)
        return ll

    def imputed(self, post, data: SurvivalData, spec, idx: np.ndarray | None = None):
        """None without missing values; else, for the expanded rows of the patients with one (imputation.py), per
        draw: (layout, uncentred design (S, E, terms), log-likelihood (S, E), log P(binary values | π) (S, E))."""
        lay = imp.layout(data)
        if lay is None:
            return None
        log_hr = flat(post, "log_hr", idx)
        z = flat(post, "x_missing", idx) if lay.continuous else None
        X = imp.design_draws(lay, z, log_hr.shape[0])
        rows = imp.expanded_rows(data, lay)
        setup = self.setup(data, spec, Anchors.of(data))
        theta = self.theta(post, data, spec, idx)
        eta = self.eta(post, data, X, rows.regimen, idx)
        basis = self.time_basis(rows.time.astype(float), setup)
        ll = censored_loglik(rows.event, self.log_hazard(basis, setup, theta, eta, np),
                             np.exp(self.log_cum_hazard(basis, setup, theta, eta, np)))
        p = flat(post, "p_binary", idx) if lay.binary else None
        return lay, X, ll, imp.log_weights(lay, p, log_hr.shape[0])

    def _log_h0_at(self, t: np.ndarray, setup, theta) -> np.ndarray:
        """log H0 at times ``t`` of the same shape (samples, ...) as the draws in ``theta``."""
        shape = t.shape
        out = np.empty(shape)
        for s in range(shape[0]):
            one = {k: v[s : s + 1] for k, v in theta.items()}
            out[s] = self.log_cum_hazard(self.time_basis(t[s], setup), setup, one, 0.0, np)[0]
        return out

    def log_cum_hazard_grid(self, post, data: SurvivalData, spec, grid: np.ndarray) -> np.ndarray:
        """log H0(t) of the baseline (η = 0) on ``grid`` for every draw: (samples, times); −inf at t = 0."""
        setup = self.setup(data, spec, Anchors.of(data))
        with np.errstate(divide="ignore"):
            return self.log_cum_hazard(self.time_basis(grid, setup), setup, self.theta(post, data, spec), 0.0, np)

    def draw_times(self, eta: np.ndarray, setup, theta, rng: np.random.Generator) -> np.ndarray:
        """Event times of rows with linear predictor ``eta`` (samples, rows) under the baseline draws ``theta``, by
        inverting the cumulative hazard: H0(T)·exp(η) = E, E ~ Exp(1)."""
        return self.time_at(np.log(rng.exponential(size=eta.shape)) - eta, setup, theta)

    def simulate_times(self, post, data: SurvivalData, spec, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Event times (len(idx), n) for every patient under the posterior draws ``idx`` (predictive checks); a
        patient with imputed values gets the draw's continuous values and binary values drawn from their
        conditional posterior given the draw and the patient's outcome."""
        eta = self.eta(post, data, data.X, data.regimen, idx)
        drawn = self.imputed(post, data, spec, idx)
        if drawn is not None:
            lay, X, ll, logw = drawn
            rows = imp.expanded_rows(data, lay)
            chosen = imp.choose_rows(lay, imp.posterior_weights(lay, ll, logw), rng)
            eta_rows = self.eta(post, data, X, rows.regimen, idx)
            eta[:, lay.patients] = np.take_along_axis(eta_rows, chosen, axis=1)
        return self.draw_times(eta, self.setup(data, spec, Anchors.of(data)), self.theta(post, data, spec, idx), rng)

    def log_prior(self, post, data: SurvivalData, priors: PriorSet, spec):
        """Log prior densities of the top-level parameters (constrained scale), per draw: an xarray Dataset."""
        import xarray as xr

        _, top = self.priors(data, priors, spec)
        return xr.Dataset({name: prior.logpdf(post[name]) for name, prior in top.items() if name in post})
