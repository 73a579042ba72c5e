"""Task kinds for executor tests: one that must catch a worker in the middle of a task (test_executors.py), one
that reports a worker's numerical thread pools (test_threads.py)."""
import os
import time
from pathlib import Path


def pid_then_sleep(args, seed, context):
    """Write this worker's process id to ``args["path"]``, then sleep ``args["seconds"]``."""
    Path(args["path"]).write_text(str(os.getpid()))
    time.sleep(args["seconds"])
    return None


def thread_report(args, seed, context):
    """The worker's BLAS / OpenMP thread pools (threadpoolctl, after numpy and scipy's BLAS are loaded) and its
    thread environment variables."""
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    return {"pools": sorted({p["num_threads"] for p in threadpool_info()}),
            "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}}
