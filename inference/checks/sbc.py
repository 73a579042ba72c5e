"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018).

For each simulation i: θ_i ~ prior, y_i ~ p(y | θ_i), L thinned posterior draws given y_i, and the rank
of θ_i among them (0..L, ties broken at random). If the sampler and the model code are right, every
parameter's ranks are discrete-uniform on 0..L. Two tests per parameter:

* **chi-square** on B equal bins of the ranks (B divides L + 1 and keeps ≥ 5 expected per bin);
* **ECDF / KS**: D = max_k |F̂(k) − (k + 1)/(L + 1)|, its p-value and a simultaneous 99% band for the
  ECDF-difference plot by Monte Carlo under exact discrete uniformity (seeded).

Decision: Holm's step-down correction over all tests (2 per parameter) of one model at α = 0.01; a
model passes when no parameter is rejected. Simulations come from :mod:`.sbc_models` and run as tasks
through :mod:`.executors` (inline, local processes or Dask), with each result stored as soon as it
arrives in ``OUT/sims/<model>/`` so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from hccbayes.atomic import write_csv, write_text
from hccbayes.inference.checks.sbc_models import MODEL_NAMES, SBCSettings, rank_with_ties  # noqa: F401 (re-export)
from hccbayes.inference.engine.executors import Task, run_tasks
from hccbayes.inference.engine.json_store import JsonStore

log = logging.getLogger(__name__)

SBC_KIND = "hccbayes.inference.checks.sbc_models:sbc_sim"
ALPHA = 0.01
MC_REPS = 4000  # Monte Carlo replicates of the ECDF statistic under uniformity (p-value error <= 0.008)


def sim_seed(seed: int, model: str, i: int) -> int:
    """The seed of simulation i of a model: a hash of (run seed, model, i), 31 bits."""
    return int(hashlib.sha256(f"{seed}:{model}:{i}".encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def sbc_tasks(model: str, n_sims: int, settings: SBCSettings, seed: int) -> list[Task]:
    if model not in MODEL_NAMES:
        raise KeyError(f"unknown SBC model {model!r}; use one of {', '.join(MODEL_NAMES)}")
    args = {"model": model, "settings": settings.to_dict()}
    return [Task.make(f"{model}-{i:05d}", SBC_KIND, args, sim_seed(seed, model, i)) for i in range(n_sims)]


def default_bins(n_sims: int, L: int, max_bins: int = 20) -> int:
    """The largest divisor of L + 1 that is ≤ max_bins and leaves ≥ 5 expected ranks per bin (≥ 2)."""
    cap = max(2, min(max_bins, n_sims // 5))
    return max([d for d in range(2, cap + 1) if (L + 1) % d == 0] or [2])


def chi_square(ranks: np.ndarray, L: int, bins: int) -> tuple[float, int, float]:
    """Pearson chi-square of the binned ranks against uniform: (statistic, df, p)."""
    counts = np.bincount(np.asarray(ranks) * bins // (L + 1), minlength=bins)
    res = stats.chisquare(counts)
    return float(res.statistic), bins - 1, float(res.pvalue)


def _ecdf_diff(ranks: np.ndarray, L: int) -> np.ndarray:
    """F̂(k) − (k + 1)/(L + 1) for k = 0..L − 1; ranks: (..., N)."""
    ranks = np.asarray(ranks)
    rows = ranks.reshape(-1, ranks.shape[-1])
    flat = (np.arange(rows.shape[0])[:, None] * (L + 1) + rows).ravel()
    counts = np.bincount(flat, minlength=rows.shape[0] * (L + 1)).reshape(*ranks.shape[:-1], L + 1)
    ecdf = np.cumsum(counts, axis=-1)[..., :L] / ranks.shape[-1]
    return ecdf - np.arange(1, L + 1) / (L + 1)


@lru_cache(maxsize=32)
def null_ecdf_stats(n_sims: int, L: int, seed: int = 20180406, reps: int = MC_REPS) -> np.ndarray:
    """The KS statistic D of ``reps`` sets of n_sims exactly uniform ranks (the null distribution)."""
    rng = np.random.default_rng([seed, n_sims, L])
    null = np.abs(_ecdf_diff(rng.integers(0, L + 1, (reps, n_sims)), L)).max(axis=1)
    null.flags.writeable = False
    return null


def ecdf_test(ranks: np.ndarray, L: int, null: np.ndarray) -> tuple[float, float]:
    """(D, Monte Carlo p) of the ranks' ECDF against discrete uniformity."""
    d = float(np.abs(_ecdf_diff(ranks, L)).max())
    return d, float((1 + np.sum(null >= d - 1e-12)) / (1 + null.size))


def holm(pvalues: np.ndarray) -> np.ndarray:
    from statsmodels.stats.multitest import multipletests

    return multipletests(np.asarray(pvalues, float), method="holm")[1] if len(pvalues) else np.array([])


def summarise(ranks: pd.DataFrame, L: int, alpha: float = ALPHA, bins: int | None = None) -> pd.DataFrame:
    """One row per (model, parameter): both tests, Holm-adjusted p within the model, decision."""
    rows = []
    for model, sub in ranks.groupby("model", sort=False):
        n = sub["sim"].nunique()
        b = bins or default_bins(n, L)
        null = null_ecdf_stats(n, L)
        part = []
        for param, r in sub.groupby("parameter", sort=False):
            chi, df, p_chi = chi_square(r["rank"].to_numpy(), L, b)
            d, p_ks = ecdf_test(r["rank"].to_numpy(), L, null)
            part.append({"model": model, "parameter": param, "n_sims": len(r), "L": L, "bins": b,
                         "chi2": chi, "df": df, "p_chi2": p_chi, "ks_D": d, "p_ks": p_ks})
        adj = holm([x for row in part for x in (row["p_chi2"], row["p_ks"])]).reshape(-1, 2)
        for row, (a_chi, a_ks) in zip(part, adj):
            row.update(p_chi2_holm=a_chi, p_ks_holm=a_ks, rejected=bool(min(a_chi, a_ks) < alpha))
        rows += part
    return pd.DataFrame(rows)


def histogram_data(ranks: pd.DataFrame, L: int, bins: int) -> pd.DataFrame:
    """Binned rank counts with the expected count and its pointwise 99% binomial range."""
    out = []
    for (model, param), r in ranks.groupby(["model", "parameter"], sort=False):
        counts = np.bincount(r["rank"].to_numpy() * bins // (L + 1), minlength=bins)
        n = len(r)
        lo, hi = stats.binom.ppf([0.005, 0.995], n, 1.0 / bins)
        out += [{"model": model, "parameter": param, "bin": b, "count": int(c), "expected": n / bins,
                 "lower99": lo, "upper99": hi} for b, c in enumerate(counts)]
    return pd.DataFrame(out)


def ecdf_data(ranks: pd.DataFrame, L: int) -> pd.DataFrame:
    """ECDF difference at each rank with the simultaneous 99% band (KS null quantile)."""
    out = []
    for (model, param), r in ranks.groupby(["model", "parameter"], sort=False):
        band = float(np.quantile(null_ecdf_stats(len(r), L), 0.99))
        diff = _ecdf_diff(r["rank"].to_numpy(), L)
        out += [{"model": model, "parameter": param, "z": (k + 1) / (L + 1), "ecdf_diff": float(v),
                 "band": band} for k, v in enumerate(diff)]
    return pd.DataFrame(out)


@dataclass
class SBCResult:
    ranks: pd.DataFrame
    summary: pd.DataFrame
    seconds: float
    computed: int
    skipped: int
    files: list[Path]
    hist: pd.DataFrame | None = None  # rank histogram per model and parameter (hist.csv)
    ecdf: pd.DataFrame | None = None  # ECDF-difference bands (ecdf.csv)

    @property
    def passed(self) -> bool:
        return not bool(self.summary["rejected"].any())


def collect(tasks: list[Task], store: JsonStore) -> pd.DataFrame:
    rows = []
    for t in tasks:
        res = store.load(t)
        model, sim = t.key.rsplit("-", 1)
        rows += [{"model": model, "sim": int(sim), "seed": t.seed, "parameter": p, "rank": int(r),
                  "prior": res["prior"][p], "divergences": res["divergences"]} for p, r in res["ranks"].items()]
    return pd.DataFrame(rows)


def run_sbc(models: list[str], n_sims: int, executor, out: str | Path, seed: int = 0,
            settings: SBCSettings = SBCSettings(), alpha: float = ALPHA) -> SBCResult:
    """Run SBC for ``models`` through ``executor`` into ``out`` (ranks.csv, summary.csv, summary.md,
    hist.csv, ecdf.csv); resumes from ``out/sims``. The figures are drawn from ``hist`` and ``ecdf`` by
    :func:`hccbayes.reports.sbc_figures.write_figures` (the ``sbc`` command does)."""
    out = Path(out)
    t0 = time.perf_counter()
    tasks = [t for m in models for t in sbc_tasks(m, n_sims, settings, seed)]
    stores = {m: JsonStore(out / "sims" / m) for m in models}
    store_of = lambda t: stores[t.key.rsplit("-", 1)[0]]  # noqa: E731
    stats_ = run_tasks(tasks, executor, lambda t, r: store_of(t).save(t, r), done=lambda t: store_of(t).valid(t))
    ranks = pd.concat([collect([t for t in tasks if t.key.startswith(m + "-")], stores[m]) for m in models],
                      ignore_index=True)
    L = settings.rank_draws
    summary = summarise(ranks, L, alpha)
    seconds = time.perf_counter() - t0
    files = [_write_csv(ranks, out / "ranks.csv"), _write_csv(summary, out / "summary.csv")]
    hist = pd.concat([histogram_data(ranks[ranks["model"] == m], L, int(summary.loc[summary["model"] == m, "bins"]
                                                                           .iloc[0])) for m in models])
    ecdf = ecdf_data(ranks, L)
    files += [_write_csv(hist, out / "hist.csv"), _write_csv(ecdf, out / "ecdf.csv")]
    result = SBCResult(ranks, summary, seconds, len(stats_.computed), len(stats_.skipped), files, hist, ecdf)
    write_text(out / "summary.md", summary_markdown(result, settings, alpha))
    files.append(out / "summary.md")
    log.info("SBC of %s: %d simulations computed, %d reused, %.1f s", ", ".join(models), result.computed,
             result.skipped, seconds)
    return result


def _write_csv(df: pd.DataFrame, path: Path) -> Path:
    return write_csv(df, path)


def summary_markdown(result: SBCResult, settings: SBCSettings, alpha: float) -> str:
    """The per-model, per-parameter table (test statistics, p, Holm-adjusted p, decision) as Markdown."""
    lines = [f"SBC: L = {settings.rank_draws} thinned draws of {settings.chains} x {settings.draws} "
             f"(tune {settings.tune}, target_accept {settings.target_accept:g}); Holm over both tests of all "
             f"parameters of a model at alpha = {alpha}.", ""]
    for model, sub in result.summary.groupby("model", sort=False):
        r = result.ranks[result.ranks["model"] == model]
        div = r.groupby("sim")["divergences"].first()
        lines += [f"### {model}: {'PASS' if not sub['rejected'].any() else 'FAIL'} "
                  f"({sub['n_sims'].iloc[0]} simulations, {sub['bins'].iloc[0]} bins; "
                  f"{int((div > 0).sum())} fits with divergences)", "",
                  "| parameter | chi2 (df) | p | ECDF D | p | Holm p (chi2, ECDF) | decision |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {x.parameter} | {x.chi2:.1f} ({x.df}) | {x.p_chi2:.3f} | {x.ks_D:.3f} | {x.p_ks:.3f} | "
                  f"{x.p_chi2_holm:.3f}, {x.p_ks_holm:.3f} | {'reject' if x.rejected else 'ok'} |"
                  for x in sub.itertuples()]
        lines.append("")
    return "\n".join(lines)
