"""Executors: inline, local processes (--jobs 2) and a local Dask cluster of 2 workers give identical
posteriors for the same seeded tasks; a worker killed mid-run loses nothing; a re-run resumes.

Equality is the claim under test: the seed is part of each task, the compiled model is replaced data-wise
(``with_data``), so the sampler sees the same inputs in every process, and the model is compiled without
fast-math (tests/cross_process.py says why that matters): draws are compared bit for bit.
Each process compiles the one model structure once (about 20 s with numba), which dominates the time.
"""
import os
from pathlib import Path

import distributed  # noqa: E402  (in the test extra: the scale-out tests must run, never skip)
import numpy as np
import pytest

from hccbayes.cli import main
from hccbayes.inference.engine.executors import (
    JOBS_ENV,
    DaskExecutor,
    ExecutorError,
    InlineExecutor,
    ProcessExecutor,
    Task,
    TaskFailed,
    default_jobs,
    make_executor,
    run_tasks,
    worker_context,
)
from hccbayes.inference.engine.table import make_table, write_table
from hccbayes.inference.engine.tasks import survival_fit_task
from hccbayes.inference.fitting.cache import write_atomic
from hccbayes.inference.fitting.fit import SamplerSettings
from hccbayes.models.priors.sets import prior_set
from hccbayes.models.survival.design import SurvivalSpec, survival_data

from cross_process import assert_same_draws, assert_same_table
from survival_sim import SimStudy, weibull_ph

SETTINGS = SamplerSettings(draws=500, tune=300, chains=2, cores=1)
N_TASKS = 6


@pytest.fixture(scope="module")
def tasks():
    spec = SurvivalSpec("os", terms=("x1", "x2"))
    out = []
    for i in range(N_TASKS):  # six data sets of one model structure: one compile per process
        data = survival_data(weibull_ph(50, [-0.5, 0.4], 1.2, 0.06, seed=100 + i), SimStudy(), spec)
        out.append(survival_fit_task(f"fit-{i}", data, prior_set("weakly_informative"), spec, SETTINGS,
                                     seed=1000 + i))
    return out


def _posteriors(results: dict) -> dict:
    return {k: {v: dt["posterior"][v].values for v in dt["posterior"].data_vars} for k, dt in results.items()}


def _run(tasks, executor, **kw):
    results = {}
    stats = run_tasks(tasks, executor, lambda t, r: results.__setitem__(t.key, r), **kw)
    return _posteriors(results), stats




@pytest.fixture(scope="module")
def inline(tasks):
    post, stats = _run(tasks, InlineExecutor())
    assert stats.computed == [t.key for t in tasks]  # inline keeps the submission order
    return post


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_process_pool_gives_identical_posteriors(tasks, inline):
    post, stats = _run(tasks, ProcessExecutor(2))
    assert sorted(stats.computed) == sorted(t.key for t in tasks)
    assert_same_draws(inline, post)


def test_draws_do_not_depend_on_the_samplers_thread_count(tasks, inline):
    """A --jobs worker runs nutpie on cores // workers threads (ModelCache.threads) while the tasks' own
    settings say cores=1: each chain has its own seeded stream, so the draws are the same bits."""
    from dataclasses import replace

    from hccbayes.inference.engine.tasks import survival_fit

    cache = worker_context().models()
    try:
        for threads in (2, None):
            cache.threads = threads
            args = {**tasks[0].args, "settings": replace(SETTINGS, cores=None)}
            dt = survival_fit(args, tasks[0].seed, worker_context())
            assert_same_draws({tasks[0].key: inline[tasks[0].key]}, _posteriors({tasks[0].key: dt}))
    finally:
        cache.threads = None


def test_prefit_with_every_fit_cached_starts_nothing(tasks, tmp_path):
    """A re-run whose fits are all valid in the cache: prefit on a local executor returns no new fit and
    leaves the files alone (once raised IndexError: no batch to plan)."""
    from hccbayes.inference.engine.tasks import FitJob, prefit
    from hccbayes.inference.fitting.cache import fit_cached

    args = tasks[0].args
    job = FitJob("cached-0", "a", args["data"], args["priors"], args["spec"], args["settings"], tasks[0].seed)
    fit_cached(job.key, tmp_path, job.data, job.priors, job.spec, job.settings, job.seed,
               worker_context().models(), analysis="a")
    before = (tmp_path / "cached-0.nc").stat().st_mtime_ns
    for executor in (InlineExecutor(), ProcessExecutor(2)):
        assert prefit([job], tmp_path, executor) == {}
    assert (tmp_path / "cached-0.nc").stat().st_mtime_ns == before


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status  # a zombie has exited


def test_local_workers_end_when_the_run_is_killed(tmp_path):
    """A run killed with SIGKILL must not leave its worker processes running (they would go on writing fit
    files into a folder the next run uses, then wait on the task queue for ever)."""
    import signal
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "worker.pid"
    script = ("import sys; from hccbayes.inference.engine.executors import ProcessExecutor, Task; "
              "task = Task('t', 'slow_tasks:pid_then_sleep', {'path': sys.argv[1], 'seconds': 120}, 0); "
              "ProcessExecutor(1).run([task], lambda t, r: None, lambda t, e: None)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    parent = subprocess.Popen([sys.executable, "-c", script, str(pid_file)], env=env)
    deadline = time.time() + 60
    while not pid_file.exists() and time.time() < deadline:
        time.sleep(0.05)
    worker = int(pid_file.read_text())
    assert _alive(worker)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.05)
    alive = _alive(worker)
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the worker outlived the killed run"


def test_dask_gives_identical_posteriors(tasks, inline, client):
    post, _ = _run(tasks, DaskExecutor(client=client))
    assert_same_draws(inline, post)


def test_dask_worker_killed_mid_run_loses_nothing(tasks, inline, client):
    killed = []

    def on_result(task, result):
        results[task.key] = result
        if not killed:  # after the first result: kill a worker that is busy with another task
            busy = {w: ks for w, ks in client.processing().items() if ks}
            addr = next(iter(busy))
            killed.append((addr, list(busy[addr])))
            try:
                client.run(os._exit, 1, workers=[addr])
            except Exception:  # noqa: BLE001 - the comm to a worker that exits mid-call breaks; expected
                pass

    results = {}
    stats = run_tasks(tasks, DaskExecutor(client=client, retries=2), on_result)
    assert killed and killed[0][1], "no task was in flight on the killed worker"
    assert len(stats.computed) == N_TASKS
    assert_same_draws(inline, _posteriors(results))


class Interrupted(Exception):
    pass


def test_rerun_after_interruption_resumes(tasks, inline, client, tmp_path):
    folder = Path(tmp_path)
    path = lambda t: folder / f"{t.key}.nc"  # noqa: E731

    def save_then_stop_after_two(task, dt):
        write_atomic(dt, path(task))
        if len(list(folder.glob("*.nc"))) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        run_tasks(tasks, DaskExecutor(client=client), save_then_stop_after_two)
    finished = sorted(p.stem for p in folder.glob("*.nc"))
    assert len(finished) == 2
    results = {}
    stats = run_tasks(tasks, DaskExecutor(client=client), lambda t, r: results.__setitem__(t.key, r),
                      done=lambda t: path(t).exists())
    assert sorted(stats.skipped) == finished  # the two stored fits are not recomputed
    assert len(stats.computed) == N_TASKS - 2 and not set(stats.computed) & set(finished)
    assert_same_draws({k: inline[k] for k in stats.computed}, _posteriors(results))


def test_failing_task_reported_after_the_others(tasks, client):
    bad = Task.make("bad", "hccbayes.inference.checks.sbc_models:sbc_sim", {"model": "no-such-model", "settings": {}}, 0)
    for executor in (InlineExecutor(), DaskExecutor(client=client, retries=0)):
        got = {}
        with pytest.raises(TaskFailed, match="bad"):
            run_tasks([bad, tasks[0]], executor, lambda t, r: got.__setitem__(t.key, r))
        assert list(got) == [tasks[0].key]  # the good task still delivered its result


def test_unreachable_scheduler_is_a_clear_error(capsys):
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", timeout=2).client()  # port 9 (discard): nothing listens
    assert main(["sbc", "weibull", "--n-sims", "2", "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the Dask scheduler" in err and "Traceback" not in err


def test_missing_dask_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ExecutorError, match=r"pip install 'hccbayes\[dask\]'"):
        make_executor(scheduler="tcp://127.0.0.1:9")
    assert isinstance(make_executor(jobs=2), ProcessExecutor) and isinstance(make_executor(), InlineExecutor)


def test_cross_process_comparisons_catch_the_last_bit(tmp_path):
    """tests/cross_process.py asserts identity: one draw changed in its last bit, a missing variable, or a
    number of a table changed in its last written digit (the table writes 10 significant digits) or a
    text cell all fail."""
    draws = {"fit-0": {"log_hr": np.linspace(-1, 1, 10)}}
    assert_same_draws(draws, {"fit-0": {"log_hr": np.linspace(-1, 1, 10)}})
    wrong = {"fit-0": {"log_hr": draws["fit-0"]["log_hr"].copy()}}
    wrong["fit-0"]["log_hr"][3] = np.nextafter(wrong["fit-0"]["log_hr"][3], 2.0)
    with pytest.raises(AssertionError):
        assert_same_draws(draws, wrong)
    with pytest.raises(AssertionError):
        assert_same_draws(draws, {"fit-0": {}})
    table = make_table([dict(analysis="a", title="t", population="all", endpoint="os", contrast="B vs A",
                             quantity="hr", source="bayes:weibull:vague", model="weibull", prior_set="vague",
                             unit="HR", estimate=0.5, lower=0.3, upper=0.9, interval="95% ETI",
                             cohort_based=True)])
    write_table(table, tmp_path / "a.csv")
    write_table(table, tmp_path / "b.csv")
    write_table(table.assign(estimate=0.5000000001), tmp_path / "c.csv")
    write_table(table.assign(interval="90% ETI"), tmp_path / "d.csv")
    assert_same_table(tmp_path / "a.csv", tmp_path / "b.csv")
    for other in ("c.csv", "d.csv"):
        with pytest.raises(AssertionError, match="first at line 2"):
            assert_same_table(tmp_path / "a.csv", tmp_path / other)


def test_default_jobs_are_the_cores_at_most_four_unless_the_environment_says(monkeypatch):
    """The run commands' default: one worker per available core (at most 4), or $HCCBAYES_JOBS."""
    monkeypatch.delenv(JOBS_ENV, raising=False)
    assert default_jobs() == min(len(os.sched_getaffinity(0)), 4)
    monkeypatch.setenv(JOBS_ENV, "3")
    assert default_jobs() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(JOBS_ENV, bad)
        with pytest.raises(ExecutorError, match="HCCBAYES_JOBS"):
            default_jobs()
