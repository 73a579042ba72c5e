"""The README's "Re-analyse a published trial from its curves" section runs as written.

The section's bash block (joined at line continuations; comments dropped) is run command by command
through :func:`hccbayes.cli.main`, and its Python block with ``exec``, in a temporary folder holding a
copy of ``data/studies/colon_km`` (the bundled example: curves drawn from R survival's colon data, see
its PROVENANCE.md), so the repository is never written to. Then the outputs are checked: the rebuilt
cohort is byte-identical to the bundled one (same inputs and seed, same bytes), the run's rows computed
on that cohort carry the reconstruction note, and the report holds the fidelity table and figure.
"""
import re
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hccbayes.cli import main
from hccbayes.data.study import STUDIES_DIR
from hccbayes.inference.engine import run as engine
from hccbayes.inference.fitting.fit import DEFAULT_CACHE

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Re-analyse a published trial from its curves"


def _blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


def _commands(block: str) -> list[list[str]]:
    joined = block.replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.split("#")[0].strip()]


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Run both blocks once in a scratch folder; the run shares the test session's compiled models
    (engine.ModelCache -> DEFAULT_CACHE: compiling is what costs, not what is tested)."""
    folder = tmp_path_factory.mktemp("readme")
    shutil.copytree(STUDIES_DIR / "colon_km", folder / "data" / "studies" / "colon_km")
    mp = pytest.MonkeyPatch()
    mp.chdir(folder)
    mp.setattr(engine, "ModelCache", lambda: DEFAULT_CACHE)
    codes = []
    try:
        (bash,) = _blocks("bash")
        for argv in _commands(bash):
            assert argv[0] == "hccbayes"
            codes.append(main(argv[1:]))
        (python,) = _blocks("python")
        exec(compile(python, str(README), "exec"), {"__name__": "readme"})
    finally:
        mp.undo()
    return folder, codes


def test_commands_succeed(ran):
    """Every command of the section exits 0 (three: two ipd-from-km, one run)."""
    _, codes = ran
    assert codes == [0, 0, 0]


def test_outputs_and_bytes(ran):
    """ipd.csv (group,time,event; 619 colon patients, R survival: 315 + 304) and the figure are written;
    the cohort rebuilt from the study's curves has the bundled file's bytes."""
    folder, _ = ran
    ipd = pd.read_csv(folder / "ipd.csv")
    assert list(ipd.columns) == ["group", "time", "event"] and len(ipd) == 619
    assert (folder / "ipd.png").stat().st_size > 10_000
    rebuilt = folder / "data" / "studies" / "colon_km" / "cohort.csv"
    assert rebuilt.read_bytes() == (STUDIES_DIR / "colon_km" / "cohort.csv").read_bytes()


def test_run_rows_are_marked_and_report_shows_the_check(ran):
    """Every cohort-based row of the run carries the note that the patients were reconstructed from the
    digitised curves; Bayesian Weibull and PEM rows exist; the report shows the reconstruction's fidelity
    (all targets met for the bundled example) and its figure."""
    folder, _ = ran
    run = folder / "runs" / "colon_km"
    table = pd.read_csv(run / "comparisons.csv", keep_default_na=False)
    cohort = table[table["cohort_based"].astype(str) == "True"]
    assert len(cohort) and cohort["note"].str.contains("reconstructed from digitised Kaplan–Meier curves").all()
    assert {"bayes:weibull:weakly_informative", "bayes:pem:weakly_informative"} <= set(table["source"])
    fidelity = pd.read_csv(run / "study" / "fidelity.csv")  # the run records it; the report reads it
    assert fidelity["target"].str.startswith("km.").sum() == 2 and fidelity["passed"].all()
    # the figure's data, stored by the run: its rebuilt numbers at risk are the fidelity table's (both count
    # the patients with time >= t, at the times of the published table)
    figure = pd.read_csv(run / "study" / "km_reconstruction.csv", dtype={"group": str})
    at_risk = fidelity[fidelity["target"].str.startswith("at_risk.")]
    assert figure.loc[figure["part"] == "at_risk", "value"].astype(int).tolist() == at_risk["reconstructed"].astype(int).tolist()
    html = (run / "report" / "report.html").read_text(encoding="utf-8")
    assert "Patients reconstructed from the digitised Kaplan–Meier curves" in html
    assert (run / "report" / "figures" / "km_reconstruction.png").is_file()
