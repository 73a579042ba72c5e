"""The thread pools of the numerical libraries (OpenBLAS, OpenMP, MKL) of a run's processes.

Each library sizes its pool to the machine's cores, so two worker processes and the main process, each running a
two-thread BLAS on two cores, oversubscribed them: measured on a cold reproduce of the bundled study on 2 cores,
324 CPU-seconds in 171 s, against 254 CPU-seconds in 136 s with the caps below (all outputs byte-identical). A
worker therefore caps its pools at its share of the cores (:func:`limit_threads`, the pool's initializer), and the
main process caps its own while the workers run (:func:`while_workers_run`). The draws and every number do not
depend on the thread count (tests/test_machines.py runs other thread counts). A variable the user set is left as
it is.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _user_set() -> bool:
    return any(name in os.environ for name in THREAD_ENV)


def limit_threads(threads: int) -> None:
    """Cap this process's numerical thread pools at ``threads``: those loaded now (threadpoolctl) and, through the
    environment, those loaded later (a worker: its libraries load with its first task). Nothing when the user set
    one of :data:`THREAD_ENV`."""
    if _user_set():
        return
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    threadpool_limits(limits=threads)


@contextmanager
def while_workers_run(threads: int = 1):
    """This (the main) process's loaded thread pools capped at ``threads`` inside the block, restored after;
    its environment is not changed. Nothing when the user set one of :data:`THREAD_ENV`."""
    if _user_set():
        yield
        return
    with threadpool_limits(limits=threads):
        yield
