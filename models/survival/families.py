"""The registry of survival families: one line per family. A family is one module (see
:mod:`hccbayes.models.survival.family`); adding one to the tuple below makes it a model of plans
(``models = [...]``), LOO comparisons, predictive checks, simulation-based calibration and reports."""
from __future__ import annotations

from typing import Any

from hccbayes.models.survival import mspline, piecewise, weibull
from hccbayes.models.survival.arrays import SpecError
from hccbayes.models.survival.family import SurvivalFamily
from hccbayes.models.survival.likelihood import EFFECT_DEFAULTS

FAMILIES: dict[str, SurvivalFamily] = {f.name: f for f in (
    weibull.FAMILY,
    piecewise.FAMILY,
    mspline.FAMILY,
)}

MODELS = tuple(FAMILIES)
BASELINES = tuple(dict.fromkeys(b for f in FAMILIES.values() for b in f.baselines))
# every baseline prior setting a prior set may override, with its default (a setting two families share,
# like the intercept's sd, has one default)
SETTINGS: dict[str, Any] = {**EFFECT_DEFAULTS, **{k: v for f in FAMILIES.values() for k, v in f.defaults.items()}}


def family(model: str) -> SurvivalFamily:
    """The family called ``model``."""
    if model not in FAMILIES:
        raise SpecError(f"unknown survival model {model!r}; use one of {', '.join(MODELS)}")
    return FAMILIES[model]
