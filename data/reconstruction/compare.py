"""Comparisons that steer the reconstruction's searches, made insensitive to floating-point noise.

The objective values the searches compare are sums of Cox fits, exponentials and matrix products whose
last bits depend on the CPU (SIMD kernels chosen at run time by numpy, BLAS kernels and thread counts).
Two arrangements whose objectives are mathematically equal (a swap that changes nothing a target sees)
may then compare as ``<`` on one machine and ``>`` on another; any such flip sends the seeded search
down another path and yields another cohort. Here two values closer than ``REL_TOL`` (relative to the
larger magnitude, at least 1) are a tie, and a tie is decided the same way everywhere. Noise is about
1e-13 of the objective; genuine differences between arrangements are many orders larger than 1e-9.
"""
from __future__ import annotations

import math

REL_TOL = 1e-9


def _tol(a: float, b: float) -> float:
    return REL_TOL * max(1.0, abs(a), abs(b))


def is_better(new: float, best: float) -> bool:
    """``new`` is lower than ``best`` by more than noise (ties keep the incumbent)."""
    return new < best - _tol(new, best)


def metropolis_accept(new: float, current: float, temperature: float, u: float) -> bool:
    """Accept a move from ``current`` to ``new`` (lower is better) given a uniform draw ``u``.

    ``u`` is drawn by the caller for every move, accepted or not, so that the random stream never
    depends on a comparison. A tie (within noise) or an improvement is accepted; a worse value with
    probability exp(-(new - current) / temperature)."""
    delta = new - current
    if delta <= _tol(new, current):
        return True
    return u < math.exp(-delta / temperature)


__all__ = ["REL_TOL", "is_better", "metropolis_accept"]
