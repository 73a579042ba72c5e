"""What a run records of its study, so that its report needs neither the study folder nor a re-run of
the audit or of the reconstruction check. Written by the run engine into ``<run>/study/``:

* ``study.json`` — name, citation, time unit, what the cohort is (:func:`cohort_kind`), whether the arms were
  randomised and their names, endpoints (name, label, event label), the registry's population labels and the
  text of the study's PROVENANCE.md ("" when it has none);
* ``audit.csv`` — the consistency audit of the published figures
  (:func:`hccbayes.data.published.audit.audit`: rule, severity, entries, message, arithmetic);
* ``fidelity.csv`` — for a reconstructed cohort only: its fidelity table, against the published targets
  (:func:`hccbayes.inference.frequentist.fidelity.fidelity`), or, for a cohort rebuilt from digitised
  Kaplan–Meier curves, against the curves and the numbers at risk
  (:func:`hccbayes.inference.frequentist.kmipd_fidelity.fidelity_table`);
* ``km_reconstruction.csv`` — for such a cohort only: the data of the reconstruction figure
  (:func:`hccbayes.inference.frequentist.kmipd_fidelity.figure_data`).

Every file is deterministic (fixed order, no time stamps) and written atomically.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from hccbayes.atomic import write_csv, write_text
from hccbayes.data.published.audit import audit, findings_frame
from hccbayes.data.reconstruction.kmipd.study_source import cohort_as_ipd, curve_source, reconstruct_study
from hccbayes.inference.frequentist.fidelity import fidelity
from hccbayes.inference.frequentist.kmipd_fidelity import fidelity_table, figure_data

log = logging.getLogger(__name__)

FOLDER = "study"


def cohort_kind(study) -> str:
    """'km_curves' (rebuilt from digitised Kaplan–Meier curves), 'reconstructed' (pseudo-patients from
    published summaries: the study has a reconstruction.toml) or 'patients' (patient data)."""
    if curve_source(study) is not None:
        return "km_curves"
    return "reconstructed" if (study.folder / "reconstruction.toml").is_file() else "patients"


def arm_multivariable_hrs(study, registry) -> list[str]:
    """Ids of the published multivariable Cox HRs (tables, not the text repeating them) of a factor of the
    arm column: the report shows their summary-level re-analysis's prior sensitivity."""
    arm_factors = {name for name, f in study.factors.items() if study.arm_column and f.column == study.arm_column}
    return [e.id for e in registry.find(kind="hr_ci", measure="cox_hr", model="multivariable")
            if e.table != "text" and e["factor"] in arm_factors]


def study_description(study, registry) -> dict:
    """The study as the report names it (see the module docstring)."""
    provenance = study.folder / "PROVENANCE.md"
    return {"name": study.name, "citation": study.citation, "time_unit": study.time_unit, "cohort": cohort_kind(study),
            "randomised": study.randomised, "arms": list(study.arm_names),
            "endpoints": [{"name": ep.name, "label": ep.label, "event_label": ep.event_label}
                          for ep in study.endpoints],
            "populations": {name: pop.label for name, pop in registry.populations.items()},
            "tables": dict(registry.titles), "arm_multivariable_hrs": arm_multivariable_hrs(study, registry),
            "provenance": provenance.read_text(encoding="utf-8") if provenance.is_file() else ""}


def write_study_record(out: Path, study, registry, cohort: pd.DataFrame, cohort_path: Path) -> Path:
    """Write ``out/study/`` (see the module docstring) for the run's study, registry and cohort (the
    validated frame and the file it was read from); returns the folder."""
    folder = Path(out) / FOLDER
    write_text(folder / "study.json", json.dumps(study_description(study, registry), indent=1, ensure_ascii=False))
    write_csv(findings_frame(audit(registry)), folder / "audit.csv")
    if curve_source(study) is not None:  # a cohort rebuilt from digitised KM curves
        rec, _ = reconstruct_study(study)
        ipd = cohort_as_ipd(cohort, study)
        table = fidelity_table(rec, ipd)
        write_csv(figure_data(rec, ipd), folder / "km_reconstruction.csv", float_format="%.10g")
    else:
        (folder / "km_reconstruction.csv").unlink(missing_ok=True)  # another study's, in a reused folder
        table = fidelity(study, cohort_path) if cohort_kind(study) == "reconstructed" else None
    if table is None:  # patient data, not a reconstruction: there is no fidelity to report
        (folder / "fidelity.csv").unlink(missing_ok=True)
    else:
        write_csv(table, folder / "fidelity.csv")
    log.info("study record written to %s", folder)
    return folder
