"""The refit behind prior exploration (:mod:`.explore`): a survival model refitted under another prior set through
the run's diagnostics gate, reusing the compiled model. Apart from :mod:`.explore` because it imports the fitting
stack (PyMC, nutpie, xarray), which a reweighted answer does not need.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from hccbayes.inference.fitting.cache import sample_with_gate

log = logging.getLogger(__name__)


@dataclass
class Refitter:
    """Refits a survival model under a prior set through the run's gate, reusing the compiled model."""

    data: object
    spec: object
    settings: object
    seed: int
    cache: object
    fits: int = 0

    def __call__(self, priors) -> object:
        dt, note = sample_with_gate(self.data, priors, self.spec, self.settings, self.seed, self.cache, pointwise=False)
        self.fits += 1
        if note:
            log.warning("exploration refit under %s: %s", priors.name, note)
        return dt
