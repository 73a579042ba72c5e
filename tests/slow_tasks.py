"""A task kind for executor tests that must catch a worker in the middle of a task (see test_executors.py)."""
import os
import time
from pathlib import Path


def pid_then_sleep(args, seed, context):
    """Write this worker's process id to ``args["path"]``, then sleep ``args["seconds"]``."""
    Path(args["path"]).write_text(str(os.getpid()))
    time.sleep(args["seconds"])
    return None
