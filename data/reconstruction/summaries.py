"""Reconstruct a pseudo-patient cohort from a study's published summaries.

``reconstruct(study, seed, out)`` reads the targets from ``published.toml`` (via the registry) and the
study's choices from ``reconstruction.toml``, then builds, in this order and with one seeded generator:

1. baseline columns (:mod:`~hccbayes.data.reconstruction.baseline`): exact per-arm counts, pinned per-arm
   quartiles, coherent adverse events;
2. survival profiles (:mod:`~hccbayes.data.reconstruction.survival`): regimen KM medians pinned exactly,
   best responses coherent with PFS;
3. the arrangement search (:mod:`~hccbayes.data.reconstruction.search`): who gets which value and which
   profile, towards the published hazard ratios and covariate-stratum medians.

The rows are pseudo-patients, not patient records. The CSV is written with fixed decimals so that the
same seed gives the same bytes; :func:`hccbayes.inference.frequentist.fidelity.fidelity` reports how close it
came to every target.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from hccbayes.atomic import write_text
from hccbayes.data.published.registry import load_registry
from hccbayes.data.reconstruction.baseline import baseline_frame
from hccbayes.data.reconstruction.search import search
from hccbayes.data.reconstruction.survival import build_profiles, endpoint_pair
from hccbayes.data.reconstruction.targets import ReconstructionError, collect_targets, load_settings
from hccbayes.data.schema import cohort_schema
from hccbayes.data.study import Study, load_study

log = logging.getLogger(__name__)
__all__ = ["reconstruct", "write_cohort", "ReconstructionError", "DEFAULT_SEED"]
DEFAULT_SEED = 20250212


def _as_study(study: Study | str | Path | None) -> Study:
    return study if isinstance(study, Study) else load_study(study)


def reconstruct(study: Study | str | Path | None = None, seed: int | None = None,
                out: str | Path | None = None) -> pd.DataFrame:
    """The pseudo-patient cohort of ``study`` (default: the default bundled study; a DataFrame in the cohort schema's column order);
    written to ``out`` when given. ``seed`` defaults to reconstruction.toml's ``seed``."""
    study = _as_study(study)
    settings = load_settings(study)
    targets = collect_targets(study, load_registry(study.folder), settings)
    seed = int(settings.get("seed", DEFAULT_SEED)) if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    log.info("reconstructing %s with seed %d", study.name, seed)
    df = baseline_frame(study, targets, settings, rng)
    prof, resp = build_profiles(study, targets, settings, df[study.regimen_column].to_numpy(),
                                df[study.arm_column].to_numpy(), rng)
    profile_cols = []
    pair = endpoint_pair(study)
    for ep in study.endpoints:
        time, event = prof.series(ep.name, pair)
        df[ep.time] = time
        df[ep.event] = event.astype(int)
        profile_cols += [ep.time, ep.event]
    if study.response is not None:
        df[study.response.column] = resp
        profile_cols.append(study.response.column)
    df = search(df, study, targets, settings, profile_cols, rng)
    df = df[list(cohort_schema(study).names)]
    if out is not None:
        write_cohort(df, study, settings, out)
    return df


def _formatters(study: Study, settings: dict) -> dict[str, str]:
    cont = settings.get("continuous", {})
    fmt = {}
    for ep in study.endpoints:
        fmt[ep.time] = "{:.2f}"
    for c in study.columns:
        if c.type == "continuous":
            dec = int({**cont.get("default", {}), **cont.get(c.name, {})}.get("decimals", 2))
            fmt[c.name] = f"{{:.{dec}f}}"
    return fmt


def write_cohort(df: pd.DataFrame, study: Study, settings: dict | None, path: str | Path) -> Path:
    """Write ``df`` as CSV with fixed decimals and '\\n' line ends (byte-stable across platforms)."""
    fmt = _formatters(study, settings if settings is not None else load_settings(study))
    cols = list(df.columns)
    lines = [",".join(cols)]
    values = {c: df[c].tolist() for c in cols}
    for i in range(len(df)):
        cells = []
        for c in cols:
            v = values[c][i]
            if v is None or (isinstance(v, float) and np.isnan(v)):
                cells.append("")
            elif c in fmt:
                cells.append(fmt[c].format(float(v)))
            elif isinstance(v, (bool, np.bool_)):
                cells.append(str(int(v)))
            elif isinstance(v, (float, np.floating)) and float(v).is_integer():
                cells.append(str(int(v)))
            else:
                cells.append(str(v))
        lines.append(",".join(cells))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, "\n".join(lines) + "\n")
    log.info("wrote %d pseudo-patients to %s", len(df), path)
    return path
