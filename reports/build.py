"""``build_report(run_dir)``: every report file of a finished run, rebuilt from its outputs without
refitting — the entry point the run engine calls at the end of ``reproduce``/``run`` and the
``hccbayes report RUN_DIR`` command.

Reads the run folder alone (:mod:`hccbayes.reports.rundir`: the table, run.json, the fits' attrs, the
stored curves and study record, checks and tipping points); writes
``report.md``, ``report.html`` (one self-contained file), ``tables/*.csv`` + ``tables/*.tex`` (booktabs)
and ``figures/*.png`` + ``figures/*.svg`` under ``out`` (default: ``<run_dir>/report``). Every file is
written atomically (temporary file + rename). Figures are drawn on explicit ``matplotlib.figure.Figure``
objects; the ArviZ trace/rank plots go through pyplot, so the Agg backend is selected before they are
drawn (``matplotlib.use("Agg")``: a report build is headless) and each pyplot figure is closed after it
is saved.

Speed (a rebuild of a full run must take well under 15 s): tables are formatted from plain records,
each figure is drawn once per format and the figures are saved on every CPU available, by helper
processes started when the build starts (:mod:`hccbayes.reports.figure_writer`).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from hccbayes.atomic import write_text
from hccbayes.reports.document import Figure, Table
from hccbayes.reports.figure_writer import FigureWriter
from hccbayes.reports.html import render_html
from hccbayes.reports.markdown import render_markdown
from hccbayes.reports.rundir import RunData, load_run
from hccbayes.reports.tables_out import write_tables

log = logging.getLogger(__name__)


def _use_agg() -> None:
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")


def build_blocks(run: RunData) -> list:
    from hccbayes.reports.sections import report_blocks

    return report_blocks(run)


def build_report(run_dir: str | Path, out: str | Path | None = None, workers: int | None = None,
                 ) -> dict[str, Path | list[Path]]:
    """Write the report of the run in ``run_dir``; returns {"markdown", "html", "tables", "figures"}.
    ``workers``: processes that save the figures (default: the CPUs available; 1 = this process only)."""
    t0 = time.perf_counter()
    _use_agg()
    with FigureWriter(workers) as writer:  # helper processes start now, while the sections are built
        run = load_run(run_dir)
        out = Path(out) if out is not None else Path(run_dir) / "report"
        t_read = time.perf_counter()
        blocks = build_blocks(run)
        t_blocks = time.perf_counter()
        tables = [p for b in blocks if isinstance(b, Table)
                  for p in write_tables(b.frame, b.caption, b.name, out / "tables").values()]
        figs = [b for b in blocks if isinstance(b, Figure)]
        writer.save(figs, out / "figures")
    figures = [b.files[fmt] for b in figs for fmt in ("png", "svg")]
    t_files = time.perf_counter()
    title = next((b.text for b in blocks if getattr(b, "level", 0) == 1), "hccbayes report")
    md = write_text(out / "report.md", render_markdown(blocks))
    page = write_text(out / "report.html", render_html(blocks, title))
    end = time.perf_counter()
    log.info("report of %s written to %s in %.1f s (reading the run %.1f s, sections and figures %.1f s, "
             "figure and table files %.1f s, report.md/html %.1f s)", run_dir, out, end - t0, t_read - t0,
             t_blocks - t_read, t_files - t_blocks, end - t_files)
    return {"markdown": md, "html": page, "tables": tables, "figures": figures}
