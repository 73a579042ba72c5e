"""Simulated survival data with known truth for the survival-model tests (seeded)."""
from __future__ import annotations

import numpy as np
import pandas as pd


class SimStudy:
    """A minimal stand-in for a Study: two arms, endpoint 'os' with columns time/event."""

    arm_names = ("A", "B")
    arm_column = "arm"
    id_column = "id"
    regimen_column = "regimen"

    class _Endpoint:
        time = "time"
        event = "event"

    def endpoint(self, name):
        return self._Endpoint()


def weibull_ph(n: int, beta, shape: float, scale_rate: float, seed: int, censor=(5.0, 40.0)) -> pd.DataFrame:
    """Weibull PH: H(t|x) = scale_rate · t^shape · exp(xβ), binary covariates x1..xp (x1 = arm B),
    independent uniform censoring on ``censor``."""
    rng = np.random.default_rng(seed)
    beta = np.asarray(beta, float)
    x = rng.integers(0, 2, (n, beta.size)).astype(float)
    t = (-np.log(rng.random(n)) / (scale_rate * np.exp(x @ beta))) ** (1.0 / shape)
    c = rng.uniform(*censor, n)
    df = pd.DataFrame({"id": [f"S{i:05d}" for i in range(n)], "arm": np.where(x[:, 0] == 1, "B", "A"),
                       "time": np.minimum(t, c), "event": (t <= c).astype(int)})
    for j in range(beta.size):
        df[f"x{j + 1}"] = x[:, j]
    return df


def loglogistic_ph(n: int, log_hr: float, alpha: float, beta: float, seed: int, censor=(18.0, 48.0)) -> pd.DataFrame:
    """Proportional hazards on a log-logistic baseline, S0(t) = 1 / (1 + (t/alpha)^beta): for beta > 1 the hazard
    rises to a peak near alpha·(beta − 1)^(1/beta) and then falls (hump-shaped, not Weibull). Arm x1 alternates
    0/1 with log-HR ``log_hr``; independent uniform censoring on ``censor``. Times by inversion:
    S(T|x) = U  ->  T = alpha·(U^(−exp(−η)) − 1)^(1/beta)."""
    rng = np.random.default_rng(seed)
    x = np.tile([0.0, 1.0], n // 2)
    t = alpha * (rng.random(n) ** (-np.exp(-log_hr * x)) - 1.0) ** (1.0 / beta)
    c = rng.uniform(*censor, n)
    return pd.DataFrame({"id": [f"S{i:05d}" for i in range(n)], "arm": np.where(x == 1, "B", "A"),
                         "time": np.minimum(t, c), "event": (t <= c).astype(int), "x1": x})


def loglogistic_hazard(t, alpha: float, beta: float):
    """The log-logistic baseline hazard (beta/alpha)(t/alpha)^(beta−1) / (1 + (t/alpha)^beta)."""
    z = (np.asarray(t, float) / alpha) ** beta
    return beta / np.asarray(t, float) * z / (1.0 + z)
