"""Tests of the published-figure registry of Yin et al. 2025 (data/studies/yin2025/published.toml).

Reference values are the paper's printed figures (../shared/paper/yin2025-second-line-after-lenvatinib.txt);
they are compared exactly (tolerance 0: the registry stores what is printed, slips included).
"""
from __future__ import annotations

import pytest

from hccbayes.data import load_registry, load_study
from hccbayes.data.registry import parse_value

# Entries per table, counted by hand from the paper (printed non-empty cells; "-" placeholders omitted):
#   t3: 6 rows x (TKI, TKI+ICI, p) = 18
#   t6: 21 rows x 4 counts = 84, plus p (any, 3/4) for Total, Immune-related, Dose reduction,
#       Discontinuation = 8 -> 92
#   text: 1.4 cut-offs 8; 2.1 flow 9 + baseline 13; 2.2 flow 3 + regimen sizes 5; 2.3 events 2 + KM 6 +
#       AFP change 2 + AFP-strata KM 4; 2.4 responses 12; 2.5 Cox 5 HR + 5 p; 2.6 safety 11;
#       2.7 subsequent therapy 11 -> 96
EXPECTED_COUNTS = {"t3": 18, "t6": 92, "text": 96}

# outcomes reported only in the text (no Table 6 row and no study.toml adverse event)
TEXT_ONLY_OUTCOMES = {"immune_hepatitis"}  # 2.6: "two cases of immune hepatitis"


@pytest.fixture(scope="module")
def reg():
    return load_registry("yin2025")


@pytest.fixture(scope="module")
def study():
    return load_study("yin2025")


@pytest.mark.parametrize("table,expected", sorted(EXPECTED_COUNTS.items()))
def test_entries_per_table(reg, table, expected):
    assert len(reg.find(table=table)) == expected
