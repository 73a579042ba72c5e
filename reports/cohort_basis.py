"""What a run's cohort is, in the words of the report: reconstructed pseudo-patients, patients rebuilt from
published Kaplan–Meier curves, or patient data (``study/study.json``'s ``cohort``, written by the run
engine from the study folder: a reconstruction.toml, a ``[km_curves]`` source, or neither).

:func:`basis` gives the short tag of cohort-based table rows, the tag ending a sentence and the reading
guide that opens each section."""
from __future__ import annotations

from dataclasses import dataclass

PUBLISHED = ("rows marked **exact re-analysis** are exact re-analyses of the published figures (counts, printed "
             "hazard ratios and confidence intervals); rows marked **published** are the paper's numbers.")


@dataclass(frozen=True)
class Basis:
    short: str  # the Basis column of a cohort-based row
    sentence: str  # the tag ending a sentence drawn from the cohort
    guard: str  # the reading guide


BASES = {
    "reconstructed": Basis(
        "pseudo-patient cohort", "reconstructed pseudo-patient cohort",
        "Rows marked **pseudo-patient cohort** come from a reconstructed pseudo-patient cohort (synthetic rows "
        "rebuilt from the published summaries, not patient records); " + PUBLISHED),
    "km_curves": Basis(
        "patients rebuilt from KM curves", "patients reconstructed from the published Kaplan–Meier curves",
        "Rows marked **patients rebuilt from KM curves** come from patients reconstructed from digitised "
        "Kaplan–Meier curves (they reproduce the curves, not the patients: no covariates, no link between "
        "endpoints); " + PUBLISHED),
    "patients": Basis(
        "patient data", "patient-level data",
        "Rows marked **patient data** are computed from the study's patient-level data; " + PUBLISHED),
}


def basis(kind: str) -> Basis:
    """The wording of a cohort kind (an unknown or missing kind reads as a reconstructed cohort, the
    cautious reading)."""
    return BASES.get(kind, BASES["reconstructed"])
