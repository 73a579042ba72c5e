"""The one number formatter of every report, and what kind of number each table cell is.

Every number a report shows goes through :func:`fmt`; tests rebuild the set of formatted table values
with the same function and require every numeric token of the report to be one of them.

Kinds and their rules (``fmt(x, kind)``):

=============  ===============================================================================
kind           rule
=============  ===============================================================================
``ratio``      hazard, risk and odds ratios: 2 decimals (3 below 0.1, so 0.08 ≠ 0.075 collapses)
``months``     times and time differences: 1 decimal
``percent``    a proportion shown as a percentage: 1 decimal and "%" (0.314 → "31.4%")
``pp``         a difference of proportions in percentage points: 1 decimal, no "%" (0.123 → "12.3")
``pp_cut``     a threshold on that scale: as ``real`` after scaling (0 → "0", 0.05 → "5", 0.125 → "12.5")
``prob``       a posterior probability: 2 decimals; 3 decimals outside [0.01, 0.99];
               "< 0.001" / "> 0.999" beyond that (Monte Carlo error makes more digits noise)
``p``          a p-value: 3 decimals, "< 0.001" below
``rhat``       R-hat: 3 decimals
``count``      an integer (ESS, draws, patients, events, targets)
``real``       anything else: up to 3 significant decimals, trailing zeros dropped
=============  ===============================================================================

Negative numbers use the typographic minus "−" (U+2212). NaN is shown as "NA".
"""
from __future__ import annotations

import math
import re

MINUS = "\u2212"
NA = "NA"
KINDS = ("ratio", "months", "percent", "pp", "pp_cut", "prob", "p", "rhat", "count", "real")

RATIO_QUANTITIES = {"hr", "risk_ratio", "odds_ratio", "tipping_point"}  # tipping: a prior HR or MCID
TIME_QUANTITIES = {"median", "median_diff", "rmst", "rmst_diff"}
PROPORTION_QUANTITIES = {"rate", "survival"}
DIFFERENCE_QUANTITIES = {"rate_diff", "risk_difference"}


def _sign(x: float, body: str) -> str:
    return (MINUS + body) if x < 0 and body.strip("0.") else body


def fmt(x, kind: str = "real") -> str:
    """Format one number by the rules of the module docstring."""
    if kind not in KINDS:
        raise ValueError(f"unknown number kind {kind!r}; use one of {KINDS}")
    if x is None:
        return NA
    x = float(x)
    if math.isinf(x) and x > 0 and kind == "months":  # a median beyond the follow-up: a result
        return "not reached"
    if not math.isfinite(x):
        return NA
    a = abs(x)
    if kind == "ratio":
        body = f"{a:.3f}" if a < 0.1 else f"{a:.2f}"
    elif kind == "months":
        body = f"{a:.1f}"
    elif kind == "percent":
        return _sign(x, f"{100 * a:.1f}") + "%"
    elif kind == "pp":
        body = f"{100 * a:.1f}"
    elif kind == "pp_cut":
        return fmt(100 * x, "real")
    elif kind == "prob":
        if x < 0.001:
            return "< 0.001"
        if x > 0.999:
            return "> 0.999"
        return f"{x:.3f}" if (x < 0.01 or x > 0.99) else f"{x:.2f}"
    elif kind == "p":
        return "< 0.001" if x < 0.001 else f"{x:.3f}"
    elif kind == "rhat":
        body = f"{a:.3f}"
    elif kind == "count":
        body = f"{int(round(a))}"
    else:
        body = f"{a:.3f}".rstrip("0").rstrip(".") if a != int(a) else f"{int(a)}"
    return _sign(x, body)


def prob_relation(x) -> str:
    """'= 0.99' for a probability, or '< 0.001' / '> 0.999' beyond the shown precision (so that a
    sentence reads 'P(HR < 1) > 0.999', not 'P(HR < 1) = > 0.999')."""
    text = fmt(x, "prob")
    return text if text[0] in "<>" else f"= {text}"


def base_quantity(quantity: str) -> str:
    """The quantity a probability row is about: ``prob_hr_lt`` → ``hr``, ``prob_risk_difference_gt`` →
    ``risk_difference``; other quantities unchanged."""
    q = quantity
    if q.startswith("prob_"):
        q = q[5:]
        q = re.sub(r"_(lt|gt|le|ge)$", "", q)
    return q


def value_kind(quantity: str, unit: str = "") -> str:
    """The kind of an estimate/lower/upper/threshold cell of a row with this quantity (and unit)."""
    q = base_quantity(quantity)
    if q in RATIO_QUANTITIES:
        return "ratio"
    if q in TIME_QUANTITIES or unit == "months":
        return "months"
    if q in PROPORTION_QUANTITIES:
        return "percent"
    if q in DIFFERENCE_QUANTITIES:
        return "pp"
    if q == "p_value":
        return "p"
    return "real"


def cell_kind(column: str, quantity: str, unit: str = "") -> str:
    """The kind of a numeric table cell (thresholds print as plain numbers: "HR < 1", "difference > 0")."""
    if column == "probability":
        return "prob"
    if column == "horizon":
        return "months"
    kind = value_kind(quantity, unit)
    if column == "threshold":
        return {"ratio": "real", "pp": "pp_cut"}.get(kind, kind)
    return kind


MODEL_LABELS = {"weibull": "Weibull proportional-hazards", "pem": "piecewise-exponential",
                "beta_binomial": "beta-binomial", "summary_normal": "summary-level normal-normal",
                "cox": "Cox", "km": "Kaplan-Meier"}


def model_label(model: str) -> str:
    return MODEL_LABELS.get(model, model)


def interval_level(interval: str) -> str:
    """'95% ETI' → '95' (the level as printed in the table's interval column); '' if none."""
    m = re.match(r"\s*(\d+(?:\.\d+)?)\s*%", interval or "")
    return m.group(1) if m else ""


def fmt_interval(lower, upper, kind: str) -> str:
    """'0.27–0.89'; with a negative limit 'A to B' so the dash cannot read as a minus."""
    lo, hi = fmt(lower, kind), fmt(upper, kind)
    if lo.startswith(MINUS) or hi.startswith(MINUS):
        return f"{lo} to {hi}"
    return f"{lo}\u2013{hi}"


NUMBER_RE = re.compile(r"\d+(?:\.\d+)*")


def numeric_tokens(text: str) -> list[str]:
    """Every run of digits (with inner dots) in ``text``: what the provenance tests check."""
    return NUMBER_RE.findall(text)
