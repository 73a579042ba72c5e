"""The README's "Your own study" section runs as written: its bash block (``hccbayes init`` then ``hccbayes
run``) through :func:`hccbayes.cli.main` and its Python block (the DataFrame API) with ``exec``, in a
temporary folder holding a copy of the bundled colon cohort, so the repository is never written to."""
import re
import shlex
import shutil
from pathlib import Path

import numpy as np

from hccbayes.cli import main
from hccbayes.data.study import STUDIES_DIR

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Your own study"


def _blocks(language: str) -> list[str]:
    section = README.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)


def test_readme_init_and_dataframe_api_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "studies" / "colon").mkdir(parents=True)
    shutil.copy(STUDIES_DIR / "colon" / "cohort.csv", tmp_path / "data" / "studies" / "colon" / "cohort.csv")
    (bash,), (python,) = _blocks("bash"), _blocks("python")
    for line in bash.splitlines():
        assert main(shlex.split(line)[1:] + ["--no-report"] * line.startswith("hccbayes run")) == 0
    assert (tmp_path / "runs" / "mystudy" / "comparisons.csv").is_file()
    namespace: dict = {}
    exec(compile(python, "README.md", "exec"), namespace)
    res = namespace["res"]
    hr = res.hazard_ratios
    # R coxph(Surv(os_days, os_event) ~ arm + age) on colon: Lev+5FU vs Obs HR 0.69 (tests/reference);
    # a Weibull posterior median within 0.1 on the log scale
    lev5fu = hr[hr.contrast.str.startswith("arm Lev+5FU vs")].estimate.iloc[0]
    assert abs(np.log(lev5fu) - np.log(0.69)) < 0.1
    assert (tmp_path / "survival.png").is_file() and "posterior" in namespace["dt"].children
    groups = list(res.medians.group)  # reference first, then the levels in order of appearance
    assert groups[0] == "Obs" and sorted(groups) == ["Lev", "Lev+5FU", "Obs"]
