"""Saving a report's figures as PNG and SVG — on every CPU the process may use.

Drawing a figure is single-threaded matplotlib work (0.1–0.6 s per figure for both formats) and a full
run's report has about twenty: saving them is half of a rebuild. :class:`FigureWriter` starts helper
processes when the build starts — ``spawn``ed fresh interpreters (no ``fork`` of this process, which
holds BLAS and allocator threads), so their imports overlap the building of the sections — then sends
each helper a round-robin share of the finished figures (pickled matplotlib ``Figure`` objects) while
this process saves the rest; this process reads the helpers' PNG bytes back for the HTML. Figures owned
by pyplot (ArviZ's trace and rank plots) are saved here. A helper that fails is logged and its figures
are saved here; with one CPU or ``workers=1`` everything is saved here, with identical files.

Each figure is drawn once per format from the same ``Figure``; its layout engine runs in the PNG draw
and that layout is then frozen, so the SVG does not lay the figure out again. PNGs use zlib level 1
(about 7% larger, much faster to encode) at :data:`PNG_DPI`; SVGs keep their text as text
(``svg.fonttype = "none"``: smaller, faster, editable in a paper's figure).
"""
from __future__ import annotations

import io
import logging
import multiprocessing
import os
from pathlib import Path

from hccbayes.atomic import write_bytes
from hccbayes.reports.document import Figure

log = logging.getLogger(__name__)

PNG_DPI = 110
FORMATS = ("png", "svg")
SAVE_OPTIONS = {"png": {"dpi": PNG_DPI, "pil_kwargs": {"compress_level": 1}},
                "svg": {"metadata": {"Date": None}}}
# svg.hashsalt: the ids of an SVG's clip paths and markers are hashes salted with a random UUID unless a
# salt is set; a fixed one makes the same figure the same bytes in every run
RC = {"svg.fonttype": "none", "svg.hashsalt": "hccbayes"}


def figure_paths(b: Figure, folder: Path) -> dict[str, Path]:
    return {fmt: folder / f"{b.name}.{fmt}" for fmt in FORMATS}


def save_figure(b: Figure, folder: Path) -> None:
    """Write ``b`` as PNG and SVG under ``folder``; fills ``b.files`` (paths and the PNG bytes)."""
    import matplotlib

    for fmt, path in figure_paths(b, folder).items():
        buf = io.BytesIO()
        with matplotlib.rc_context(RC):
            b.fig.savefig(buf, format=fmt, **SAVE_OPTIONS[fmt])
        if b.fig.get_layout_engine() is not None:  # laid out by the PNG draw: keep that layout
            b.fig.set_layout_engine("none")
        data = buf.getvalue()
        b.files[fmt] = write_bytes(path, data)
        if fmt == "png":
            b.files["png_bytes"] = data
    _close(b)


def _close(b: Figure) -> None:
    import matplotlib.pyplot as plt

    if plt.fignum_exists(getattr(b.fig, "number", -1)):  # ArviZ's figures go through pyplot
        plt.close(b.fig)


def _save_share(figures: list[Figure], folder: Path) -> None:
    for b in figures:
        save_figure(b, folder)


def _save_in_helper(figs: list, names: list[str], folder: Path) -> None:
    """Helper-process task: save pickled matplotlib figures under the given names."""
    _save_share([Figure(name, "", fig) for name, fig in zip(names, figs)], folder)


def _prepare() -> None:
    """Helper start-up: headless backend and the modules the figures' pickles refer to."""
    import matplotlib

    matplotlib.use("Agg")
    import hccbayes.reports.figures  # noqa: F401 (formatters of the log axes)


def _on_pyplot(b: Figure) -> bool:
    import matplotlib.pyplot as plt

    return plt.fignum_exists(getattr(b.fig, "number", -1))


def available_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class FigureWriter:
    """Saves figures with ``workers`` processes in all (default: the CPUs available); use as a context
    manager opened early, so that the helpers start while the report's sections are built."""

    def __init__(self, workers: int | None = None):
        cpus = available_cpus()
        self.helpers = max(0, min(workers or cpus, cpus) - 1)
        self.pool = None
        if self.helpers:
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(self.helpers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_prepare)
            self.warm = [self.pool.submit(_prepare) for _ in range(self.helpers)]  # start them now

    def __enter__(self) -> "FigureWriter":
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def save(self, figures: list[Figure], folder: Path) -> None:
        """Save every figure (:func:`save_figure`); every ``Figure.files`` is filled."""
        folder.mkdir(parents=True, exist_ok=True)
        shareable = [b for b in figures if not _on_pyplot(b)] if self.pool is not None else []
        n = self.helpers + 1
        shares = [shareable[i::n] for i in range(1, n)] if len(shareable) > 1 else []
        sent = {id(b) for share in shares for b in share}
        futures = [(share, self.pool.submit(_save_in_helper, [b.fig for b in share], [b.name for b in share],
                                            folder)) for share in shares if share]
        _save_share([b for b in figures if id(b) not in sent], folder)
        for share, future in futures:
            try:
                future.result()
            except Exception as err:  # a dead helper, an unpicklable figure ...: save the share here
                log.warning("figure helper failed (%s: %s): saving its %d figures here", type(err).__name__, err,
                            len(share))
                _save_share(share, folder)
                continue
            for b in share:
                paths = figure_paths(b, folder)
                b.files.update(paths, png_bytes=paths["png"].read_bytes())
