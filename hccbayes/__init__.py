"""hccbayes: Bayesian re-analysis of clinical oncology studies.

The public API is gathered here; the sub-packages are ``hccbayes.data`` (studies, cohorts, published
figures, audit), ``hccbayes.models``, ``hccbayes.inference`` and ``hccbayes.reports``.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hccbayes")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

from hccbayes.errors import (  # noqa: E402
    CohortError,
    HccbayesError,
    InputError,
    PlanError,
    Problem,
    RegistryError,
    StudyError,
)

# the run API, imported on first use so that `import hccbayes` (and the CLI's start) stays light
_LAZY = {"load_study": "hccbayes.data.study", "load_plan": "hccbayes.inference.engine.plan",
         "Plan": "hccbayes.inference.engine.plan", "run_plan": "hccbayes.api", "reproduce": "hccbayes.api",
         "RunResult": "hccbayes.api"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hccbayes' has no attribute {name!r}")


__all__ = [
    "load_plan",
    "load_study",
    "Plan",
    "reproduce",
    "run_plan",
    "RunResult",
    "__version__",
    "CohortError",
    "HccbayesError",
    "InputError",
    "PlanError",
    "Problem",
    "RegistryError",
    "StudyError",
]
