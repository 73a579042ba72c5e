"""hccbayes.data: study definitions, cohort schema and validation, published-figure registry, audit."""
from hccbayes.data.cohort import load_cohort, validate_cohort
from hccbayes.data.published.registry import Entry, Registry, load_registry
from hccbayes.data.study import Study, list_studies, load_study

__all__ = ["Entry", "Registry", "Study", "list_studies", "load_registry", "load_study",
           "load_cohort", "validate_cohort"]
from hccbayes.data.published.audit import Finding, audit  # noqa: E402  (consistency audit of a registry)

__all__ += ["Finding", "audit"]
