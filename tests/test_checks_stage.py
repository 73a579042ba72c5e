"""The check stage's choice between checks started early (on the workers, while the rows are made) and checks made
after the rows (inference/engine/checks_stage.py): the early result is used only when no analysis failed; when one
did, the run waits for the early checks and makes them again without the failed analysis, so the checks files hold
what a run with the checks after the rows writes. ``check_frames`` is replaced by a recorder: what is checked is
tested here, how (the checks themselves) in tests/test_run_engine*.py."""
from concurrent.futures import Future

import pandas as pd
import pytest

from hccbayes.inference.engine import checks_stage


@pytest.fixture
def made(monkeypatch):
    calls = []

    def check_frames(ctx, out, failed, memo=None, executor=None):
        calls.append(set(failed))
        return {"loo": pd.DataFrame({"analysis": ["late"]})}

    monkeypatch.setattr(checks_stage, "check_frames", check_frames)
    return calls


def early(result=None, error=None) -> Future:
    f = Future()
    f.set_exception(error) if error is not None else f.set_result(result)
    return f


STARTED = {"loo": pd.DataFrame({"analysis": ["early"]})}  # no psense frame: no rows, the choice is in the calls


def test_the_early_checks_are_used_when_no_analysis_failed(made):
    statuses = {"a": {"status": "ok"}, "b": {"status": "diagnostics_failed"}}
    assert checks_stage.check_rows(None, None, statuses, started=early(STARTED)) == []
    assert made == []  # nothing made again


def test_a_failed_analysis_makes_them_again_without_it(made):
    statuses = {"a": {"status": "ok"}, "b": {"status": "failed"}}
    assert checks_stage.check_rows(None, None, statuses, started=early(STARTED)) == []
    assert made == [{"b"}]
    # an early failure (e.g. a check of the failed analysis' fits) does not stop the checks without it
    made.clear()
    assert checks_stage.check_rows(None, None, statuses, started=early(error=ValueError("x"))) == []
    assert made == [{"b"}]


def test_an_early_failure_without_failed_analyses_is_the_checks_failure(made):
    with pytest.raises(ValueError, match="bad check"):
        checks_stage.check_rows(None, None, {"a": {"status": "ok"}}, started=early(error=ValueError("bad check")))
    assert made == []


def test_without_early_checks_they_are_made_after_the_rows(made):
    checks_stage.check_rows(None, None, {"a": {"status": "ok"}, "b": {"status": "failed"}})
    assert made == [{"b"}]
