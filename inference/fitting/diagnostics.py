"""Convergence diagnostics of one fit, as a small record that goes into every table row.

Thresholds (defaults): R-hat ≤ 1.01, bulk and tail ESS ≥ 400, no divergent transitions, E-BFMI ≥ 0.3
in every chain (Vehtari et al. 2021; Betancourt 2016).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

RHAT_MAX = 1.01
ESS_MIN = 400.0
BFMI_MIN = 0.3


@dataclass(frozen=True)
class Diagnostics:
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    min_bfmi: float
    draws: int
    chains: int

    @property
    def ok(self) -> bool:
        return (self.max_rhat <= RHAT_MAX and self.min_ess_bulk >= ESS_MIN and self.min_ess_tail >= ESS_MIN
                and self.divergences == 0 and self.min_bfmi >= BFMI_MIN)

    def problems(self) -> list[str]:
        out = []
        if self.max_rhat > RHAT_MAX:
            out.append(f"R-hat {self.max_rhat:.3f} > {RHAT_MAX}")
        if self.min_ess_bulk < ESS_MIN:
            out.append(f"bulk ESS {self.min_ess_bulk:.0f} < {ESS_MIN:.0f}")
        if self.min_ess_tail < ESS_MIN:
            out.append(f"tail ESS {self.min_ess_tail:.0f} < {ESS_MIN:.0f}")
        if self.divergences:
            out.append(f"{self.divergences} divergent transitions")
        if self.min_bfmi < BFMI_MIN:
            out.append(f"E-BFMI {self.min_bfmi:.2f} < {BFMI_MIN}")
        return out

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def _extreme(tree, fn) -> float:
    values = [np.asarray(v.values, dtype=float).ravel() for v in tree.data_vars.values()]
    values = [v[np.isfinite(v)] for v in values if v.size]
    values = [v for v in values if v.size]
    return float(fn(np.concatenate(values))) if values else float("nan")


def diagnose(dt, var_names: list[str] | None = None) -> Diagnostics:
    """Diagnostics of the sampled (free and deterministic) parameters of a posterior DataTree."""
    post = dt["posterior"].to_dataset()
    names = var_names or [n for n in post.data_vars]
    import arviz as az  # here, not at module level: the report imports this module's thresholds only

    rhat = az.rhat(dt, var_names=names)
    ess_bulk = az.ess(dt, var_names=names, method="bulk")
    ess_tail = az.ess(dt, var_names=names, method="tail")
    bfmi = np.asarray(az.bfmi(dt)["energy"].values, dtype=float) if "energy" in dt["sample_stats"] else np.array([np.nan])
    div = int(np.asarray(dt["sample_stats"]["diverging"].values).sum())
    return Diagnostics(
        max_rhat=_extreme(rhat.to_dataset(), np.max), min_ess_bulk=_extreme(ess_bulk.to_dataset(), np.min),
        min_ess_tail=_extreme(ess_tail.to_dataset(), np.min), divergences=div,
        min_bfmi=float(np.nanmin(bfmi)), draws=int(post.sizes["draw"]), chains=int(post.sizes["chain"]))
