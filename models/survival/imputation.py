"""Bayesian imputation of missing covariate values inside a survival model (``missing = "impute"``).

A missing value is a NaN in :attr:`SurvivalData.X <hccbayes.models.survival.arrays.SurvivalData.X>`; every
patient stays in the analysis. The covariate model, one per term with missing values, independent of the other
covariates and of the outcome's parameters:

* **continuous term**: on the standardised scale z = (x − mean)/sd (mean and sd of the observed values, as the
  design standardises the term; a per-unit term is imputed on that scale too and entered in its own unit),
  z ~ Normal(μ, σ) for every patient, observed or not, with μ ~ Normal(0, 1) and σ ~ HalfNormal(1); the
  missing values are latent parameters ``x_missing`` (on the z scale), informed by μ, σ and by the patient's
  own outcome through the survival likelihood;
* **binary term** (a 0/1 factor): x ~ Bernoulli(π), π ~ Beta(1, 1) (``p_binary``), the observed values
  informing π. A missing value is **marginalised exactly** (the sampler cannot draw discrete values): the
  patient's likelihood is Σ_x P(x | π)·L(y | x), over the 2^k combinations of the k binary terms the patient
  misses (k ≤ :data:`MAX_BINARY`).

The patients with a missing value are the likelihood's own rows ("expanded rows": one per combination of their
missing binary values), never aggregated into covariate patterns; the other patients are the family's usual rows
(the piecewise-exponential family's sufficient statistics included). The missing pattern is part of a compiled
model's structure (:func:`structure`).

Downstream, per posterior draw (:func:`expanded_draws`): continuous values are the draw's latent ones; a
missing binary value is weighted by its conditional posterior given the draw's parameters and the patient's
outcome, P(x | y, θ, π) ∝ P(x | π)·L(y | x, θ). Standardised curves average the patients' curves as that exact
mixture (no sampling), the pointwise log-likelihood (LOO) is the marginal log Σ_x P(x | π)·L(y | x), and
predictive checks draw x from its conditional posterior. Limits: a factor with more than two levels (several
indicators of one column) and terms that are neither continuous nor 0/1 are refused (:func:`check_terms`), as
is simulation-based calibration of an imputation model.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from hccbayes.models.survival.arrays import SpecError, SurvivalData

MAX_BINARY = 3  # missing binary values of one patient marginalised over 2^k combinations: at most 8
WORDS = ("Missing covariate values (analyses with missing = \"impute\") are imputed inside each survival model, "
         "every patient kept: a continuous term's values are Normal(μ, σ) on its standardised scale (mean and sd "
         "of the observed values), μ ~ Normal(0, 1), σ ~ HalfNormal(1), its missing values parameters sampled "
         "with the rest; a binary term's values are Bernoulli(π), π ~ Beta(1, 1), and a missing value is "
         "marginalised exactly (the patient's likelihood is the π-weighted sum over both values, over every "
         "combination when a patient misses several). Terms are imputed independently of each other, informed "
         "by their observed values and by the patient's own outcome through the survival likelihood (valid "
         "when values are missing at random given the outcome and not dependent on the other covariates). "
         "Standardised curves, medians and RMST average each such patient over the posterior of their missing "
         "values, draw by draw; the frequentist reference rows use the complete cases.")


@dataclass(frozen=True)
class Layout:
    """Where the missing values are and the expanded rows they make (see the module docstring)."""

    patients: np.ndarray  # (m,) rows of the patients with a missing value
    continuous: tuple[int, ...]  # term indices of continuous terms with missing values
    binary: tuple[int, ...]  # term indices of binary terms with missing values
    loc: np.ndarray  # (p,) design value = loc + scale·z (0 and 1 for a standardised term)
    scale: np.ndarray  # (p,)
    cell_row: np.ndarray  # (q,) data row of each missing continuous value (row-major: patient, then term)
    cell_term: np.ndarray  # (q,) its term index
    exp_patient: np.ndarray  # (E,) index into ``patients`` of each expanded row
    exp_X: np.ndarray  # (E, p) uncentred design: binary combinations filled in, NaN at continuous missing cells
    ones: np.ndarray  # (E, B) 1 where the row sets a missing binary value of term ``binary[b]`` to 1
    zeros: np.ndarray  # (E, B) 1 where it sets it to 0
    slots: np.ndarray  # (m, K) the expanded rows of each patient, padded with its first
    pad: np.ndarray  # (m, K) 0, or −inf at a padding slot

    @property
    def exp_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(expanded row, term, index into the missing values) of every continuous missing cell of every row."""
        rows, terms = np.nonzero(np.isnan(self.exp_X))
        latent = np.searchsorted(self.cell_row * len(self.loc) + self.cell_term,
                                 self.patients[self.exp_patient[rows]] * len(self.loc) + terms)
        return rows, terms, latent


def _binary(x: np.ndarray) -> bool:
    seen = x[~np.isnan(x)]
    return bool(np.isin(seen, (0.0, 1.0)).all())


def check_terms(data: SurvivalData, sources: dict[str, str] | None = None) -> None:
    """Refuse what this model cannot impute: a term with missing values that is neither continuous nor 0/1, two
    binary terms with missing values coding one column (a factor with more than two levels: the indicators are not
    independent Bernoullis), a patient missing more than :data:`MAX_BINARY` binary terms."""
    sources = sources or {}
    missing = [j for j in range(len(data.terms)) if np.isnan(data.X[:, j]).any()]
    seen: dict[str, str] = {}
    for j in missing:
        t = data.terms[j]
        if t in data.scale:
            continue
        if not _binary(data.X[:, j]):
            raise SpecError(f"term {t!r} has missing values but is neither continuous (list it under `continuous`) "
                            "nor a 0/1 factor: it cannot be imputed — use missing = \"complete_case\"")
        src = sources.get(t)
        if src is not None and src in seen:
            raise SpecError(f"terms {seen[src]!r} and {t!r} code one column {src!r} with missing values: imputing a "
                            "factor of more than two levels is not offered — use missing = \"complete_case\"")
        if src is not None:
            seen[src] = t
    binary = [j for j in missing if data.terms[j] not in data.scale]
    if binary:
        per_patient = np.isnan(data.X[:, binary]).sum(axis=1)
        if per_patient.max() > MAX_BINARY:
            row = int(np.argmax(per_patient))
            raise SpecError(f"patient {data.ids[row]} misses {int(per_patient[row])} binary terms; imputation "
                            f"marginalises at most {MAX_BINARY} per patient — use missing = \"complete_case\" or "
                            "fewer terms")


def layout(data: SurvivalData) -> Layout | None:
    """The missing values of ``data`` and their expanded rows; None when nothing is missing."""
    gaps = np.isnan(data.X)
    if not gaps.any():
        return None
    check_terms(data)
    p = len(data.terms)
    cols = np.flatnonzero(gaps.any(axis=0))
    continuous = tuple(int(j) for j in cols if data.terms[j] in data.scale)
    binary = tuple(int(j) for j in cols if data.terms[j] not in data.scale)
    loc, scale = np.zeros(p), np.ones(p)
    for j, t in enumerate(data.terms):
        if t in data.per_unit:  # entered in its own unit, imputed on the standardised scale
            loc[j], scale[j] = data.scale[t]
    patients = np.flatnonzero(gaps.any(axis=1))
    cell_row, cell_term = np.nonzero(gaps[:, list(continuous)]) if continuous else (np.zeros(0, int),) * 2
    cell_term = np.asarray(continuous, dtype=np.int64)[cell_term] if continuous else cell_term
    rows, owner, ones, zeros = [], [], [], []
    for i, r in enumerate(patients):
        miss = [b for b, j in enumerate(binary) if gaps[r, j]]
        for combo in itertools.product((0.0, 1.0), repeat=len(miss)):
            x = data.X[r].copy()
            one, zero = np.zeros(len(binary)), np.zeros(len(binary))
            for b, v in zip(miss, combo):
                x[binary[b]] = v
                (one if v else zero)[b] = 1.0
            rows.append(x), owner.append(i), ones.append(one), zeros.append(zero)
    owner = np.asarray(owner, dtype=np.int64)
    counts = np.bincount(owner, minlength=patients.size)
    K = int(counts.max())
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    k = np.arange(K)[None, :]
    slots = np.where(k < counts[:, None], first[:, None] + k, first[:, None])
    pad = np.where(k < counts[:, None], 0.0, -np.inf)
    return Layout(patients, continuous, binary, loc, scale, cell_row.astype(np.int64), cell_term.astype(np.int64),
                  owner, np.asarray(rows), np.asarray(ones).reshape(len(rows), -1),
                  np.asarray(zeros).reshape(len(rows), -1), slots.astype(np.int64), pad)


def structure(lay: Layout | None) -> tuple:
    """What a compiled model with these missing values is specific to (their numbers and terms)."""
    if lay is None:
        return ()
    return ("impute", lay.continuous, lay.binary, lay.cell_row.size, lay.patients.size, lay.exp_patient.size,
            lay.slots.shape[1])


def coords(data: SurvivalData, lay: Layout | None) -> dict[str, list]:
    if lay is None:
        return {}
    return {"imputed_value": [f"{data.ids[r]}:{data.terms[j]}" for r, j in zip(lay.cell_row, lay.cell_term)],
            "imputed_term": [data.terms[j] for j in lay.continuous],
            "imputed_binary": [data.terms[j] for j in lay.binary]}


def complete_rows(data: SurvivalData, lay: Layout) -> SurvivalData:
    """The patients without a missing value (the family's usual rows), centred like the whole data."""
    keep = np.ones(data.n, dtype=bool)
    keep[lay.patients] = False
    return _rows(data, np.flatnonzero(keep), data.X[keep])


def expanded_rows(data: SurvivalData, lay: Layout) -> SurvivalData:
    """One row per expanded row (continuous missing cells at the centre: the model fills them in)."""
    X = np.where(np.isnan(lay.exp_X), data.center[None, :], lay.exp_X)
    return _rows(data, lay.patients[lay.exp_patient], X)


def _rows(data: SurvivalData, rows: np.ndarray, X: np.ndarray) -> SurvivalData:
    return SurvivalData(time=data.time[rows], event=data.event[rows], X=X, terms=data.terms, ids=data.ids[rows],
                        arm=None if data.arm is None else data.arm[rows], arm_names=data.arm_names,
                        regimen=None if data.regimen is None else data.regimen[rows],
                        regimen_names=data.regimen_names, regimen_arm=data.regimen_arm, scale=data.scale,
                        per_unit=data.per_unit, center=data.center)


def observed_stats(data: SurvivalData, lay: Layout) -> dict[str, np.ndarray]:
    """Sufficient statistics of the observed values: n, Σz, Σz² per continuous term; ones and zeros per binary."""
    out = {}
    if lay.continuous:
        z = [(data.X[:, j] - lay.loc[j]) / lay.scale[j] for j in lay.continuous]
        z = [v[~np.isnan(v)] for v in z]
        out.update(imp_n=np.array([v.size for v in z], float), imp_s1=np.array([v.sum() for v in z]),
                   imp_s2=np.array([(v * v).sum() for v in z]))
    if lay.binary:
        x = [data.X[:, j][~np.isnan(data.X[:, j])] for j in lay.binary]
        out.update(imp_n1=np.array([v.sum() for v in x]), imp_n0=np.array([(1.0 - v).sum() for v in x]))
    return out


def design_draws(lay: Layout, z: np.ndarray | None, n_draws: int) -> np.ndarray:
    """The expanded rows' uncentred design for every draw: (S, E, p), continuous missing cells from the draws'
    latent values ``z`` (S, q) on the standardised scale."""
    X = np.repeat(lay.exp_X[None, :, :], n_draws, axis=0)
    if lay.continuous:
        rows, terms, latent = lay.exp_cells
        X[:, rows, terms] = lay.loc[terms] + lay.scale[terms] * z[:, latent]
    return X


def log_weights(lay: Layout, p: np.ndarray | None, n_draws: int) -> np.ndarray:
    """log P(binary combination of each expanded row | π) for every draw: (S, E); π (S, B)."""
    if not lay.binary:
        return np.zeros((n_draws, lay.exp_patient.size))
    return np.log(p) @ lay.ones.T + np.log1p(-p) @ lay.zeros.T


def _by_patient(lay: Layout, values: np.ndarray) -> np.ndarray:
    """(S, E) -> (S, m, K) by each patient's slots, padding slots at −inf."""
    return values[:, lay.slots] + lay.pad[None, :, :]


def marginal_loglik(lay: Layout, loglik: np.ndarray, logw: np.ndarray) -> np.ndarray:
    """log Σ_x P(x | π)·L(y | x) of each patient with a missing value, per draw: (S, m)."""
    a = _by_patient(lay, loglik + logw)
    top = a.max(axis=2, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=2, keepdims=True)))[:, :, 0]


def posterior_weights(lay: Layout, loglik: np.ndarray, logw: np.ndarray) -> np.ndarray:
    """P(expanded row | y, θ, π) per draw: (S, E), summing to 1 over each patient's rows (1 without binary gaps)."""
    return np.exp(loglik + logw - marginal_loglik(lay, loglik, logw)[:, lay.exp_patient])


def choose_rows(lay: Layout, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One expanded row per draw and patient, drawn with the posterior ``weights``: (S, m) indices into E."""
    cum = np.cumsum(weights[:, lay.slots] * (lay.pad == 0.0)[None, :, :], axis=2)  # (S, m, K)
    u = rng.random(cum.shape[:2])[:, :, None] * cum[:, :, -1:]
    k = np.minimum((cum <= u).sum(axis=2), lay.slots.shape[1] - 1)
    return lay.slots[np.arange(lay.patients.size)[None, :], k]
