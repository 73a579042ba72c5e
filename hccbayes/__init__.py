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

__all__ = [
    "__version__",
    "CohortError",
    "HccbayesError",
    "InputError",
    "PlanError",
    "Problem",
    "RegistryError",
    "StudyError",
]
