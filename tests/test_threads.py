"""Worker processes cap their numerical libraries' thread pools at their share of the cores, and the main process
its own while they run (inference/engine/threads.py); a thread count the user set is left alone.

Each case runs in a fresh interpreter whose environment holds exactly the thread variables of the case, so the
test does not depend on how the suite itself was started."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hccbayes.inference.engine.executors import available_cores
from hccbayes.inference.engine.threads import THREAD_ENV

SCRIPT = """
import json
from threadpoolctl import threadpool_info
import numpy, scipy.linalg
from hccbayes.inference.engine.executors import ProcessExecutor, Task

def pools():
    return sorted({p["num_threads"] for p in threadpool_info()})

reports, before = [], pools()
executor = ProcessExecutor(2)
with executor.session():
    during = pools()
    tasks = [Task(f"t{i}", "slow_tasks:thread_report", {}, 0) for i in range(2)]
    executor.run(tasks, lambda t, r: reports.append(r), lambda t, e: reports.append(repr(e)))
print(json.dumps({"before": before, "during": during, "after": pools(), "workers": reports}))
"""


def _run(extra_env: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV}
    env.update(extra_env)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_workers_and_the_main_process_share_the_cores():
    share = max(1, available_cores() // 2)
    got = _run({})
    assert len(got["workers"]) == 2
    for worker in got["workers"]:
        assert worker["pools"] == [share]
        assert worker["env"] == {name: str(share) for name in THREAD_ENV}
    assert got["during"] == [1]  # the main process runs beside its two workers
    assert got["after"] == got["before"]  # and gets its own pools back


@pytest.mark.parametrize("value", ["1", "3"])
def test_a_thread_count_the_user_set_is_kept(value):
    got = _run({"OPENBLAS_NUM_THREADS": value})
    for worker in got["workers"]:
        assert worker["env"]["OPENBLAS_NUM_THREADS"] == value
        assert worker["env"]["OMP_NUM_THREADS"] is None
    assert got["during"] == got["before"]
