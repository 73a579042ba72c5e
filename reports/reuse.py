"""The report of a run folder, rebuilt only when something it is drawn from changed.

:func:`report_once` keeps, in ``<run>/cache/report.json``, the digest of the report's inputs — hccbayes' source
(:func:`hccbayes.memo.code_digest`) and every file of the run folder outside ``report/`` and ``cache/`` (its
bytes; a fit file by its name, size and modification time, since the fits are hundreds of megabytes and are only
ever replaced whole) — with the SHA-256 of every report file it wrote. While both are unchanged the report is
not drawn again and nothing is rewritten; ``hccbayes report RUN`` always rebuilds.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from hccbayes.memo import MemoStore, code_digest, digest, files_intact, files_record
from hccbayes.reports.build import build_report

log = logging.getLogger(__name__)

SKIPPED = ("report", "cache")


def report_inputs(run_dir: Path) -> str:
    """The digest of what the report of ``run_dir`` is drawn from (see the module docstring)."""
    run_dir = Path(run_dir)
    parts = []
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(run_dir)
        if rel.parts[0] in SKIPPED or path.name.endswith(".tmp"):
            continue
        if rel.parts[0] == "fits":
            stat = path.stat()
            parts.append((rel.as_posix(), stat.st_size, stat.st_mtime_ns))
        else:
            parts.append((rel.as_posix(), hashlib.sha256(path.read_bytes()).hexdigest()))
    return digest(code_digest(), parts)


def report_once(run_dir: str | Path) -> Path:
    """``<run_dir>/report`` (:func:`hccbayes.reports.build.build_report`) unless the report there was drawn from
    the same inputs and is intact; returns the path of report.html."""
    run_dir = Path(run_dir)
    memo, key, folder = MemoStore(run_dir / "cache"), report_inputs(run_dir), run_dir / "report"
    stored = memo.get("report", key)
    if stored is not None and files_intact(folder, stored):
        log.info("report of %s is up to date (nothing it is drawn from changed)", run_dir)
        return folder / "report.html"
    html = build_report(run_dir)["html"]
    memo.put("report", key, files_record(folder))
    return Path(html)
