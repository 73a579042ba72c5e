"""Tipping points inside a run: for every survival analysis with ``tipping_points = true`` in its plan,
the prior at which P(HR < 1) of its contrast crosses 0.95 and 0.5 (:func:`.tipping.survival_tipping_points`
on the analysis' first model, starting from its primary prior set) — the run engine makes them
``tipping_point`` rows of the comparison table (:func:`.tipping.tipping_rows`); the file is also the curve
the report draws.

The search refits the compiled model (one compile per structure, shared with the run's other fits) about
a dozen times per analysis — with local worker processes, in the worker that fits the same model structure
(:class:`TippingJob`, run in that structure's batch), so no process compiles the structure twice; its result is cached in ``<run>/tipping/<analysis>.json`` under a hash of
everything it depends on (the fit inputs of the base prior set, the MCID, the targets and the search
settings), so a re-run or a resumed run reads it instead of searching again. The file also holds every
evaluated point (prior parameter, P(HR < 1)) — the tipping-point curve.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hccbayes.atomic import write_text
from hccbayes.inference.fitting.cache import fit_inputs
from hccbayes.inference.sensitivity.tipping import TippingPoint, survival_tipping_points

log = logging.getLogger(__name__)

TARGETS = (0.95, 0.5)
MAX_EVALS = 12
FORMAT = 2  # bump when the search or the file changes meaning (2: refits through the diagnostics gate)


def search_key(data, priors, spec, settings, seed: int, mcid: float) -> str:
    inputs = fit_inputs(data, priors, spec, settings, seed)
    canon = {**inputs, "mcid": float(mcid), "targets": list(TARGETS), "max_evals": MAX_EVALS, "format": FORMAT}
    return hashlib.sha256(json.dumps(canon, sort_keys=True, default=str).encode()).hexdigest()


def _load(path: Path, key: str) -> list[TippingPoint] | None:
    """The stored searches when the file exists, is readable and was made from these inputs; else None
    (then the search runs again and rewrites the file)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("key") != key:
            return None
        return [TippingPoint(**{**p, "bracket": tuple(p["bracket"]) if p["bracket"] else None,
                                "points": tuple(tuple(xy) for xy in p["points"])}) for p in stored["points"]]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError) as err:
        log.warning("tipping-point file %s unusable (%s: %s): searching again", path, type(err).__name__, err)
        return None


def save_search(path: Path, key: str, analysis: str, model: str, prior_set: str,
                points: list[TippingPoint]) -> None:
    """Write one analysis' searches (and every evaluated point: the curve) atomically as JSON."""
    write_text(path, json.dumps({"key": key, "analysis": analysis, "model": model, "prior_set": prior_set,
                                 "points": [asdict(p) for p in points]}, indent=1))


def tipping_search(analysis: str, data, spec, priors, prior_set: str, settings, seed: int, cache, mcid: float,
                   out: Path) -> tuple[list[TippingPoint], bool]:
    """The tipping-point searches of one analysis from the fit inputs of ``prior_set``: read from
    ``out/tipping/<analysis>.json`` when that was made from these inputs, else searched and stored there;
    returns (the searches, whether they were read rather than searched)."""
    key = search_key(data, priors, spec, settings, seed, mcid)
    path = out / "tipping" / f"{analysis}.json"
    points = _load(path, key)
    cached = points is not None
    if not cached:
        log.info("tipping points of %s (%s): searching", analysis, spec.model)
        points = survival_tipping_points(data, spec, settings, seed, cache, mcid=mcid, base=priors,
                                         targets=TARGETS, max_evals=MAX_EVALS)
        save_search(path, key, analysis, spec.model, prior_set, points)
    return points, cached


@dataclass(frozen=True)
class TippingJob:
    """One analysis' tipping-point search as a job a worker process can run beside the fits of its model
    structure (:mod:`hccbayes.inference.engine.tasks`), with that worker's compiled model; the run then reads
    its file (:func:`tipping_search` finds it made from the same inputs)."""

    analysis: str
    data: Any
    spec: Any
    priors: Any
    prior_set: str
    settings: Any
    seed: int
    mcid: float
    out: Path

    @property
    def key(self) -> str:
        return f"tipping:{self.analysis}"

    def done(self) -> bool:
        """Whether ``out/tipping/<analysis>.json`` holds this search (made from the same inputs)."""
        key = search_key(self.data, self.priors, self.spec, self.settings, self.seed, self.mcid)
        return _load(self.out / "tipping" / f"{self.analysis}.json", key) is not None

    def search(self, cache) -> tuple[list[TippingPoint], bool]:
        return tipping_search(self.analysis, self.data, self.spec, self.priors, self.prior_set, self.settings,
                              self.seed, cache, self.mcid, self.out)
