"""The imputation's part of a survival model's PyMC graph (the model is in
:mod:`hccbayes.models.survival.imputation`): its model data and its variables.

Added after the family's own likelihood of the complete patients: the covariate models with their observed values
(potentials on sufficient statistics), the latent missing continuous values, and one potential with the
patients who miss a value — per patient log Σ_x P(x | π)·L(y | x), over the expanded rows of their missing
binary values, each row's log-likelihood from the family's own log hazard and log cumulative hazard. The linear
predictor goes through :func:`~hccbayes.models.survival.likelihood.rowdot` (no BLAS dot), so draws stay
bit-identical across processes.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hccbayes.models.survival.arrays import SurvivalData
from hccbayes.models.survival.imputation import Layout, observed_stats
from hccbayes.models.survival.likelihood import censored_loglik, linear_predictor, rowdot


def model_values(data: SurvivalData, lay: Layout, rows: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Model data of the imputation: ``rows`` are the family's patient rows of the expanded rows
    (:func:`~hccbayes.models.survival.imputation.expanded_rows`), stored under ``imp_<name>``."""
    out = {f"imp_{k}": np.asarray(v) for k, v in rows.items()}
    if lay.continuous:  # (E, C): which missing value each row has in each continuous term, and its affine map
        rows, terms, latent = lay.exp_cells
        col = np.array([lay.continuous.index(j) for j in terms], dtype=np.int64)
        shape = (lay.exp_patient.size, len(lay.continuous))
        which, shift, scale = np.zeros(shape, np.int64), np.zeros(shape), np.zeros(shape)
        which[rows, col], shift[rows, col], scale[rows, col] = latent, lay.loc[terms] - data.center[terms], lay.scale[terms]
        out.update(imp_cell_which=which.ravel(), imp_cell_shift=shift, imp_cell_scale=scale,
                   imp_value_term=np.array([lay.continuous.index(j) for j in lay.cell_term], dtype=np.int64))
    if lay.binary:
        out.update(imp_ones=lay.ones, imp_zeros=lay.zeros)
    out.update(imp_slots=lay.slots.ravel(), imp_pad=lay.pad, **observed_stats(data, lay))
    return out


def add_imputed(fam, md, setup: Mapping[str, Any], theta: Mapping[str, Any], lay: Layout) -> None:
    """The imputation's variables and potentials (inside the model context, after the family's likelihood);
    ``md``: the model data (:class:`~hccbayes.models.survival.packing.PackedData`)."""
    import pymc as pm
    import pytensor.tensor as pt

    model = pm.modelcontext(None)

    def data(name):
        return md[name]

    eta = linear_predictor(data("imp_X"), model["log_hr"], None)  # continuous missing cells at the centre
    if lay.continuous:
        mu = pm.Normal("x_mean", 0.0, 1.0, dims="imputed_term")
        sigma = pm.HalfNormal("x_sd", 1.0, dims="imputed_term")
        n, s1, s2 = data("imp_n"), data("imp_s1"), data("imp_s2")
        pm.Potential("x_observed", (-n * pt.log(sigma) - (s2 - 2.0 * mu * s1 + n * mu**2) / (2.0 * sigma**2)).sum())
        which = data("imp_value_term")
        z = pm.Normal("x_missing", mu[which], sigma[which], dims="imputed_value")
        shift, scale = data("imp_cell_shift"), data("imp_cell_scale")  # 0 where a row has the term's value
        value = shift + scale * z[data("imp_cell_which")].reshape(shift.shape)  # centred missing values (E, C)
        eta = eta + rowdot(value, model["log_hr"][list(lay.continuous)])
    logw = 0.0
    if lay.binary:
        p = pm.Beta("p_binary", 1.0, 1.0, dims="imputed_binary")
        pm.Potential("binary_observed", (data("imp_n1") * pt.log(p) + data("imp_n0") * pt.log1p(-p)).sum())
        logw = rowdot(data("imp_ones"), pt.log(p)) + rowdot(data("imp_zeros"), pt.log1p(-p))
    regimen = "imp_regimen_idx" in md
    if regimen:
        eta = eta + model["regimen_deviation"][data("imp_regimen_idx")]
    basis = {k: data(f"imp_{k}") for k in fam.time_basis(np.ones(1), setup)}  # the family's time basis
    local = {**setup, **{k: md[k] for k in fam.graph_constants}}
    ll = censored_loglik(data("imp_event"), fam.log_hazard(basis, local, theta, eta, pt),
                         pt.exp(fam.log_cum_hazard(basis, local, theta, eta, pt)))
    pad = data("imp_pad")
    by_patient = (ll + logw)[data("imp_slots")].reshape(pad.shape) + pad  # 1-d gathers: fast gradients
    pm.Potential("y_imputed", pt.logsumexp(by_patient, axis=1).sum())

