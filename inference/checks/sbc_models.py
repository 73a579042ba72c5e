"""The generative side of simulation-based calibration: prior draws, simulated data, posterior draws.

One model per survival family and two more, each with a fixed design and its own priors:

* every survival family (``weibull``, ``pem``, ... as registered in
  :mod:`~hccbayes.models.survival.families`), with its baseline time points fixed at 3, 6 and 12 months (PEM
  cuts, spline knots): n = 60 patients, an arm indicator (30 / 30) and one binary biomarker (seeded
  Bernoulli(0.4), fixed across simulations), log-HRs under the ``weakly_informative`` prior set, baseline
  priors the family's own defaults;
* ``regimen`` — Weibull PH with hierarchical regimen effects on a fixed arm/regimen structure
  (:data:`REGIMENS`, n = 70: the sizes of the flagship study's regimens), arm log-HR plus τ_arm · (z_regimen − its arm's patient-weighted mean);
* ``beta_binomial`` — the hierarchical (marginalised) beta-binomial across the five regimens
  (:func:`~hccbayes.models.response.hierarchical.build_hier_beta_binomial`, default :class:`HierPriors`), with
  the regimen rates p_j drawn from their exact conditional as the model does.

The survival families centre their baseline priors on numbers computed from the observed data in normal
use (:class:`~hccbayes.models.survival.family.Anchors`: the crude event rate, the median and the last observed
time). A prior that depends on the data is not a generative model, so SBC fixes them (:data:`ANCHORS`) both
when drawing from the prior and when fitting; they enter as model data (``pm.Data``), so the compiled model
and its likelihood are exactly those used in analyses.

Priors here are drawn with numpy (:meth:`Prior.rvs <hccbayes.models.priors.values.Prior.rvs>`) from the prior
values the families declare — an implementation independent of the PyMC graphs, so a model whose PyMC priors
differ from those values fails SBC.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from hccbayes.inference.engine.executors import WorkerContext
from hccbayes.inference.fitting.fit import compile_model
from hccbayes.models.priors.sets import prior_set
from hccbayes.models.response.hierarchical import HierPriors, add_group_rates, build_hier_beta_binomial
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec
from hccbayes.models.survival.families import FAMILIES
from hccbayes.models.survival.family import Anchors, flat
from hccbayes.models.survival.likelihood import linear_predictor, regimen_centring, regimen_deviation

T_REF = 10.0  # months: fixed reference time of the Weibull intercept
RATE0 = math.log(2.0) / T_REF  # hazard at the prior centre: median survival 10 months
CENSOR = (6.0, 36.0)  # months: uniform (non-informative) censoring times
ANCHORS = Anchors(rate=RATE0, t_ref=T_REF, t_end=CENSOR[1])  # the last observed time is at most CENSOR[1]
BASELINE_POINTS = (3.0, 6.0, 12.0)  # months: the baseline's fixed interior time points (PEM cuts, knots)
N_SMALL = 60
# arm -> (regimen, patients): the regimen sizes of the flagship study's cohort (12 + 9 in the reference arm,
# 23 + 10 + 16 in the other), under neutral names; tests check the sizes against the bundled cohort
REGIMENS = {"A": (("A1", 12), ("A2", 9)), "B": (("B1", 23), ("B2", 10), ("B3", 16))}
SBC_PRIOR_SET = "weakly_informative"
REGIMEN_FAMILY = "weibull"  # the survival family of the ``regimen`` model
MODEL_NAMES = (*FAMILIES, "regimen", "beta_binomial")


@dataclass(frozen=True)
class SBCSettings:
    """Sampler settings of each SBC fit and L, the number of thinned posterior draws ranked against."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 2
    rank_draws: int = 99
    target_accept: float = 0.9

    def __post_init__(self):
        if not 0 < self.target_accept < 1:
            raise ValueError(f"target_accept must be in (0, 1), got {self.target_accept}")
        if self.chains * self.draws < self.rank_draws:
            raise ValueError(f"chains*draws = {self.chains * self.draws} < rank_draws = {self.rank_draws}")

    def to_dict(self) -> dict:
        return asdict(self)


def small_design() -> SurvivalData:
    """60 patients: arm 0/1 alternating, a binary biomarker (seed 2018); times are filled per simulation."""
    n = N_SMALL
    arm = np.tile([0.0, 1.0], n // 2)
    biomarker = np.random.default_rng(2018).binomial(1, 0.4, n).astype(float)
    X = np.column_stack([arm, biomarker])
    return SurvivalData(time=np.ones(n), event=np.zeros(n), X=X, terms=("arm", "biomarker"),
                        ids=np.array([f"P{i:03d}" for i in range(n)], dtype=object), center=X.mean(axis=0))


def regimen_design() -> SurvivalData:
    """The SBC arm/regimen structure (:data:`REGIMENS`): one arm term and five regimens nested in two arms."""
    arm_names = tuple(REGIMENS)
    names, arm_of, reg = [], [], []
    for a, (arm, regs) in enumerate(REGIMENS.items()):
        for name, count in regs:
            arm_of.append(a)
            reg += [len(names)] * count
            names.append(name)
    regimen = np.array(reg, dtype=np.int64)
    arm_idx = np.array(arm_of)[regimen]
    X = arm_idx.astype(float)[:, None]
    n = regimen.size
    return SurvivalData(time=np.ones(n), event=np.zeros(n), X=X, terms=("arm",),
                        ids=np.array([f"P{i:03d}" for i in range(n)], dtype=object), arm=arm_idx,
                        arm_names=arm_names, regimen=regimen, regimen_names=tuple(names),
                        regimen_arm=np.array(arm_of, dtype=np.int64), center=X.mean(axis=0))


def _spec(model: str, data: SurvivalData) -> SurvivalSpec:
    return SurvivalSpec("os", terms=data.terms, model=REGIMEN_FAMILY if model == "regimen" else model,
                        regimen_effects=data.regimen is not None, cuts=BASELINE_POINTS)


def _event_times(theta, data: SurvivalData, spec: SurvivalSpec, setup, rng) -> np.ndarray:
    """Event times of the design under the drawn parameters (the family inverts its cumulative hazard); the
    regimen deviations centred within arm, as the model (likelihood.add_effects)."""
    fam = FAMILIES[spec.model]
    deviation = regimen_deviation(theta["regimen_tau"], theta["regimen_z"], regimen_centring(data),
                                  data.regimen_arm) if data.regimen is not None else None
    eta = linear_predictor(data.centred(data.X), theta["log_hr"], deviation, data.regimen)
    draws = {k: np.asarray(theta[k]).reshape(1, -1) for k in fam.parameters(spec)}
    return fam.draw_times(eta[None, :], setup, draws, rng)[0]


def _with_outcomes(data: SurvivalData, t: np.ndarray, rng) -> SurvivalData:
    c = rng.uniform(*CENSOR, data.n)
    return replace(data, time=np.minimum(t, c), event=(t <= c).astype(float))


def _thin(values: np.ndarray, L: int) -> np.ndarray:
    """L draws evenly spaced through the (chain-concatenated) draws: (S, ...) -> (L, ...)."""
    step = values.shape[0] // L
    return values[np.arange(L) * step]


def _labels(data: SurvivalData, name: str, value: np.ndarray) -> list[str]:
    named = {"log_hr": list(data.terms), "regimen_tau": list(data.arm_names), "regimen_z": list(data.regimen_names)}
    return named.get(name, [str(j) for j in range(value.size)] if value.ndim else [""])


def _sample(compiled, settings: SBCSettings, seed: int):
    import nutpie

    return nutpie.sample(compiled, draws=settings.draws, tune=settings.tune, chains=settings.chains, seed=seed,
                         cores=1, progress_bar=False, save_warmup=False, target_accept=settings.target_accept)


def _survival_posterior(data: SurvivalData, spec: SurvivalSpec, settings: SBCSettings, seed: int,
                        ctx: WorkerContext):
    """Fit the family's compiled model with the fixed anchors the simulation used (module docstring)."""
    priors = prior_set(SBC_PRIOR_SET)
    values = FAMILIES[spec.model].model_data(data, priors, spec, ANCHORS)
    compiled = ctx.models().compiled(data, priors, spec, ANCHORS).with_data(**values)
    return _sample(compiled, settings, seed)


def _survival_sim(model: str, rng, settings: SBCSettings, seed: int, ctx: WorkerContext):
    design = ctx.once(("sbc-design", model), regimen_design if model == "regimen" else small_design)
    spec = _spec(model, design)
    theta, setup = FAMILIES[spec.model].draw_prior(rng, design, prior_set(SBC_PRIOR_SET), spec, ANCHORS)
    data = _with_outcomes(design, _event_times(theta, design, spec, setup, rng), rng)
    dt = _survival_posterior(data, spec, settings, seed, ctx)
    labels = {k: _labels(design, k, v) for k, v in theta.items()}
    return theta, dt, labels, {"events": data.events}


def _bb_compiled(groups: tuple[str, ...], n: tuple[int, ...]):
    """The hierarchical beta-binomial model with its observed counts as shared data (compile once)."""
    import pymc as pm
    import pytensor

    model = build_hier_beta_binomial({g: (0, k) for g, k in zip(groups, n)}, HierPriors())
    shared = pytensor.shared(np.zeros(len(groups), dtype="int64"), name="x_observed")
    return compile_model(pm.observe(model, {"events": shared}))


def _beta_binomial_sim(rng, settings: SBCSettings, seed: int, ctx: WorkerContext):
    groups = tuple(name for regs in REGIMENS.values() for name, _ in regs)
    n = tuple(count for regs in REGIMENS.values() for _, count in regs)
    hp = HierPriors()
    mu = rng.beta(hp.mu_a, hp.mu_b)
    kappa = math.exp(rng.normal(math.log(hp.kappa_median), hp.kappa_sigma))
    p = rng.beta(mu * kappa, (1.0 - mu) * kappa, len(groups))
    x = rng.binomial(np.array(n), p)
    compiled = ctx.once(("sbc-beta-binomial", groups, n), lambda: _bb_compiled(groups, n))
    dt = _sample(compiled.with_data(x_observed=x.astype("int64")), settings, seed)
    add_group_rates(dt, {g: (int(k), m) for g, k, m in zip(groups, x, n)}, seed=seed)
    theta = {"mu": np.array(mu), "kappa": np.array(kappa), "p": p}
    return theta, dt, {"mu": [""], "kappa": [""], "p": list(groups)}, {"responses": int(x.sum())}


def rank_with_ties(prior_value: float, draws: np.ndarray, rng) -> int:
    """#draws below the prior value, ties broken uniformly at random (Talts et al. 2018, Algorithm 1)."""
    below = int(np.sum(draws < prior_value))
    ties = int(np.sum(draws == prior_value))
    return below + (int(rng.integers(0, ties + 1)) if ties else 0)


def sbc_sim(args, seed: int, ctx: WorkerContext) -> dict:
    """Task kind of one SBC simulation: prior draw, data, fit, ranks. JSON-able result."""
    model = args["model"]
    settings = SBCSettings(**args["settings"])
    rng = np.random.default_rng([seed, 0])
    if model == "beta_binomial":
        theta, dt, labels, info = _beta_binomial_sim(rng, settings, seed, ctx)
    elif model in MODEL_NAMES:
        theta, dt, labels, info = _survival_sim(model, rng, settings, seed, ctx)
    else:
        raise KeyError(f"unknown SBC model {model!r}; use one of {', '.join(MODEL_NAMES)}")
    post = dt["posterior"]
    tie_rng = np.random.default_rng([seed, 1])
    ranks, prior = {}, {}
    for name, value in theta.items():
        thinned = _thin(flat(post, name), settings.rank_draws).reshape(settings.rank_draws, -1)
        for k, (label, v) in enumerate(zip(labels[name], np.atleast_1d(value))):
            pname = f"{name}[{label}]" if label else name
            ranks[pname] = rank_with_ties(float(v), thinned[:, k], tie_rng)
            prior[pname] = float(v)
    divergences = int(np.asarray(dt["sample_stats"]["diverging"].values).sum())
    return {"ranks": ranks, "prior": prior, "divergences": divergences, "L": settings.rank_draws, **info}
