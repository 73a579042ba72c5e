"""The "Model checks" section: the run's ``checks/`` files (written by
:func:`hccbayes.inference.checks.run_checks.run_checks`) as tables — PSIS-LOO between models (elpd
difference, its SE, Pareto k), posterior predictive KM coverage, power-scaling diagnoses and prior
predictive intervals. A run without ``checks/`` gets one sentence saying so.
"""
from __future__ import annotations

import pandas as pd

from hccbayes.models.survival.families import FAMILIES
from hccbayes.reports.document import Heading, Para, Table
from hccbayes.reports.numbers import fmt, fmt_interval

K_BAD = 0.7  # Pareto k above which a PSIS-LOO term is unreliable (as in inference.model_checks)
OK = "✓"


def short(model: str) -> str:
    """A survival family's short name ("Weibull", "PEM"); other names as they are."""
    return FAMILIES[model].short if model in FAMILIES else model


def _read(run, name: str) -> pd.DataFrame | None:
    path = run.path / "checks" / f"{name}.csv"
    return pd.read_csv(path) if path.is_file() else None


def _loo_table(loo: pd.DataFrame) -> Table:
    show = pd.DataFrame({
        "Analysis": loo["analysis"], "Prior set": loo["prior_set"], "Model": loo["model"],
        "elpd LOO": loo["elpd_loo"].map(lambda v: fmt(v, "real")),
        "elpd diff": loo["elpd_diff"].map(lambda v: fmt(v, "real")) if "elpd_diff" in loo else "",
        "SE diff": loo["dse"].map(lambda v: fmt(v, "real")) if "dse" in loo else "",
        "Max Pareto k": loo["max_k"].map(lambda v: fmt(v, "real")),
        f"k > {K_BAD}": loo["n_k_gt_0.7"].map(lambda v: fmt(v, "count"))}).fillna("")
    return Table("checks_loo", "PSIS-LOO per survival analysis: elpd of each model, difference to the best model "
                 "(0 for the best) with its SE, and the Pareto k diagnostic", show, collapsed=True)


def _ppc_table(ppc: pd.DataFrame) -> Table:
    show = pd.DataFrame({"Analysis": ppc["analysis"], "Model": ppc["model"], "Prior set": ppc["prior_set"],
                         "Group": ppc["group"].astype(str), "n": ppc["n"].map(lambda v: fmt(v, "count")),
                         "Coverage": ppc["coverage"].map(lambda v: fmt(v, "percent"))})
    return Table("checks_ppc", "Posterior predictive check: share of the time grid where the observed Kaplan–Meier "
                 "curve lies inside the pointwise 90% band of replicated curves (same censoring pattern)", show,
                 collapsed=True)


def _psense_table(ps: pd.DataFrame) -> Table:
    show = pd.DataFrame({"Analysis": ps["analysis"], "Model": ps["model"], "Prior set": ps["prior_set"],
                         "Parameter": ps["parameter"], "Prior": ps["prior"].map(lambda v: fmt(v, "real")),
                         "Likelihood": ps["likelihood"].map(lambda v: fmt(v, "real")),
                         "Diagnosis": ps["diagnosis"]})
    return Table("checks_psense", "Power-scaling sensitivity (cumulative Jensen–Shannon distance derivative; "
                 "threshold 0.05) of the parameters whose diagnosis is not ✓", show, collapsed=True)


def _prior_table(pp: pd.DataFrame) -> Table:
    show = pd.DataFrame({"Model family": pp["family"], "Prior set": pp["prior_set"], "Quantity": pp["quantity"],
                         "Group": pp["group"].fillna("").astype(str),
                         "Prior median": [fmt(v, "ratio" if q == "hr" else "months")
                                          for v, q in zip(pp["estimate"], pp["quantity"])],
                         "95% prior interval": [fmt_interval(lo, hi, "ratio" if q == "hr" else "months")
                                                for lo, hi, q in zip(pp["lower"], pp["upper"], pp["quantity"])]})
    return Table("checks_prior_predictive", "Prior predictive check: hazard ratio and standardised median survival "
                 "implied by each prior set, per model family (medians beyond 60 months count as not reached)",
                 show, collapsed=True)


def _loo_verdicts(loo: pd.DataFrame) -> list[str]:
    """How the comparisons between models came out: per analysis with several models, the best elpd and whether
    each difference to it exceeds twice its standard error (the usual reading of elpd_diff / dse)."""
    if "elpd_diff" not in loo:
        return []
    pairs = loo.dropna(subset=["elpd_diff"]).groupby(["analysis", "prior_set"]).filter(lambda g: len(g) > 1)
    if pairs.empty:
        return []
    second = pairs[pairs["rank"] > 0]
    best = pairs[pairs["rank"] == 0]["model"].value_counts()
    clear = int((second["elpd_diff"].abs() > 2 * second["dse"]).sum())
    counts = ", ".join(f"{short(m)} in {fmt(int(n), 'count')}" for m, n in sorted(best.items()))
    order = {m: i for i, m in enumerate(FAMILIES)}
    which = "-vs-".join(short(m) for m in sorted(set(pairs["model"]), key=lambda m: (order.get(m, len(order)), m)))
    if len(second) == len(best_rows := pairs[pairs["rank"] == 0]):  # two models in every comparison
        return [f"of the {fmt(len(second), 'count')} {which} comparisons the higher elpd is {counts}; the "
                f"difference exceeds twice its standard error in {fmt(clear, 'count')}"]
    return [f"of the {fmt(len(best_rows), 'count')} comparisons of {which} the highest elpd is {counts}; "
            f"{fmt(clear, 'count')} of the {fmt(len(second), 'count')} differences to the best exceed twice their "
            "standard error"]


def checks_blocks(run) -> list:
    blocks = [Heading("Model checks", "checks")]
    loo, ppc, ps, pp = (_read(run, n) for n in ("loo", "ppc", "psense", "prior_predictive"))
    if loo is None and ppc is None:
        return blocks + [Para("No model checks in this run directory (no checks/ folder).")]
    facts = []
    if loo is not None:
        facts.append(f"PSIS-LOO for {fmt(loo['analysis'].nunique(), 'count')} survival analyses; "
                     f"{fmt(int((loo['max_k'] > K_BAD).sum()), 'count')} of {fmt(len(loo), 'count')} fits have a "
                     f"Pareto k above {fmt(K_BAD, 'real')}")
        facts.extend(_loo_verdicts(loo))
    if ppc is not None:
        facts.append(f"the observed Kaplan–Meier curve lies inside the 90% predictive band over a median "
                     f"{fmt(float(ppc['coverage'].median()), 'percent')} of the time grid "
                     f"(lowest {fmt(float(ppc['coverage'].min()), 'percent')})")
    flagged = ps[ps["diagnosis"] != OK] if ps is not None else None
    if flagged is not None:
        facts.append(f"power-scaling flags {fmt(len(flagged), 'count')} of {fmt(len(ps), 'count')} parameters")
    blocks.append(Para("Checks of the default-prior survival fits: " + "; ".join(facts) + "."))
    for frame, make in ((loo, _loo_table), (ppc, _ppc_table), (flagged, _psense_table), (pp, _prior_table)):
        if frame is not None and len(frame):
            blocks.append(make(frame))
    return blocks
