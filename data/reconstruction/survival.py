"""Survival profiles of the pseudo-patients: per regimen, (PFS, OS, events, best response) tuples whose
Kaplan–Meier medians equal the published regimen medians exactly.

Per regimen, candidates are drawn from a Weibull model (shape drawn from a range, scale set by the
published median), censored patients get follow-up times inside the study window, and the event times
are then rescaled until the KM median *is* the published median (a pure rescaling keeps the curve's
shape; it is repeated because censored times do not move). PFS of a patient who progressed is a
fraction of their OS, rescaled the same way and never above OS. Where S(t) would sit at exactly 0.5 the
next event is moved to 0.02 months later, so that R's midpoint rule and the "first time S <= 0.5" rule
agree to within 0.01 months. One candidate per regimen is then chosen to bring the pooled arm and
overall medians (and every published CI) close: a seeded random search over combinations followed by
coordinate passes. Best responses are dealt per arm: progressive disease to patients whose progression
came at or before the first assessment, objective responses preferentially to long PFS.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from hccbayes.data.reconstruction.compare import is_better
from hccbayes.data.reconstruction.fast import km_median, km_median_ci_collett
from hccbayes.data.reconstruction.targets import MedianTarget, ReconstructionError, Targets, response_window
from hccbayes.data.study import Study
from hccbayes.errors import Problem

log = logging.getLogger(__name__)
PLATEAU_GAP = 0.02


def endpoint_pair(study: Study) -> tuple[str, str]:
    """(final, progression): the names of the endpoint that implies another (overall survival: a death is
    also a progression event) and of the one it implies, as study.toml declares them with ``implies``."""
    final = next((e for e in study.endpoints if e.implies), None)
    if final is None:
        raise ReconstructionError(Problem(str(study.folder / "study.toml"), "the reconstruction from published "
                                          "summaries needs a death endpoint that implies a progression endpoint",
                                          'set implies = "<progression endpoint>" on the death endpoint'))
    return final.name, final.implies


@dataclass
class Profiles:
    """Per patient the progression endpoint (``pfs``) and the final endpoint (``os``) of :func:`endpoint_pair`."""

    pfs: np.ndarray
    pfs_event: np.ndarray
    os: np.ndarray
    os_event: np.ndarray

    def series(self, endpoint: str, pair: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        """(time, event) of the study endpoint ``endpoint``, one of ``pair`` (:func:`endpoint_pair`)."""
        if endpoint not in pair:
            raise ReconstructionError(Problem("study.toml", f"endpoint {endpoint!r} is neither of the reconstructed "
                                              f"pair {pair}", "reconstruct a study with these two endpoints only"))
        return (self.os, self.os_event) if endpoint == pair[0] else (self.pfs, self.pfs_event)

    def take(self, idx) -> "Profiles":
        return Profiles(self.pfs[idx], self.pfs_event[idx], self.os[idx], self.os_event[idx])

    @staticmethod
    def concat(parts: list["Profiles"]) -> "Profiles":
        return Profiles(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                          ("pfs", "pfs_event", "os", "os_event")))


def allocate(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of ``total`` proportional to ``weights``."""
    w = np.asarray(weights, float)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - out), kind="stable")[: total - out.sum()]:
        out[i] += 1
    return out.tolist()


def pin_median(times: np.ndarray, events: np.ndarray, target: float, movable: np.ndarray,
               cap: np.ndarray | None = None) -> bool:
    """Rescale ``times[movable]`` (in place) until the KM median equals ``target``; False if it fails."""
    for _ in range(40):
        m = km_median(times, events)
        if not np.isfinite(m) or m <= 0:
            return False
        if abs(m - target) < 1e-9:
            break
        times[movable] *= target / m
        if cap is not None:
            np.minimum(times, cap, out=times)
    else:
        return False
    # exact value at the median-defining event, and no flat at exactly 0.5 (R midpoint rule)
    ev = np.sort(np.unique(times[events]))
    k = np.searchsorted(ev, target - 1e-9)
    if k + 1 < ev.size:
        at_risk = lambda t: int((times >= t).sum())  # noqa: E731
        surv = np.cumprod([1 - int(((times == t) & events).sum()) / at_risk(t) for t in ev[: k + 1]])
        if abs(surv[-1] - 0.5) < 1e-9:
            nxt = np.flatnonzero(events & (times == ev[k + 1]))
            times[nxt] = np.minimum(times[nxt], target + PLATEAU_GAP)
    np.round(times, 2, out=times)
    if cap is not None:
        np.minimum(times, cap, out=times)
    return abs(km_median(times, events) - target) <= PLATEAU_GAP / 2 + 1e-9


def regimen_candidate(rng: np.random.Generator, n: int, n_cens: int, med_os: float, med_pfs: float,
                      s: dict[str, Any]) -> Profiles | None:
    """One seeded draw of a regimen's profiles with pinned medians (None if pinning failed)."""
    k_lo, k_hi = s.get("weibull_shape", [1.0, 1.8])
    c_lo, c_hi = s.get("censor_window", [4.0, 30.0])
    r_lo, r_hi = s.get("pfs_os_ratio", [0.15, 0.95])
    shape = rng.uniform(k_lo, k_hi)
    latent = med_os / np.log(2) ** (1 / shape) * rng.weibull(shape, n)
    ranks = np.argsort(np.argsort(latent)) + 1.0
    cens = np.zeros(n, bool)
    if n_cens:
        cens[rng.choice(n, n_cens, replace=False, p=ranks ** 2 / (ranks ** 2).sum())] = True
    follow = rng.uniform(c_lo, c_hi, n)
    os_t = np.where(cens, np.clip(np.minimum(follow, latent * rng.uniform(0.6, 1.0, n)), c_lo, c_hi), latent)
    os_t = np.round(os_t, 2)
    ev = ~cens
    if not pin_median(os_t, ev, med_os, ev.copy()):
        return None
    ratio = np.sort(rng.uniform(r_lo, r_hi, n))[np.argsort(np.argsort(rng.normal(size=n)))]
    pfs_t = np.where(ev, np.round(os_t * ratio, 2), os_t)
    pfs_t = np.maximum(pfs_t, 0.1)
    if not pin_median(pfs_t, ev, med_pfs, ev.copy(), cap=os_t):
        return None
    return Profiles(pfs_t, ev.copy(), os_t, ev.copy())


def _ci_loss(t: MedianTarget, time: np.ndarray, event: np.ndarray, tol: float) -> float:
    med, lo, hi = km_median_ci_collett(time, event)
    loss = 0.0 if t.hard else ((med - t.estimate) / 0.5) ** 2 * 4 if np.isfinite(med) else 100.0
    for pub, got in ((t.lower, lo), (t.upper, hi)):
        if pub is not None:
            loss += ((got - pub) / tol) ** 2 if np.isfinite(got) else 4.0
    return loss


def response_plan(study: Study, targets: Targets, settings: dict[str, Any], prof: Profiles,
                  arms: np.ndarray, rng: np.random.Generator | None) -> tuple[np.ndarray | None, int]:
    """Best response per patient (None without a response column) and the number of violations."""
    if study.response is None:
        return None, 0
    rs = settings.get("response", {})
    progressive = list(rs.get("progressive", ["PD"]))
    window = response_window(study, settings)
    if window is None:
        raise ReconstructionError(Problem(str(study.folder / "reconstruction.toml"),
                                          "best responses need the assessment schedule",
                                          "set pd_latest_progression and non_pd_earliest_progression (the "
                                          "study's time unit) under [reconstruction.response]"))
    late, early = window
    out = np.empty(len(arms), dtype=object)
    bad = 0
    for arm in study.arm_names:
        idx = np.flatnonzero(arms == arm)
        counts = targets.counts_for(study.response.column, arm)
        n_pd = sum(counts.get(c, 0) for c in progressive)
        pfs, ev = prof.pfs[idx], prof.pfs_event[idx]
        forced = idx[ev & (pfs <= early)]
        eligible = idx[ev & (pfs > early) & (pfs <= late)]
        bad += max(0, len(forced) - n_pd) + max(0, n_pd - len(forced) - len(eligible))
        if rng is None:
            continue
        k = min(max(n_pd - len(forced), 0), len(eligible))
        pd_idx = list(forced[:n_pd]) + sorted(rng.choice(eligible, k, replace=False).tolist())
        out[pd_idx] = progressive[0]
        rest = np.array([i for i in idx if i not in set(pd_idx)])
        others = [c for c in study.response.categories if c not in progressive]
        objective = [c for c in others if c in study.response.objective]
        filler = [c for c in others if c not in objective]
        for cat in objective:  # longer PFS, more likely a response
            k = min(counts.get(cat, 0), len(rest))
            if k:
                rank = np.argsort(np.argsort(prof.pfs[rest])) + 1.0
                pick = rng.choice(len(rest), k, replace=False, p=rank ** 2 / (rank ** 2).sum())
                out[rest[pick]] = cat
                rest = np.delete(rest, pick)
        if filler:
            out[rest] = filler[0]
    return out, bad


def build_profiles(study: Study, targets: Targets, settings: dict[str, Any], regimens: np.ndarray,
                   arms: np.ndarray, rng: np.random.Generator) -> tuple[Profiles, np.ndarray | None]:
    """Profiles in the order of ``regimens`` (grouped by regimen) and the best responses."""
    s = settings.get("survival", {})
    tol = float(settings.get("fidelity", {}).get("ci_limit", 1.5))
    meds = {(t.population, t.endpoint): t for t in targets.medians}
    names = list(dict.fromkeys(regimens))
    n = len(regimens)
    pair = final, progression = endpoint_pair(study)
    deaths = targets.events.get(final, (n, ""))[0]
    for ep in pair:
        missing = [r for r in names if (f"regimen:{r}", ep) not in meds]
        if missing:
            raise ReconstructionError(Problem("published.toml", f"no {ep} KM median for regimen(s) {missing}",
                                              "transcribe the regimens' KM medians (measure = km_median)"))
    if targets.events.get(progression, (deaths, ""))[0] != deaths:
        raise ReconstructionError(Problem("published.toml", f"{progression} events differ from {final} events; the "
                                          "reconstruction supports only progressions that all end in death",
                                          "extend hccbayes.data.reconstruction.survival"))
    sizes = [int((regimens == r).sum()) for r in names]
    cens = allocate(n - deaths, [sz * meds[(f"regimen:{r}", final)].estimate for r, sz in zip(names, sizes)])
    cands: list[list[tuple[Profiles, float]]] = []
    for r, sz, nc in zip(names, sizes, cens):
        got = []
        for _ in range(int(s.get("candidates_per_regimen", 60)) * 4):
            p = regimen_candidate(rng, sz, nc, meds[(f"regimen:{r}", final)].estimate,
                                  meds[(f"regimen:{r}", progression)].estimate, s)
            if p is not None:
                loss = sum(_ci_loss(meds[(f"regimen:{r}", ep)], *p.series(ep, pair), tol) for ep in pair)
                got.append((p, loss))
            if len(got) >= int(s.get("candidates_per_regimen", 60)):
                break
        if not got:
            raise ReconstructionError(Problem("published.toml", f"could not pin the medians of regimen {r}",
                                              "check its published KM medians"))
        cands.append(got)
    pooled = [t for t in targets.medians if not t.hard and
              (t.population == "all" or t.population.split(":", 1)[0] == "arm")]

    def loss(choice: list[int]) -> float:
        prof = Profiles.concat([cands[i][c][0] for i, c in enumerate(choice)])
        total = sum(cands[i][c][1] for i, c in enumerate(choice))
        for t in pooled:
            m = np.ones(n, bool) if t.population == "all" else arms == t.population.split(":", 1)[1]
            time, event = prof.series(t.endpoint, pair)
            total += _ci_loss(t, time[m], event[m], tol)
        return total + 1000.0 * response_plan(study, targets, settings, prof, arms, None)[1]

    best = [0] * len(cands)
    best_loss = loss(best)
    for _ in range(int(s.get("combinations", 3000))):
        choice = [int(rng.integers(len(c))) for c in cands]
        val = loss(choice)
        if is_better(val, best_loss):
            best, best_loss = choice, val
    for _ in range(2):
        for i, c in enumerate(cands):
            for j in range(len(c)):
                trial = best[:i] + [j] + best[i + 1:]
                val = loss(trial)
                if is_better(val, best_loss):
                    best, best_loss = trial, val
    log.info("survival profiles chosen, objective %.3f", best_loss)
    prof = Profiles.concat([cands[i][c][0] for i, c in enumerate(best)])
    resp, bad = response_plan(study, targets, settings, prof, arms, rng)
    if bad:
        raise ReconstructionError(Problem("published.toml", f"{bad} best responses cannot be placed coherently "
                                          "with the PFS times", "widen the survival settings"))
    return prof, resp
