"""Fitting survival models: compile once, sample many times, return one DataTree.

``fit(data, priors, spec, settings, seed)`` builds the PyMC model for ``spec.model``, compiles it with
nutpie **once per model structure** (model family, number of terms, intervals, regimen structure)
and reuses the compiled model for every new data set or prior set through ``with_data`` — all data
and prior hyperparameters are ``pm.Data``. A prior grid therefore costs one compile.

The returned :class:`xarray.DataTree` has groups ``posterior``, ``sample_stats``, ``log_likelihood``
(per patient, for LOO — recomputed in numpy, which equals PyMC's own log-likelihood to rounding,
see tests), ``log_prior`` (top-level priors only, for power-scaling sensitivity), ``observed_data``
and ``constant_data``; its attrs hold the spec, the prior set (JSON, with its definition in words),
sampler settings, seed, a data hash, package versions and the diagnostics record.

``sample_stats`` keeps only :data:`SAMPLE_STATS` — what the diagnostics gate reads (``diverging``;
``energy`` for E-BFMI) and the usual per-draw NUTS record (``energy_error``, ``step_size``, ``n_steps``,
``depth``, ``maxdepth_reached``, ``logp``, ``mean_tree_accept``). nutpie returns about twenty
(``step_size_bar``, ``mean_tree_accept_sym``, ``tuning``, ``index_in_trajectory``, ``fisher_distance``,
``divergence_message``, ...); nothing reads them, and each stored variable costs write time (about 4 ms per
variable and file with h5netcdf, which wrote the files before the NetCDF C library did:
:data:`hccbayes.inference.fitting.cache.ENGINE`). Files written before this choice,
with all twenty, are still valid and load the same (no reader requires a dropped statistic).
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from importlib.metadata import version
from typing import Any

import numpy as np
import xarray as xr

from hccbayes.inference.fitting.diagnostics import Diagnostics, diagnose
from hccbayes.models.priors.sets import PriorSet
from hccbayes.models.survival.design import SurvivalData, SurvivalSpec, degeneracy_notes
from hccbayes.models.survival.families import family
from hccbayes.models.survival.family import Anchors
from hccbayes.models.survival.imputation import coords as imputation_coords
from hccbayes.models.survival.imputation import layout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplerSettings:
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    target_accept: float = 0.9
    maxdepth: int = 10
    cores: int | None = None  # None: nutpie's default (all cores)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def structure_key(data: SurvivalData, spec: SurvivalSpec, anchors: Anchors | None = None) -> tuple:
    """What a compiled model is specific to (family, terms, its baseline's shape, regimens); everything else is
    data. ``anchors``: the numbers the baseline priors are centred on, if not the data's own."""
    return family(spec.model).structure_key(data, spec, anchors)


def fitted_structure(data: SurvivalData, spec: SurvivalSpec) -> tuple:
    """The structure key :func:`fit` compiles ``spec`` under: that of the spec as its family resolves it
    from the data (e.g. the PEM's default cut points)."""
    return structure_key(data, family(spec.model).resolve(data, spec))


def priors_json(priors: PriorSet, spec: SurvivalSpec) -> str:
    """The prior set of a fit as stored and hashed: with the baseline settings its family used written out."""
    return family(spec.model).effective_priors(priors).to_json()


def compile_model(model):
    """The nutpie-compiled ``model``, its numba code compiled without fast-math.

    PyTensor compiles for numba with fast-math by default, which lets LLVM reorder floating-point sums
    differently when a function is compiled afresh (inlined into its caller) and when it is loaded from
    PyTensor's on-disk cache (linked separately), and differently on another CPU: one process then drew
    other samples than another for the same seed (measured: a fresh compile and a cached one gave other
    draws after about 1e-13 of difference grew along the chains). Without fast-math the order is the
    source's, and fresh, cached, AVX2 and AVX-512 code give the same draws (tests/test_machines.py);
    sampling speed was the same within noise (0.17 s per Weibull fit either way)."""
    import nutpie
    import pytensor

    with pytensor.config.change_flags(numba__fastmath=False):
        return nutpie.compile_pymc_model(model)


class ModelCache:
    """Compiled nutpie models by structure key; ``compiles`` counts the (expensive) compilations.

    ``threads``: how many threads nutpie may use for a fit whose settings leave ``cores`` unset (None: all
    cores) — set by a worker process that shares the machine with others. The draws do not depend on it
    (each chain has its own seeded stream; tests/test_executors.py), so it is not part of a fit's hash."""

    def __init__(self, threads: int | None = None):
        self._compiled: dict[tuple, Any] = {}
        self._models: dict[tuple, Any] = {}
        self.compiles = 0
        self.threads = threads

    def compiled(self, data: SurvivalData, priors: PriorSet, spec: SurvivalSpec, anchors: Anchors | None = None):
        key = structure_key(data, spec, anchors)
        if key not in self._compiled:
            t0 = time.perf_counter()
            model = family(spec.model).build(data, priors, spec, anchors)
            self._compiled[key] = compile_model(model)
            self._models[key] = model
            self.compiles += 1
            log.info("compiled %s model %s in %.1f s", spec.model, key, time.perf_counter() - t0)
        return self._compiled[key]

    def set_data(self, data: SurvivalData, spec: SurvivalSpec, values: dict, anchors: Anchors | None = None) -> None:
        """Point the compiled PyMC model's shared data at ``values``. ``with_data`` updates only the logp
        function's copy; nutpie's initial-point function runs on the PyMC graph and would otherwise start
        every chain from the support point of the data the model was *compiled* with, so draws depended
        on which analysis happened to compile the structure first (same seed, different draws)."""
        model = self._models[structure_key(data, spec, anchors)]
        for name, value in values.items():
            var = model[name]
            var.set_value(np.asarray(value, dtype=var.get_value().dtype))


DEFAULT_CACHE = ModelCache()


def data_hash(data: SurvivalData) -> str:
    h = hashlib.sha256()
    for arr in data.hash_arrays():
        h.update(np.ascontiguousarray(arr, dtype=float).tobytes())
    h.update(json.dumps(list(data.terms)).encode())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    return tuple((p, version(p)) for p in ("hccbayes", "pymc", "nutpie", "arviz", "numpy", "xarray"))


def versions() -> dict[str, str]:
    """The versions a fit is keyed on (looked up once per process: each lookup reads package metadata,
    ~3 ms, and a full run asks for them twice per fit)."""
    return dict(_versions())


def _relabel(post: xr.Dataset, data: SurvivalData) -> xr.Dataset:
    labels = {"term": list(data.terms)}
    if data.regimen is not None:
        labels.update(regimen=list(data.regimen_names), arm=list(data.arm_names))
    labels.update(imputation_coords(data, layout(data)))
    return post.assign_coords({k: v for k, v in labels.items() if k in post.dims})


# the sample statistics a fit keeps (see the module doc); the others nutpie returns are dropped
SAMPLE_STATS = ("diverging", "energy", "energy_error", "step_size", "n_steps", "depth", "maxdepth_reached",
                "logp", "mean_tree_accept")


def _kept_stats(stats: xr.Dataset) -> xr.Dataset:
    return stats[[name for name in SAMPLE_STATS if name in stats.data_vars]]


_NOTED: set[tuple] = set()  # (model, terms, note) of the data warnings this process has logged

POINTWISE_LIMIT = 50_000_000  # values; above it the per-patient log-likelihood is not stored by default


def fit(data: SurvivalData, priors: PriorSet, spec: SurvivalSpec, settings: SamplerSettings = SamplerSettings(),
        seed: int = 0, cache: ModelCache | None = None, pointwise: bool | None = None):
    """Sample the posterior of ``spec`` on ``data`` under ``priors``; returns a DataTree (see module doc).

    ``pointwise``: store the per-patient groups — log-likelihood (LOO), observed and constant data
    (predictive checks). By default they are stored unless samples × patients exceeds
    ``POINTWISE_LIMIT`` (e.g. a million patients), which is logged.
    """
    import nutpie

    cache = cache or DEFAULT_CACHE
    fam = family(spec.model)
    spec = fam.resolve(data, spec)  # e.g. the PEM's default cut points, chosen once and recorded
    notes = degeneracy_notes(data)
    for note in notes:  # kept with the fit (attrs data_notes, then its rows' notes); said once per process
        said = (spec.model, data.terms, note)
        if said not in _NOTED:
            _NOTED.add(said)
            log.warning("%s, %s: %s (noted with every fit of these data)", spec.model,
                        ", ".join(data.terms) or "no terms", note)
    values = fam.model_data(data, priors, spec)
    compiled = cache.compiled(data, priors, spec).with_data(**values)
    cache.set_data(data, spec, values)
    t0 = time.perf_counter()
    cores = settings.cores or cache.threads
    kwargs = {"cores": cores} if cores else {}
    dt = nutpie.sample(compiled, draws=settings.draws, tune=settings.tune, chains=settings.chains, seed=seed,
                       progress_bar=False, save_warmup=False, target_accept=settings.target_accept,
                       maxdepth=settings.maxdepth, **kwargs)
    seconds = time.perf_counter() - t0
    # the compiled model keeps the coordinate labels of the data it was compiled with: relabel
    post = _relabel(dt["posterior"].to_dataset(), data)
    dt["posterior"] = xr.DataTree(post)
    dt["sample_stats"] = xr.DataTree(_kept_stats(dt["sample_stats"].to_dataset()))
    n_values = post.sizes["chain"] * post.sizes["draw"] * data.n
    if pointwise is None:
        pointwise = n_values <= POINTWISE_LIMIT
        if not pointwise:
            log.warning("not storing the per-patient log-likelihood and data groups (%d values; LOO and "
                        "predictive checks unavailable): pass pointwise=True to force them", n_values)
    if pointwise:
        patient = xr.Coordinates({"patient": data.ids})  # built once (costly for a million ids), shared
        ll = fam.pointwise_loglik(post, data, spec).reshape(post.sizes["chain"], post.sizes["draw"], data.n)
        dt["log_likelihood"] = xr.DataTree(xr.Dataset({"y": (("chain", "draw", "patient"), ll)},
                                                      coords={"chain": post.chain, "draw": post.draw,
                                                              **patient}))
        dt["observed_data"] = xr.DataTree(xr.Dataset({"time": ("patient", data.time),
                                                      "event": ("patient", data.event)}, coords=patient))
        dt["constant_data"] = xr.DataTree(xr.Dataset({"X": (("patient", "term"), data.X)},
                                                     coords={**patient, "term": list(data.terms)}))
    dt["log_prior"] = xr.DataTree(fam.log_prior(post, data, priors, spec))
    auxiliary = (*fam.auxiliary, "regimen_z")  # non-centred z variables: no prior one chooses
    diag = diagnose(dt, var_names=[v for v in post.data_vars if v not in auxiliary] or None)
    dt.attrs.update({
        "spec": spec.to_json(), "priors": priors_json(priors, spec), "prior_set": priors.name,
        "prior_description": priors.description, "sampler": json.dumps(settings.to_dict()), "seed": seed,
        "data_hash": data_hash(data), "versions": json.dumps(versions()), "diagnostics": json.dumps(diag.to_dict()),
        "sampling_seconds": seconds, "n_patients": data.n, "n_events": data.events,
        "data_notes": json.dumps(notes),
        # the spec as fitted, with what the family chose from the data (the stored spec is the requested one)
        "fitted_spec": spec.to_json(),
    })
    log.info("%s fit (%s prior set): %.2f s sampling, diagnostics %s", spec.model, priors.name, seconds,
             "ok" if diag.ok else "; ".join(diag.problems()))
    return dt


def diagnostics_of(dt) -> Diagnostics:
    return Diagnostics(**{k: v for k, v in json.loads(dt.attrs["diagnostics"]).items() if k != "ok"})


def with_more_care(settings: SamplerSettings) -> SamplerSettings:
    """Settings for the one automatic refit after divergences: higher target_accept, more tuning."""
    return replace(settings, target_accept=max(0.95, min(0.99, settings.target_accept + 0.05)),
                   tune=settings.tune * 2)
