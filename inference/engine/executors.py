"""Executors: run independent, seeded tasks inline, in local processes or on a Dask cluster.

A :class:`Task` is a pure, picklable description of one unit of work: ``kind`` names a function
``"package.module:function"`` called as ``function(args, seed, context)``, ``seed`` is part of the task
(never derived from worker identity or completion order), so every executor returns identical results
for the same tasks. ``context`` is the process-local :class:`WorkerContext`: one :class:`ModelCache`
per process (nutpie/PyTensor compile caches are per process), so each worker compiles each model
structure once and reuses it for every later task.

:func:`run_tasks` is the one entry point::

    stats = run_tasks(tasks, executor, on_result, done=store.valid)

* tasks for which ``done(task)`` is true are skipped (resume after an interruption);
* ``on_result(task, result)`` runs in the calling process as each result arrives (completion order),
  so the caller writes it to its cache at once and a worker that dies later loses no finished result;
* a task that raises does not stop the others; after all have run :class:`TaskFailed` lists the failures.

Executors: :class:`InlineExecutor` (this process), :class:`ProcessExecutor` (``--jobs N``:
:class:`~concurrent.futures.ProcessPoolExecutor`, spawn context), :class:`DaskExecutor`
(``--scheduler ADDRESS``: ``dask.distributed``; ``pure=False`` and ``retries``, so a task whose worker
died is re-run elsewhere). :func:`make_executor` maps the CLI options to one of them.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from hccbayes.errors import HccbayesError
from hccbayes.inference.engine.threads import limit_threads, while_workers_run
from hccbayes.inference.fitting.fit import ModelCache

log = logging.getLogger(__name__)


class ExecutorError(HccbayesError):
    """An executor cannot be used (dask not installed, scheduler unreachable, bad --jobs)."""


class TaskFailed(HccbayesError):
    """Some tasks raised; the results of all other tasks were delivered. ``failures``: key -> error."""

    def __init__(self, failures: Mapping[str, BaseException]):
        self.failures = dict(failures)
        shown = "; ".join(f"{k}: {type(e).__name__}: {e}" for k, e in list(self.failures.items())[:5])
        more = f" (and {len(self.failures) - 5} more)" if len(self.failures) > 5 else ""
        super().__init__(f"{len(self.failures)} task(s) failed: {shown}{more}")


@dataclass(frozen=True)
class Task:
    """One unit of work. ``key`` is unique within a run and safe as a file name; ``digest`` fingerprints
    everything the result depends on (a result stored under another digest is stale)."""

    key: str
    kind: str  # "package.module:function", called as function(args, seed, context)
    args: Mapping[str, Any]
    seed: int
    digest: str = ""

    @classmethod
    def make(cls, key: str, kind: str, args: Mapping[str, Any], seed: int, digest: str | None = None) -> "Task":
        """A task whose digest is the SHA-256 of its kind, JSON args and seed (args must then be JSON)."""
        if digest is None:
            canon = json.dumps({"kind": kind, "args": args, "seed": int(seed)}, sort_keys=True)
            digest = hashlib.sha256(canon.encode()).hexdigest()
        return cls(key, kind, dict(args), int(seed), digest)


@dataclass
class WorkerContext:
    """Process-local state shared by the tasks one process runs: the compiled-model caches."""

    model_cache: Any = None  # hccbayes.inference.fitting.fit.ModelCache, created on first use
    memo: dict = field(default_factory=dict)

    def models(self):
        if self.model_cache is None:

            self.model_cache = ModelCache()
        return self.model_cache

    def once(self, key: Any, factory: Callable[[], Any]) -> Any:
        """``factory()`` the first time ``key`` is asked for in this process, the cached value after."""
        if key not in self.memo:
            self.memo[key] = factory()
        return self.memo[key]


_CONTEXT = WorkerContext()


def worker_context() -> WorkerContext:
    """This process's context (one per interpreter: the main process, a pool process or a Dask worker)."""
    return _CONTEXT


def resolve(kind: str) -> Callable:
    module, _, name = kind.partition(":")
    if not name:
        raise ValueError(f"task kind must be 'package.module:function', got {kind!r}")
    return getattr(importlib.import_module(module), name)


def execute(task: Task) -> Any:
    """Run one task in the current process (what every executor calls on its workers)."""
    return resolve(task.kind)(task.args, task.seed, worker_context())


@dataclass
class RunStats:
    total: int
    skipped: list[str]  # keys already done before this run
    computed: list[str]  # keys computed now, in completion order
    seconds: float


Deliver = Callable[[Task, Any], None]


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one, else os.cpu_count())."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


MAX_DEFAULT_JOBS = 4


JOBS_ENV = "HCCBAYES_JOBS"


def default_jobs() -> int:
    """Worker processes the run commands use by default: ``$HCCBAYES_JOBS`` when set (e.g. 1 where the runs
    themselves are run in parallel, as the test suite does), else the available cores, at most
    :data:`MAX_DEFAULT_JOBS` (beyond that the per-process compiles outweigh the gain for a study's few
    model structures); 1 (inline) on a one-core machine."""
    value = os.environ.get(JOBS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ExecutorError(f"{JOBS_ENV}={value!r}: give a whole number of worker processes, at least 1")
        return int(value)
    return min(available_cores(), MAX_DEFAULT_JOBS)


class InlineExecutor:
    """Run the tasks one after another in this process."""

    name = "inline"
    local = True  # shares this process's disk (see tasks.prefit)
    jobs = 1

    def threads_for(self, n_tasks: int) -> int | None:
        return None  # nutpie's default: all cores

    def run(self, tasks: list[Task], deliver: Deliver, fail: Callable[[Task, BaseException], None]) -> None:
        for task in tasks:
            try:
                result = execute(task)
            except Exception as err:  # noqa: BLE001 - reported through TaskFailed with the others
                fail(task, err)
                continue
            deliver(task, result)


def _worker_start(threads: int) -> None:
    """Pool initializer: cap the worker's numerical thread pools at its share of the cores
    (:func:`~hccbayes.inference.engine.threads.limit_threads`) and end it with its parent (:func:`_exit_with_parent`)."""
    limit_threads(threads)
    _exit_with_parent()


def _exit_with_parent() -> None:
    """End this worker as soon as the process that started it is gone (e.g. a run killed
    with SIGKILL), instead of finishing its batch into a folder another run may be using and then waiting
    on the task queue for ever. A daemon thread waits on the parent's sentinel."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# what a worker imports when a session starts it (:meth:`ProcessExecutor.session`): the fitting code and the
# libraries it loads on first use, so that the imports overlap the caller's own preparations
WARM_MODULES = ("hccbayes.inference.engine.tasks", "hccbayes.inference.checks.run_checks", "pymc", "nutpie")


def _warm() -> None:
    for module in WARM_MODULES:
        importlib.import_module(module)


class ProcessExecutor:
    """Run the tasks in ``jobs`` local worker processes (spawn: a clean interpreter, no forked threads),
    never more processes than tasks. A free worker takes the next task in the given order.

    Each :meth:`run` starts and ends its own pool, unless it runs inside :meth:`session`, which keeps one
    pool for every run within (a run's fits, then its checks) and starts its workers at once."""

    name = "processes"
    local = True  # the workers share this machine's disk (see tasks.prefit)

    def __init__(self, jobs: int, start_method: str = "spawn"):
        if jobs < 1:
            raise ExecutorError(f"--jobs must be at least 1, got {jobs}")
        self.jobs = jobs
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None

    def threads_for(self, n_tasks: int) -> int:
        """The cores each worker's sampler may use when ``n_tasks`` tasks run: the available cores shared
        out among the workers that will run (at least one each)."""
        return max(1, available_cores() // max(1, min(self.jobs, n_tasks)))

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(self.start_method),
                                   initializer=_worker_start, initargs=(self.threads_for(workers),))

    @contextmanager
    def session(self):
        """One pool of ``jobs`` workers for every :meth:`run` inside the block, started now: each worker
        imports the fitting code (:data:`WARM_MODULES`) while the caller prepares its tasks, and is not
        spawned (and does not import everything) again for the next run. A failure inside the block stops
        the workers at once instead of waiting for their imports."""
        if self._pool is not None:  # already in a session
            yield self
            return
        self._pool = pool = self._new_pool(self.jobs)
        for _ in range(self.jobs):
            pool.submit(_warm)
        failed = True
        try:
            with while_workers_run():
                yield self
            failed = False
        finally:
            self._pool = None
            if failed:
                for process in list(getattr(pool, "_processes", {}).values()):
                    process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)

    def run(self, tasks: list[Task], deliver: Deliver, fail: Callable[[Task, BaseException], None]) -> None:
        if self._pool is not None:
            self._run_on(self._pool, tasks, deliver, fail)
            return
        with self._new_pool(min(self.jobs, len(tasks))) as pool:
            self._run_on(pool, tasks, deliver, fail)

    @staticmethod
    def _run_on(pool: ProcessPoolExecutor, tasks: list[Task], deliver: Deliver,
                fail: Callable[[Task, BaseException], None]) -> None:
        pending = {pool.submit(execute, t): t for t in tasks}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                task = pending.pop(fut)
                err = fut.exception()
                if err is not None:
                    fail(task, err)
                else:
                    deliver(task, fut.result())


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ExecutorError("--scheduler needs dask.distributed, which is not installed: "
                            "pip install 'hccbayes[dask]'") from None
    return distributed


class DaskExecutor:
    """Run the tasks on a Dask cluster: ``DaskExecutor("tcp://host:8786")`` or ``DaskExecutor(client=c)``.

    Tasks are submitted with ``pure=False`` (never deduplicated by dask) and ``retries`` (a task that
    raises, e.g. because its worker was lost, is re-run); results are delivered as they complete.
    """

    name = "dask"
    local = False  # workers may be on other machines: results come back to the caller (see tasks.prefit)

    def __init__(self, address: str | None = None, client=None, retries: int = 3, timeout: float = 5.0):
        if (address is None) == (client is None):
            raise ValueError("give a scheduler address or a client")
        self.address, self._client, self.retries, self.timeout = address, client, retries, timeout

    def client(self):
        if self._client is not None:
            return self._client
        distributed = _distributed()
        try:
            self._client = distributed.Client(self.address, timeout=self.timeout)
        except (OSError, TimeoutError, ValueError) as err:
            raise ExecutorError(f"cannot reach the Dask scheduler at {self.address!r} ({err}); start one with "
                                "'dask scheduler' and workers with 'dask worker ADDRESS', or fix --scheduler") from None
        return self._client

    def close(self) -> None:
        if self._client is not None and self.address is not None:
            self._client.close()
            self._client = None

    def run(self, tasks: list[Task], deliver: Deliver, fail: Callable[[Task, BaseException], None]) -> None:
        distributed = _distributed()
        client = self.client()
        stamp = f"{os.getpid()}-{time.time_ns()}"
        futures = {client.submit(execute, t, pure=False, retries=self.retries, key=f"hccbayes-{t.key}-{stamp}"): t
                   for t in tasks}
        for fut in distributed.as_completed(list(futures)):
            task = futures.pop(fut)
            if fut.status == "error":
                fail(task, fut.exception())
            else:
                deliver(task, fut.result())
            fut.release()


def make_executor(jobs: int | None = None, scheduler: str | None = None):
    """The executor the CLI options ask for: ``--scheduler`` (Dask) > ``--jobs N`` (N > 1) > inline."""
    if scheduler:
        if jobs not in (None, 1):
            raise ExecutorError("give either --jobs or --scheduler, not both")
        executor = DaskExecutor(scheduler)
        executor.client()  # fail now, before any work, when the scheduler is unreachable
        return executor
    if jobs is not None and jobs != 1:
        return ProcessExecutor(jobs)
    return InlineExecutor()


def run_tasks(tasks: Iterable[Task], executor, on_result: Deliver,
              done: Callable[[Task], bool] | None = None) -> RunStats:
    """Run the tasks not yet ``done`` on ``executor``; ``on_result(task, result)`` as each completes."""
    t0 = time.perf_counter()
    tasks = list(tasks)
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique")
    skipped = [t.key for t in tasks if done is not None and done(t)]
    skip = set(skipped)
    todo = [t for t in tasks if t.key not in skip]
    computed: list[str] = []
    failures: dict[str, BaseException] = {}

    def deliver(task: Task, result: Any) -> None:
        on_result(task, result)
        computed.append(task.key)
        log.debug("task %s done (%d/%d)", task.key, len(computed), len(todo))

    def fail(task: Task, err: BaseException) -> None:
        log.warning("task %s failed: %s: %s", task.key, type(err).__name__, err)
        failures[task.key] = err

    log.info("%d task(s): %d already done, %d to run (%s executor)", len(tasks), len(skipped), len(todo),
             getattr(executor, "name", type(executor).__name__))
    if todo:
        executor.run(todo, deliver, fail)
    if failures:
        raise TaskFailed(failures)
    return RunStats(len(tasks), skipped, computed, time.perf_counter() - t0)
