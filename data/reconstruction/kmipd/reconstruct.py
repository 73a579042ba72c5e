"""Patient data from published Kaplan–Meier curves: read, clean, reconstruct, write.

:func:`ipd_from_km` is the whole of it for Python users (``hccbayes ipd-from-km`` on the command line):
the digitised curves, the numbers-at-risk table and optionally the total events per group (paths or
DataFrames, see :mod:`.inputs`) in, one row per reconstructed patient out (``group, time, event``),
with the cleaned curves and every assumption made kept beside it for the fidelity check
(:func:`hccbayes.inference.frequentist.kmipd_fidelity.fidelity_table`) and the figure
(:func:`hccbayes.reports.kmipd_figure.reconstruction_figure`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hccbayes.atomic import write_csv
from hccbayes.data.reconstruction.kmipd.clean import Prepared, prepare
from hccbayes.data.reconstruction.kmipd.guyot import GroupIPD, reconstruct_group
from hccbayes.data.reconstruction.kmipd.inputs import GroupInput, Source, read_inputs

log = logging.getLogger(__name__)

__all__ = ["Reconstruction", "ipd_from_km", "write_ipd"]

TIME_DECIMALS = 6  # output times are rounded here: evenly spread censoring times carry long decimals


@dataclass(frozen=True)
class Reconstruction:
    """The reconstructed patients (``ipd``: group, time, event) and, per group, the inputs as read
    (``inputs``), the prepared curve and table (``prepared``) and the algorithm's result with the notes of
    every cleaning step and assumption (``groups``; all notes: ``notes``)."""

    ipd: pd.DataFrame
    inputs: dict[str, GroupInput]
    prepared: dict[str, Prepared]
    groups: dict[str, GroupIPD]
    seed: int
    sources: dict[str, str]

    @property
    def notes(self) -> list[str]:
        return [f"group '{g}': {note}" for g, r in self.groups.items() for note in r.notes]

    @property
    def at_risk(self) -> pd.DataFrame:
        """The table the reconstruction was asked to meet (group, time, n_risk), after alignment."""
        return pd.concat([pd.DataFrame({"group": g, "time": p.risk_time, "n_risk": p.n_risk})
                          for g, p in self.prepared.items()], ignore_index=True)


def _frame(groups: dict[str, GroupIPD]) -> pd.DataFrame:
    parts = []
    for g, r in groups.items():
        time = np.round(np.r_[r.event_times, r.censor_times], TIME_DECIMALS)
        event = np.r_[np.ones(len(r.event_times), int), np.zeros(len(r.censor_times), int)]
        order = np.lexsort((-event, time))
        parts.append(pd.DataFrame({"group": g, "time": time[order], "event": event[order]}))
    return pd.concat(parts, ignore_index=True)


def _name(source) -> str:
    return "<DataFrame>" if isinstance(source, pd.DataFrame) else str(source)


def ipd_from_km(curves: Source, at_risk: Source, events: Source | None = None, seed: int = 0) -> Reconstruction:
    """Reconstruct one row per patient from digitised KM curves (Guyot et al. 2012; see :mod:`.guyot`).

    ``curves``: ``group,time,survival``; ``at_risk``: ``group,time,n_risk``; ``events`` (optional):
    ``group,events`` — paths of CSV files or DataFrames with those columns. Raises
    :class:`~hccbayes.data.reconstruction.kmipd.inputs.CurveError` naming every problem of the inputs. The result is
    deterministic for ``seed`` (which only breaks exact half-way roundings).
    """
    inputs = {g.name: g for g in read_inputs(curves, at_risk, events)}
    prepared = {name: prepare(g) for name, g in inputs.items()}
    groups = {name: reconstruct_group(p, seed) for name, p in prepared.items()}
    ipd = _frame(groups)
    for g, r in groups.items():
        log.info("group '%s': %d patients, %d events", g, r.n, len(r.event_times))
    sources = {"curves": _name(curves), "at_risk": _name(at_risk)}
    if events is not None:
        sources["events"] = _name(events)
    return Reconstruction(ipd, inputs, prepared, groups, seed, sources)


def write_ipd(ipd: pd.DataFrame, path: str | Path) -> Path:
    """Write ``group,time,event`` rows as CSV, atomically (temporary file, then rename)."""
    path = Path(path)
    write_csv(ipd, path)
    return path
