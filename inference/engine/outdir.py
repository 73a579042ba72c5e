"""The run folder: its identity (hashes of the plan and of the study's files), the guard that refuses
another run's outputs, and run.json.

A directory that holds another run's outputs (a different plan or study hash) is refused unless
``force``; the same plan re-run into the same directory reuses every valid fit. Temporary files an
interrupted run left behind are removed.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hccbayes.atomic import write_text
from hccbayes.data.study import STUDIES_DIR
from hccbayes.errors import HccbayesError, Problem
from hccbayes.inference.fitting.cache import clean_temporary


class OutputDirError(HccbayesError):
    """The output directory cannot be used (not writable, or another run's outputs)."""


def _sha(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()


def identity(plan, study, cohort_path: Path) -> dict[str, str]:
    """The plan hash (of the plan as data) and the study hash (study.toml, published.toml, the cohort)."""
    raw = json.dumps(plan.raw, sort_keys=True, default=str).encode()
    files = [study.folder / "study.toml", study.published_path, cohort_path]
    return {"plan_hash": _sha(raw), "study_hash": _sha(*(p.read_bytes() if p.is_file() else b"" for p in files))}


def study_ref(study) -> str:
    """The bundled name when the study is the bundled one, else its folder (both load_study inputs)."""
    return study.name if study.folder == (STUDIES_DIR / study.name).resolve() else str(study.folder)


def write_run_json(run: dict, out: Path) -> None:
    write_text(out / "run.json", json.dumps(run, indent=1, default=str, sort_keys=False))


def prepare_out(out: Path, ident: dict[str, str], force: bool) -> None:
    """Check, then create, the output directory: another run's outputs (or any other files) are refused
    unless ``force`` — and a refused run writes nothing, not even an empty folder."""
    if out.exists() and not out.is_dir():
        raise OutputDirError(Problem(str(out), "is a file, not a directory", "choose a directory with --out"))
    run_json = out / "run.json"
    if run_json.is_file():
        try:
            old = json.loads(run_json.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            old = {}
        theirs = {k: old.get(k) for k in ident}
        if theirs != ident and not force:
            raise OutputDirError(Problem(str(out), "holds the outputs of a different run (plan or study "
                                         f"hash differs: {theirs.get('plan_hash', '?')!s:.12} vs "
                                         f"{ident['plan_hash']:.12})",
                                         "choose another --out directory, or pass --force to overwrite"))
    elif out.is_dir() and any(p.name != "fits" for p in out.iterdir()) and not force:
        raise OutputDirError(Problem(str(out), "is not empty and holds no run.json of an hccbayes run",
                                     "choose an empty or new --out directory, or pass --force"))
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "fits").mkdir(exist_ok=True)
        probe = out / ".write-probe.tmp"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise OutputDirError(Problem(str(out), f"cannot write there ({err.strerror or err})",
                                     "choose a writable directory with --out")) from None
    for folder in (out, out / "fits", out / "tipping", out / "checks", out / "study"):
        clean_temporary(folder)
