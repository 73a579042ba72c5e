"""Scale-out of the run engine (issue 7 part 5): the same small plan run inline, with ``--jobs 2`` (local
spawn processes) and on a local Dask cluster of 2 workers, one of which is killed mid-run, writes the same
comparisons.csv, byte for byte, and the same tipping-point search (run by a worker with ``--jobs 2``) (tests/cross_process.py): every fit's seed is part of its task and the sampler sees the same inputs in
every process (tests/test_executors.py), and the rows are then drawn by the engine's own loop from the fit
cache.

Cost: each process compiles the one PEM structure once (about 20 s), which dominates; six fits each (enough
that a worker is still busy when the first result arrives).
"""
import json
import os
import threading
import time

import distributed  # noqa: E402  (in the test extra: the scale-out tests must run, never skip)
import pytest

import hccbayes
from hccbayes.inference.engine import survival_run
from hccbayes.inference.engine.executors import DaskExecutor, make_executor
from hccbayes.inference.engine.table import read_table
from hccbayes.inference.fitting.fit import ModelCache

from cross_process import assert_same_table

PLAN = """
[plan]
name = "scaleout"
study = "."
seed = 11

[defaults]
prior_sets = ["weakly_informative"]
models = ["pem"]
thresholds = { hr = [1.0, 0.7], median_diff = [0.0], rmst_diff = [0.0] }
quick_sampler = { draws = 300, tune = 300, chains = 2 }

[[analyses]]
id = "arm_os"
kind = "survival"
endpoint = "os"
terms = ["tki_ici"]
strata = "arm"
link = ["cox_hr", "km_median"]
tipping_points = true

[[analyses]]
id = "arm_pfs"
kind = "survival"
endpoint = "pfs"
terms = ["tki_ici"]
strata = "arm"
link = ["cox_hr", "km_median"]

[[analyses]]
id = "afp_os"
kind = "survival"
endpoint = "os"
terms = ["afp_gt400"]
strata = "afp"
link = ["cox_hr"]

[[analyses]]
id = "uni_os"
kind = "survival"
endpoint = "os"
each_term = true
terms = ["age_gt60", "male", "ecog_1"]
link = ["cox_hr"]
"""


@pytest.fixture
def plan(user_study_with_plan):
    return user_study_with_plan(PLAN) / "plan.toml"


class KillOneWorker(DaskExecutor):
    """A Dask executor that kills the process of the first worker seen holding a task (from a watcher
    thread, so the kill does not depend on how fast the other results come back)."""

    killed: list

    def _kill_first_busy(self, client, stop: threading.Event) -> None:
        while not stop.is_set() and not self.killed:
            busy = {w: ks for w, ks in client.processing().items() if ks}
            if busy:
                addr = next(iter(busy))
                self.killed.append((addr, list(busy[addr])))
                try:
                    client.run(os._exit, 1, workers=[addr])
                except Exception:  # noqa: BLE001 - the comm to a worker that exits mid-call breaks; expected
                    pass
            time.sleep(0.05)

    def run(self, tasks, deliver, fail):
        self.killed = []
        stop = threading.Event()
        watcher = threading.Thread(target=self._kill_first_busy, args=(self.client(), stop), daemon=True)
        watcher.start()
        try:
            super().run(tasks, deliver, fail)
        finally:
            stop.set()
            watcher.join(timeout=10)


def test_inline_jobs_and_dask_write_the_same_table(plan, tmp_path, monkeypatch):
    models = ModelCache()  # the inline and Dask runs search the tipping points in this process: one compile
    inline = hccbayes.run_plan(plan, tmp_path / "inline", quick=True, cache=models)
    reference = tmp_path / "inline" / "comparisons.csv"
    assert "psense_prior" in set(inline.table["quantity"])  # the checks' power-scaling rows are in the table

    def no_reading(key, *args, **kwargs):
        raise AssertionError(f"{key}: the worker sent its posterior back; no fit file is read for the rows")

    with monkeypatch.context() as m:
        m.setattr(survival_run, "fit_cached", no_reading)
        jobs = hccbayes.run_plan(plan, tmp_path / "jobs", quick=True, executor=make_executor(jobs=2))
    assert_same_table(tmp_path / "jobs" / "comparisons.csv", reference)
    assert all(f["status"] == "fitted" for s in jobs.statuses.values() for f in s["fits"].values())
    assert json.loads((tmp_path / "jobs" / "run.json").read_text())["executor"] == "processes"
    for name in ("loo", "psense", "ppc", "ppc_bands", "prior_predictive"):  # checks computed on the processes too
        assert (tmp_path / "jobs" / "checks" / f"{name}.csv").read_bytes() == \
            (tmp_path / "inline" / "checks" / f"{name}.csv").read_bytes(), name
    # the workers write the fit files themselves (structure-affine batches): the same bytes as inline
    inline_fits = sorted((tmp_path / "inline" / "fits").glob("*.nc"))
    assert [p.name for p in inline_fits] == sorted(p.name for p in (tmp_path / "jobs" / "fits").glob("*.nc"))
    for p in inline_fits:
        assert p.read_bytes() == (tmp_path / "jobs" / "fits" / p.name).read_bytes(), p.name
    # the tipping-point search ran in the worker that fitted its structure, with the same result
    assert (tmp_path / "jobs" / "tipping" / "arm_os.json").read_bytes() == \
        (tmp_path / "inline" / "tipping" / "arm_os.json").read_bytes()
    tipping = jobs.statuses["arm_os"]["tipping"]
    assert tipping["cached"] is False and tipping["evaluations"] > 0 and jobs.compiles == 0, (tipping, jobs.compiles)

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = distributed.Client(cluster)
    try:
        executor = KillOneWorker(client=client, retries=2)
        hccbayes.run_plan(plan, tmp_path / "dask", quick=True, executor=executor, cache=models)
    finally:
        client.close()
        cluster.close()
    assert_same_table(tmp_path / "dask" / "comparisons.csv", reference)
    assert executor.killed and executor.killed[0][1], "no task was in flight on the killed worker"
    assert read_table(tmp_path / "dask" / "comparisons.csv").shape == inline.table.shape
