"""Fixtures shared by several test modules."""
import os
import shutil

import pytest

from hccbayes.data import load_cohort, load_study
from hccbayes.data.study import STUDIES_DIR

# The suite runs its test files on two workers already: CLI runs started by tests fit inline rather than
# each starting a pool of its own (processes are tested explicitly: test_run_engine_scaleout, test_executors,
# test_batches, test_default_jobs_*).
os.environ.setdefault("HCCBAYES_JOBS", "1")


@pytest.fixture(scope="session")
def study():
    """The bundled yin2025 study definition."""
    return load_study("yin2025")


@pytest.fixture(scope="session")
def cohort(study):
    """The bundled yin2025 pseudo-patient cohort, validated, with derived factor columns."""
    return load_cohort(study.cohort_path, study)


@pytest.fixture
def user_study_with_plan(tmp_path):
    """Make a user's study folder elsewhere on disk: a copy of yin2025's study.toml, published.toml and
    cohort.csv with the given text as its plan.toml; returns the folder."""
    def make(plan_text: str):
        folder = tmp_path / "mystudy"
        folder.mkdir()
        for name in ("study.toml", "published.toml", "cohort.csv"):
            shutil.copy(STUDIES_DIR / "yin2025" / name, folder / name)
        (folder / "plan.toml").write_text(plan_text, encoding="utf-8")
        return folder
    return make
