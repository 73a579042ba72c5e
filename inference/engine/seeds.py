"""Seeds of a run: every fit's seed is derived from the plan seed and the names of what it samples, so it
is stable across runs, executors and orderings (never from worker identity or completion order)."""
from __future__ import annotations

import hashlib
from typing import Any


def derived_seed(*parts: Any) -> int:
    """A 31-bit seed from the plan seed and the names of what is sampled (stable across runs)."""
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:8], 16) & 0x7FFFFFFF
