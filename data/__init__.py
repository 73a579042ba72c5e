"""hccbayes.data: study definitions, cohort schema and validation, published-figure registry, audit.

The names below are imported on first use (PEP 562), so that importing one submodule — e.g. the fit
cache for `hccbayes explore` — does not import every sibling (statsmodels, scipy.stats, ...)."""
import importlib

_LAZY = {
    "load_cohort": "hccbayes.data.cohort", "validate_cohort": "hccbayes.data.cohort",
    "Entry": "hccbayes.data.published.registry", "Registry": "hccbayes.data.published.registry", "load_registry": "hccbayes.data.published.registry",
    "Study": "hccbayes.data.study", "list_studies": "hccbayes.data.study", "load_study": "hccbayes.data.study",
    "Finding": "hccbayes.data.published.audit", "audit": "hccbayes.data.published.audit",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
