"""The cohort an analysis of a plan is fitted to, apart from the run engine (whose rows and quantities import
ArviZ), so that a refit of one stored fit (:mod:`.explore_refit`) rebuilds its data without them."""
from __future__ import annotations

import pandas as pd

from hccbayes.models.survival.landmark import landmark_frame


def analysis_frame(df: pd.DataFrame, study, a) -> pd.DataFrame:
    """The cohort an analysis is fitted to: ``df`` itself, or for a landmark analysis its patients event-free
    and in follow-up at the landmark, with time from then on (:mod:`hccbayes.models.survival.landmark`)."""
    return df if a.from_landmark is None else landmark_frame(df, study, a.endpoint, a.from_landmark)
