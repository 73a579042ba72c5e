"""hccbayes.inference

The names below are imported on first use (PEP 562), so that importing one submodule — e.g. the fit
cache for `hccbayes explore` — does not import every sibling (statsmodels, scipy.stats, ...)."""
import importlib

_LAZY = {
    "DaskExecutor": "hccbayes.inference.engine.executors", "InlineExecutor": "hccbayes.inference.engine.executors", "ProcessExecutor": "hccbayes.inference.engine.executors", "Task": "hccbayes.inference.engine.executors", "make_executor": "hccbayes.inference.engine.executors", "run_tasks": "hccbayes.inference.engine.executors",
    "cox_fit": "hccbayes.inference.frequentist.cox", "cox_univariable": "hccbayes.inference.frequentist.cox", "select_and_fit": "hccbayes.inference.frequentist.cox", "study_cox": "hccbayes.inference.frequentist.cox", "study_frame": "hccbayes.inference.frequentist.cox",
    "contingency_test": "hccbayes.inference.frequentist.proportions", "rank_test": "hccbayes.inference.frequentist.proportions", "recompute_published_p": "hccbayes.inference.frequentist.proportions",
    "km_at_times": "hccbayes.inference.frequentist.survival", "km_medians": "hccbayes.inference.frequentist.survival", "logrank": "hccbayes.inference.frequentist.survival", "study_km": "hccbayes.inference.frequentist.survival", "study_logrank": "hccbayes.inference.frequentist.survival",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
