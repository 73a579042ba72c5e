"""Parsers of a plan's values (split from :mod:`hccbayes.inference.engine.plan`): each reads one key or table of
a plan, reports every problem through ``bad(key, message, fix)`` and returns what it could read.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

THRESHOLD_KEYS = ("hr", "median_diff", "rmst_diff", "rate_diff")
SAMPLER_KEYS = ("draws", "tune", "chains", "target_accept", "maxdepth", "cores")


def unknown_keys(table: Mapping[str, Any], allowed: tuple[str, ...], prefix: str, bad) -> None:
    for key in table:
        if key not in allowed:
            bad(prefix + key, "unknown key", f"use one of {', '.join(allowed)} (or delete it)")


def table_of(raw: Mapping[str, Any], key: str, bad) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        bad(key, "must be a table", f"write it as [{key}]")
        return {}
    return value


def strings(value: Any, key: str, bad) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        bad(key, f"{value!r} is not a list of strings", f'write {key.rsplit(".", 1)[-1]} = ["..."]')
        return ()
    return tuple(value)


def sampler_settings(value: Any, key: str, bad) -> dict[str, Any]:
    if not isinstance(value, dict):
        bad(key, "must be a table", f"write {key.rsplit('.', 1)[-1]} = {{ draws = 1000, tune = 1000 }}")
        return {}
    out = {}
    for k, v in value.items():
        if k not in SAMPLER_KEYS:
            bad(f"{key}.{k}", "unknown sampler setting", f"use one of {', '.join(SAMPLER_KEYS)}")
        elif k == "target_accept":
            if not isinstance(v, float) or not 0.5 <= v < 1:
                bad(f"{key}.{k}", f"{v!r} is not a number in [0.5, 1)", "set target_accept = 0.9")
            else:
                out[k] = v
        elif not isinstance(v, int) or isinstance(v, bool) or v < 1:
            bad(f"{key}.{k}", f"{v!r} is not a positive integer", f"set {k} = a positive integer")
        else:
            out[k] = v
    return out


def thresholds_of(value: Any, key: str, bad) -> dict[str, tuple[float, ...]]:
    if not isinstance(value, dict):
        bad(key, "must be a table", "write thresholds = { hr = [1.0, 0.7] }")
        return {}
    out = {}
    for k, v in value.items():
        if k not in THRESHOLD_KEYS:
            bad(f"{key}.{k}", "unknown threshold", f"use one of {', '.join(THRESHOLD_KEYS)}")
            continue
        vals = v if isinstance(v, list) else [v]
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vals):
            bad(f"{key}.{k}", f"{v!r} is not a list of numbers", f"write {k} = [0.0]")
            continue
        if k == "hr" and any(x <= 0 for x in vals):
            bad(f"{key}.{k}", "hazard-ratio thresholds must be > 0", "write hr = [1.0, 0.7]")
            continue
        out[k] = tuple(float(x) for x in vals)
    return out


def survival_extras(merged: dict, where: str, kw: dict, bad) -> None:
    """landmarks (times > 0) and contrasts (pairs of group names) of a survival analysis."""
    if "landmarks" in merged:
        times = merged["landmarks"] if isinstance(merged["landmarks"], list) else [merged["landmarks"]]
        if not all(isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 for t in times):
            bad(f"{where}.landmarks", f"{merged['landmarks']!r} is not a list of times > 0",
                "write landmarks = [12.0, 24.0] (the study's time unit)")
        else:
            kw["landmarks"] = tuple(float(t) for t in times)
    if "contrasts" in merged:
        pairs = merged["contrasts"]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and
                                                  all(isinstance(g, str) for g in p) for p in pairs):
            bad(f"{where}.contrasts", f"{pairs!r} is not a list of pairs of group names",
                'write contrasts = [["Lev+5FU", "Lev"]]')
        else:
            kw["contrasts"] = tuple((a, b) for a, b in pairs)


def response_priors(merged: Mapping[str, Any], where: str, bad) -> dict[str, Any]:
    """mcid, historical = { "<outcome>" = [events, total] } (the reference group's history, for the clinical
    sets' robust mixture: models/response/logistic.py) and historical_weight of a response analysis."""
    out: dict[str, Any] = {}
    if isinstance(merged.get("mcid"), (int, float)) and not isinstance(merged.get("mcid"), bool):
        out["mcid"] = float(merged["mcid"])
    hist = merged.get("historical", {})
    ok = isinstance(hist, dict) and all(
        isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v) and 0 <= v[0] <= v[1]
        and v[1] > 0 for v in hist.values())
    if not ok:
        bad(f"{where}.historical", "must map outcomes to [events, total]", 'write historical = { '
            '"best_response:ORR" = [6, 60] }')
    else:
        out["historical"] = {str(k): (float(v[0]), float(v[1])) for k, v in hist.items()}
    w = merged.get("historical_weight", 0.5)
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 < w < 1:
        bad(f"{where}.historical_weight", f"{w!r} is not a weight in (0, 1)", "set historical_weight = 0.5")
    else:
        out["historical_weight"] = float(w)
    return out
