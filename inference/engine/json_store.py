"""A small atomic, digest-checked store of JSON-able task results (the SBC ranks: :mod:`hccbayes.inference.checks.sbc`),
for :func:`~hccbayes.inference.engine.executors.run_tasks`' ``done`` and ``on_result``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hccbayes.atomic import write_text
from hccbayes.inference.engine.executors import Task


class JsonStore:
    """JSON results in ``folder/<key>.json`` with the task digest; written atomically (temp + replace)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, task: Task) -> Path:
        return self.folder / f"{task.key}.json"

    def valid(self, task: Task) -> bool:
        try:
            stored = json.loads(self.path(task).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(stored, dict) and stored.get("digest") == task.digest and "result" in stored

    def save(self, task: Task, result: Any) -> None:
        write_text(self.path(task), json.dumps({"key": task.key, "digest": task.digest, "result": result}))

    def load(self, task: Task) -> Any:
        return json.loads(self.path(task).read_text(encoding="utf-8"))["result"]
