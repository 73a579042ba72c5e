"""Structure-affine batches of survival fits for local worker processes.

A nutpie model is compiled once per *model structure* per process (about 10 s; the compiled function cannot
be shared between processes), while a warm fit costs a fraction of a second. Handing single fits to a pool
makes every worker compile nearly every structure; :func:`plan_batches` instead groups the fits by structure
key into batches, so that one worker compiles a structure once and fits all its jobs, and orders the batches
largest first, which a pool that gives the next batch to the first idle worker turns into LPT scheduling
(longest processing time first; Graham 1969: within 4/3 of the best makespan).

A batch's cost is estimated as one compile (:data:`COMPILE_SECONDS`) plus its fits (:data:`FIT_SECONDS` per
4 × 2000 sampler iterations, scaled by each job's chains × (tune + draws)) — rough figures measured on a
2-core machine (a 70-patient Weibull or PEM fit with its diagnostics and file write). A structure's batch
is split in two (repeatedly) only when the estimated LPT makespan over the workers drops despite the
extra compile, e.g. one structure holding most fits of a run.
"""
from __future__ import annotations

import heapq
from typing import Any, Callable, Hashable, Sequence

COMPILE_SECONDS = 10.0
FIT_SECONDS = 0.35
REFERENCE_ITERATIONS = 4 * 2000


def fit_seconds(settings) -> float:
    """Estimated wall time of one warm fit with these sampler settings."""
    return FIT_SECONDS * settings.chains * (settings.tune + settings.draws) / REFERENCE_ITERATIONS


def batch_seconds(batch: Sequence[Any], cost: Callable[[Any], float]) -> float:
    return COMPILE_SECONDS + sum(cost(j) for j in batch)


def makespan(costs: Sequence[float], workers: int) -> float:
    """Finish time of list scheduling of ``costs`` (in the given order) on ``workers`` identical workers."""
    loads = [0.0] * max(1, workers)
    for c in costs:
        heapq.heapreplace(loads, loads[0] + c)
    return max(loads)


def _ordered(batches: list[list], cost: Callable[[Any], float]) -> list[list]:
    """Largest estimated cost first; ties by the batch's first job's position (stable, reproducible)."""
    return sorted(batches, key=lambda b: -batch_seconds(b, cost))


def plan_batches(jobs: Sequence[Any], key: Callable[[Any], Hashable], workers: int,
                 cost: Callable[[Any], float]) -> list[list]:
    """The jobs grouped by ``key`` (first-seen order within and between groups), largest batch first; a
    batch is halved while that lowers the estimated makespan on ``workers`` (see the module doc)."""
    groups: dict[Hashable, list] = {}
    for job in jobs:
        groups.setdefault(key(job), []).append(job)
    batches = _ordered(list(groups.values()), cost)
    best = makespan([batch_seconds(b, cost) for b in batches], workers)
    while workers > 1 and batches:
        largest = batches[0]
        if len(largest) < 2:
            break
        half = (len(largest) + 1) // 2
        trial = _ordered([largest[:half], largest[half:], *batches[1:]], cost)
        span = makespan([batch_seconds(b, cost) for b in trial], workers)
        if span >= best:
            break
        batches, best = trial, span
    return batches
