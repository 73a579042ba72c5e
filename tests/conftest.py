"""Fixtures shared by several test modules."""
import pytest

from hccbayes.data import load_cohort, load_study


@pytest.fixture(scope="session")
def study():
    """The bundled yin2025 study definition."""
    return load_study("yin2025")


@pytest.fixture(scope="session")
def cohort(study):
    """The bundled yin2025 pseudo-patient cohort, validated, with derived factor columns."""
    return load_cohort(study.cohort_path, study)
