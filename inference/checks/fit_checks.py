"""The checks of each stored fit — power-scaling sensitivity, posterior predictive KM — and PSIS-LOO of each
analysis' models under one prior set: kept under the content hash of their inputs, computed for what is
missing only, group by group (one analysis and prior set: its fits are read once), on an executor's processes
when one is given (:mod:`hccbayes.inference.engine.executors`; results are the same on any executor: no
check draws from a process' state, each takes its seed).

A fit's checks are kept under the digest of the code (:func:`hccbayes.memo.code_digest`), its fit hash, the
analysis, ``n_rep``, the seed and its group labels; a LOO comparison under the code and the hashes of the fits
it compares. A fit without a hash (``""``) is checked every time.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from hccbayes.inference.checks.model_checks import compare_models, loo_summary
from hccbayes.inference.checks.ppc import posterior_predictive_km
from hccbayes.inference.engine.executors import InlineExecutor, Task, run_tasks
from hccbayes.inference.fitting.cache import read_groups
from hccbayes.inference.sensitivity.power_scaling import power_scaling
from hccbayes.memo import MemoStore, code_digest, digest, frame_from_json, frame_to_json

log = logging.getLogger(__name__)

GROUPS = ("posterior", "log_likelihood", "log_prior")
CHECK_GROUP = "hccbayes.inference.checks.fit_checks:check_group"
PER_FIT = ("psense", "ppc", "ppc_bands")


class CheckMemo:
    """Frames kept in a :class:`~hccbayes.memo.MemoStore` under ``checks/<name>``; without a store, or for
    inputs without a hash, every lookup misses and nothing is kept."""

    def __init__(self, store: MemoStore | None):
        self.store = store

    def key(self, hashes: tuple[str, ...], *parts: Any) -> str | None:
        return digest(code_digest(), *hashes, *parts) if self.store is not None and all(hashes) else None

    def get(self, name: str, key: str | None) -> dict[str, pd.DataFrame] | None:
        stored = self.store.get(f"checks/{name}", key) if key is not None else None
        return None if stored is None else {k: frame_from_json(v) for k, v in stored.items()}

    def put(self, name: str, key: str | None, frames: dict[str, pd.DataFrame]) -> None:
        if key is not None:
            self.store.put(f"checks/{name}", key, {k: frame_to_json(v) for k, v in frames.items()})


def fit_checks(f, dt, labels: tuple[str, str] | None, n_rep: int, seed: int) -> dict[str, pd.DataFrame]:
    """Power-scaling and posterior predictive KM (by the contrast's two groups when ``labels``) of one fit."""
    tag = dict(analysis=f.analysis, model=f.model, prior_set=f.prior_set)
    x = f.data.X[:, f.data.terms.index(f.spec.contrast_term)] if labels is not None else None
    groups = None if labels is None else np.where(np.isnan(x), "missing (imputed)",
                                                  np.where(x > 0, labels[1], labels[0]))
    ppc = posterior_predictive_km(dt, f.data, f.spec, groups=groups, n_rep=n_rep, seed=seed)
    return {"psense": power_scaling(dt).assign(**tag), "ppc": ppc.summary.assign(**tag),
            "ppc_bands": ppc.band.assign(**tag)}


def loo_frame(analysis: str, prior: str, models: Mapping[str, Any]) -> pd.DataFrame:
    """PSIS-LOO of one model, or the comparison of several (``models``: model -> DataTree)."""
    if len(models) > 1:
        return compare_models(models).assign(analysis=analysis, prior_set=prior)
    ((model, dt),) = models.items()
    return pd.DataFrame([{"model": model, **loo_summary(dt)}]).assign(analysis=analysis, prior_set=prior)


def check_group(args: Mapping[str, Any], seed: int, context=None) -> dict[str, dict[str, pd.DataFrame]]:
    """Task kind: the missing checks of one analysis and prior set — ``fit/<key>`` for each fit in
    ``args["fits_to_check"]`` and ``loo/<analysis>__<prior>`` when ``args["loo"]`` — each fit read once."""
    fits, read = args["fits"], {}

    def dt(f):
        if f.key not in read:
            read[f.key] = read_groups(Path(f.path), GROUPS)
        return read[f.key]

    out = {f"fit/{f.key}": fit_checks(f, dt(f), args["labels"][f.key], args["n_rep"], seed)
           for f in fits if f.key in args["fits_to_check"]}
    if args["loo"]:
        out[args["loo"]] = {"loo": loo_frame(args["analysis"], args["prior_set"], {f.model: dt(f) for f in fits})}
    return out


class Pending:
    """The checks a run wants, registered first (:meth:`want`: a task per group of memo names) and resolved
    after (:meth:`run`): names found in the memo are read, the others computed by their group's task on the
    missing names only, and kept."""

    def __init__(self, memo: CheckMemo):
        self.memo = memo
        self.keys: dict[str, str | None] = {}
        self.found: dict[str, dict[str, pd.DataFrame]] = {}
        self._groups: list[tuple[str, str, int, list[str], Callable[[list[str]], Mapping[str, Any]]]] = []

    def want(self, task_key: str, kind: str, seed: int, names: Mapping[str, str | None],
             args: Callable[[list[str]], Mapping[str, Any]]) -> None:
        """Memo names (-> keys) computed together by task ``kind`` with ``args(missing names)`` when missing."""
        self.keys.update(names)
        self._groups.append((task_key, kind, seed, list(names), args))

    def whole_key(self, *parts: Any) -> str | None:
        """The key of everything wanted (None when something has no key: then nothing is kept whole)."""
        keys = tuple(self.keys.values())
        return self.memo.key(keys, *parts) if keys and all(keys) else None

    def run(self, executor=None) -> dict[str, dict[str, pd.DataFrame]]:
        """Read or compute (on ``executor``; None: this process) every name wanted; returns name -> frames."""
        tasks = []
        for task_key, kind, seed, names, args in self._groups:
            self.found.update({n: f for n in names if (f := self.memo.get(n, self.keys[n])) is not None})
            missing = [n for n in names if n not in self.found]
            if missing:
                tasks.append(Task(task_key, kind, args(missing), seed, digest(*(self.keys[n] or n for n in missing))))

        def keep(task: Task, result: dict[str, dict[str, pd.DataFrame]]) -> None:
            for name, frames in result.items():
                self.memo.put(name, self.keys[name], frames)
            self.found.update(result)

        if tasks:
            log.info("model checks: %d task(s) to compute, %d result(s) kept", len(tasks), len(self.found))
            run_tasks(tasks, executor or InlineExecutor(), keep)
        return self.found


def plan_fit_checks(fits: Sequence, labels: Mapping[str, tuple[str, str] | None], n_rep: int, seed: int,
                    pending: Pending) -> list[tuple[str, str]]:
    """Want the checks of ``fits`` in ``pending``, one task per analysis and prior set (its fits are read once);
    returns the (analysis, prior set) groups in order."""
    groups: dict[tuple[str, str], list] = {}
    for f in fits:
        groups.setdefault((f.analysis, f.prior_set), []).append(f)
    for (analysis, prior), group in groups.items():
        names = {f"fit/{f.key}": pending.memo.key((f.fit_hash,), f.analysis, n_rep, seed, labels[f.key])
                 for f in group}
        names[f"loo/{analysis}__{prior}"] = pending.memo.key(tuple(f.fit_hash for f in group),
                                                             [f.model for f in group])

        def args(missing: list[str], group=group, analysis=analysis, prior=prior) -> dict[str, Any]:
            return {"fits": group, "fits_to_check": [n[4:] for n in missing if n.startswith("fit/")],
                    "loo": next((n for n in missing if n.startswith("loo/")), ""), "labels": labels,
                    "n_rep": n_rep, "analysis": analysis, "prior_set": prior}

        pending.want(f"checks__{analysis}__{prior}", CHECK_GROUP, seed, names, args)
    return list(groups)


def fit_check_frames(fits: Sequence, groups: list[tuple[str, str]], found: Mapping[str, dict[str, pd.DataFrame]],
                     ) -> dict[str, list[pd.DataFrame]]:
    """{"psense", "ppc", "ppc_bands": frames of ``fits`` in their order, "loo": one frame per group}."""
    frames: dict[str, list[pd.DataFrame]] = {name: [found[f"fit/{f.key}"][name] for f in fits] for name in PER_FIT}
    frames["loo"] = [found[f"loo/{analysis}__{prior}"]["loo"] for analysis, prior in groups]
    return frames
