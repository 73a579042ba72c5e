"""Content-hash memos: a result stored under the digest of everything it was computed from, reused while
that digest is unchanged.

* :func:`code_digest` — SHA-256 of hccbayes' own source files and its dependencies' versions: any change of
  the code or an upgraded library invalidates every memo made before (the fit files are keyed on the package
  versions instead, :mod:`hccbayes.inference.fitting.cache`, since a refit costs minutes and the sampler's code
  is not ours);
* :func:`digest` — SHA-256 of the canonical JSON of any parts (numbers as Python writes them);
* :class:`MemoStore` — ``folder/<name>.json`` holding ``{"key": digest, "value": ...}``, written atomically;
  :meth:`MemoStore.get` returns the value only when the stored key equals the requested one;
* :func:`frame_to_json` / :func:`frame_from_json` — a pandas DataFrame as plain JSON that reads back with
  the same columns, dtypes and float values to the last bit (Python's ``repr`` of a float round-trips).

This is the shared base of the run engine's caches (analyses, model checks) and the report's; it imports
nothing of the package but :mod:`hccbayes.atomic`.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd

from hccbayes.atomic import write_text

log = logging.getLogger(__name__)

PACKAGES = ("hccbayes", "hccbayes.data", "hccbayes.models", "hccbayes.inference", "hccbayes.reports")


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, tuples, paths as JSON values (for :func:`json.dumps`' ``default``)."""
    if hasattr(value, "tolist"):  # numpy scalar or array
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def dumps(value: Any) -> str:
    """Canonical JSON (sorted keys; NaN and ±inf as JavaScript literals, which json reads back)."""
    return json.dumps(value, sort_keys=True, default=_plain, separators=(",", ":"))


def digest(*parts: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``parts``."""
    return hashlib.sha256(dumps(list(parts)).encode()).hexdigest()


def file_digest(*paths: Path) -> str:
    """SHA-256 of the bytes of ``paths`` (a missing file counts as empty), in the order given."""
    h = hashlib.sha256()
    for p in paths:
        p = Path(p)
        h.update(hashlib.sha256(p.read_bytes() if p.is_file() else b"").digest())
    return h.hexdigest()


def files_record(folder: Path) -> dict[str, str]:
    """{path relative to ``folder``: SHA-256 of its bytes} of every file under ``folder`` (none if absent)."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def files_intact(folder: Path, record: dict[str, str]) -> bool:
    """Every file of ``record`` (:func:`files_record`) is under ``folder`` with the same bytes."""
    return all((Path(folder) / rel).is_file() and hashlib.sha256((Path(folder) / rel).read_bytes()).hexdigest() == sha
               for rel, sha in record.items())


def _requirements(dist: str) -> list[str]:
    """The names of the distributions ``dist`` requires (not those of its extras)."""
    try:
        reqs = importlib.metadata.requires(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    return [re.match(r"[A-Za-z0-9_.-]+", r).group(0) for r in reqs if "extra ==" not in r]


def dependency_versions(dist: str = "hccbayes", depth: int = 2) -> dict[str, str]:
    """{name: installed version} of what ``dist`` requires, and what those require, ``depth`` levels down
    (pymc -> pytensor, arviz -> arviz-stats ...): results computed by them may change with any of them."""
    found: dict[str, str] = {}
    level = [dist]
    for _ in range(depth):
        level = [n for d in level for n in _requirements(d) if n.lower() not in found]
        for name in level:
            try:
                found[name.lower()] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                found[name.lower()] = "not installed"
    return dict(sorted(found.items()))


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 over the relative path and bytes of every ``.py`` file of hccbayes' packages (about 150
    files, a few milliseconds) and the installed versions of its dependencies (:func:`dependency_versions`),
    computed once per process."""
    h = hashlib.sha256(dumps(dependency_versions()).encode())
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        for root in (spec.submodule_search_locations or []) if spec else []:
            for path in sorted(Path(root).rglob("*.py")):
                h.update(f"{name}/{path.relative_to(root).as_posix()}".encode())
                h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


class MemoStore:
    """JSON memos in ``folder``: ``<name>.json`` = ``{"key": ..., "value": ...}`` (``name`` may hold ``/``).
    ``hits`` and ``misses`` count the lookups of this store. ``defer``: :meth:`put` keeps the memos in memory
    until :meth:`flush` (for work done before the folder may be written to)."""

    def __init__(self, folder: str | Path, defer: bool = False):
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0
        self.defer = defer
        self._pending: dict[str, str] = {}

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def get(self, name: str, key: str) -> Any | None:
        """The value stored under ``name`` when it was stored with ``key``, else None (a miss)."""
        try:
            stored = json.loads(self.path(name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = None
        if isinstance(stored, dict) and stored.get("key") == key and "value" in stored:
            self.hits += 1
            return stored["value"]
        self.misses += 1
        return None

    def put(self, name: str, key: str, value: Any) -> Any:
        """Store ``value`` (JSON-able: see :func:`dumps`) under ``name`` and ``key``; returns it."""
        self._pending[name] = dumps({"key": key, "value": value})
        if not self.defer:
            self.flush()
        return value

    def flush(self) -> None:
        """Write the memos :meth:`put` kept (all of them; from now on each is written at once)."""
        for name, text in self._pending.items():
            write_text(self.path(name), text)
        self._pending.clear()
        self.defer = False


def frame_to_json(frame) -> dict[str, Any]:
    """A DataFrame as {"columns", "dtypes", "data"} (column-wise lists; the index is not kept)."""
    return {"columns": [str(c) for c in frame.columns], "dtypes": [str(t) for t in frame.dtypes],
            "data": [frame[c].tolist() for c in frame.columns]}


def frame_from_json(stored: dict[str, Any]):
    """The DataFrame of :func:`frame_to_json`, with its dtypes."""
    columns = {c: pd.Series(values, dtype=dtype if dtype != "object" else object)
               for c, values, dtype in zip(stored["columns"], stored["data"], stored["dtypes"])}
    return pd.DataFrame(columns, columns=stored["columns"])
