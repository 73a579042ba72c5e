"""What a run reuses from its folder besides the fits: each analysis' rows, records and curves, stored under
the content hash of everything they were made from (``cache/analyses/<id>.json``, :mod:`hccbayes.memo`).

An analysis' key is the SHA-256 of: hccbayes' source and its dependencies' versions
(:func:`hccbayes.memo.code_digest`), the bytes of the study's files (:func:`study_files`: not plans, not runs
written inside the study folder), the cohort file's bytes, the plan's settings outside
its analyses (seed, defaults, prior sets, roles), whether the run is quick, and the analysis
itself as the plan expanded it. A stored analysis is reused when its key is unchanged **and** the files it
made are still there and unchanged: each fit file with the size and modification time it had, or else valid
for its recorded fit hash (:func:`hccbayes.inference.fitting.cache.is_valid`, the file's attrs), and its
tipping-point file with the same bytes. Anything
else — a changed cohort value, prior, plan entry or line of code — makes it a miss, and the analysis is run
again (its fits still come from the fit cache when their own hashes are unchanged).

What is stored is what the run keeps of an analysis: its table rows, its status record (fits, diagnostics,
tipping search), the columns each fit's rows share (for the rows of its model checks) and the curves it adds
to ``curves.csv``/``km.csv``. A reused analysis' status says ``"reused": true``.
"""
from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path
from typing import Any, Callable

from hccbayes.inference.fitting.cache import is_valid
from hccbayes.memo import MemoStore, code_digest, digest, file_digest, frame_from_json, frame_to_json

log = logging.getLogger(__name__)


def _is_plan(path: Path) -> bool:
    """A plan file (a TOML file with a ``[plan]`` table): not part of the study, each analysis keys itself."""
    if path.suffix != ".toml":
        return False
    try:
        return "plan" in tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def study_files(folder: Path) -> list[Path]:
    """The files a study is made of: every file under ``folder`` but plan files, hidden and cache folders
    (``.git``, ``__pycache__``) and run folders (a folder holding a run.json: a run written inside the study)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__"
                         and not (Path(root) / d / "run.json").is_file())
        found.extend(Path(root) / f for f in sorted(files) if not _is_plan(Path(root) / f))
    return found


def run_digest(plan, study, cohort_path: Path, quick: bool) -> str:
    """The part of every analysis key that is the run's: code, versions, the study's files
    (:func:`study_files`), the cohort, the plan's settings outside its analyses and ``quick``."""
    files = study_files(Path(study.folder))
    settings = {k: v for k, v in plan.raw.items() if k != "analyses"}
    return digest(code_digest(), [p.relative_to(study.folder).as_posix() for p in files],
                  file_digest(*files), file_digest(cohort_path), settings, plan.seed, bool(quick))


class AnalysisMemo:
    """The analyses of one run folder: :meth:`run` returns an analysis' rows from ``cache/`` or by running it."""

    def __init__(self, out: Path, base: str):
        self.out = Path(out)
        self.store = MemoStore(self.out / "cache" / "analyses")
        self.base = base
        self._found: dict[str, dict | None] = {}
        self.computed: list[str] = []  # ids of the analyses run (not reused) in this run

    def key(self, analysis_dict: dict) -> str:
        return digest(self.base, analysis_dict)

    def _made(self, status: dict, a_id: str) -> dict[str, list]:
        """The files an analysis made, as [fit hash, size, mtime] of each fit file and the SHA-256 of its
        tipping-point file."""
        made: dict[str, list] = {}
        for k, f in status.get("fits", {}).items():
            st = (self.out / "fits" / f"{k}.nc").stat()
            made[f"fits/{k}.nc"] = [f["fit_hash"], st.st_size, st.st_mtime_ns]
        if "tipping" in status:
            made[f"tipping/{a_id}.json"] = [file_digest(self.out / "tipping" / f"{a_id}.json")]
        return made

    def _complete(self, stored: dict) -> bool:
        """The files a stored analysis made are all still there and unchanged: a fit file of the same size and
        modification time, else one whose attrs are valid for its fit hash; the tipping-point file's bytes."""
        for rel, record in stored["made"].items():
            path = self.out / rel
            if rel.startswith("tipping/"):
                if not path.is_file() or file_digest(path) != record[0]:
                    return False
                continue
            try:
                st = path.stat()
            except OSError:
                return False
            if [st.st_size, st.st_mtime_ns] != record[1:] and not is_valid(path, record[0]):
                return False
        return True

    def lookup(self, a, analysis_dict: dict) -> dict | None:
        """The stored analysis ``a`` when its key is unchanged and its files complete, else None (a miss);
        looked up once per run."""
        if a.id not in self._found:
            stored = self.store.get(a.id, self.key(analysis_dict))
            if stored is not None and not self._complete(stored):
                log.info("analysis %s: stored, but a fit or tipping file it made is missing or changed", a.id)
                stored = None
            self._found[a.id] = stored
        return self._found[a.id]

    def all_stored(self, analyses, analysis_dicts: list[dict]) -> bool:
        """Whether every analysis would be reused (nothing to compute)."""
        return all(self.lookup(a, d) is not None for a, d in zip(analyses, analysis_dicts, strict=True))

    def run(self, ctx, a, analysis_dict: dict, status: dict, compute: Callable[[], list[dict]]) -> list[dict]:
        """The rows of analysis ``a``: reused when stored under its key and complete, else ``compute()``d
        (which fills ``status``, ``ctx.fit_columns`` and ``ctx.figures``) and stored."""
        stored = self.lookup(a, analysis_dict)
        if stored is not None:
            status.update(stored["status"], reused=True)
            for f in status.get("fits", {}).values():  # read from the cache in this run, not fitted
                f["status"] = "cached"
            if "tipping" in status:
                status["tipping"]["cached"] = True
            ctx.fit_columns.update(stored["fit_columns"])
            ctx.figures.curves.extend(frame_from_json(f) for f in stored["curves"])
            ctx.figures.km.extend(frame_from_json(f) for f in stored["km"])
            ctx.figures.mark_done(a.id, bool(stored["km"]))
            return stored["rows"]
        self.computed.append(a.id)
        n_curves, n_km = len(ctx.figures.curves), len(ctx.figures.km)
        rows = compute()
        fit_keys = status.get("fits", {})
        value: dict[str, Any] = {
            "id": a.id, "rows": rows, "status": status, "made": self._made(status, a.id),
            "fit_columns": {k: ctx.fit_columns[k] for k in fit_keys if k in ctx.fit_columns},
            "curves": [frame_to_json(f) for f in ctx.figures.curves[n_curves:]],
            "km": [frame_to_json(f) for f in ctx.figures.km[n_km:]],
        }
        self.store.put(a.id, self.key(analysis_dict), value)
        return rows

    @property
    def all_reused(self) -> bool:
        """No analysis of this run was computed (all came from ``cache/``)."""
        return not self.computed
