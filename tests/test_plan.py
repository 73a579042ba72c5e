"""Plan files: the bundled yin2025 plan covers every comparison the paper reports; bad plans are refused
with errors that name the key and the fix, before anything is fitted (exit code 2 from the CLI)."""
import shutil
import subprocess
import sys

import pytest

from hccbayes.data.published.registry import load_registry
from hccbayes.data.study import STUDIES_DIR
from hccbayes.errors import PlanError
from hccbayes.inference.engine.links import coverage, required_entries, uncovered
from hccbayes.inference.engine.plan import load_plan

PLAN = STUDIES_DIR / "yin2025" / "plan.toml"


@pytest.fixture(scope="module")
def plan():
    return load_plan(PLAN)


@pytest.fixture(scope="module")
def registry():
    return load_registry("yin2025")


def test_every_published_comparison_is_covered(plan, registry):
    need = required_entries(registry)
    # the paper's comparisons (registry counts, published.toml): 130 Cox HRs (Tables 4, 5 and text),
    # 24 KM medians (Table 2, text), 12 Table 3 and 84 Table 6 counts, 4 AFP-change percents
    kinds = {}
    for entry_id in need:
        kinds[registry.get(entry_id).kind] = kinds.get(registry.get(entry_id).kind, 0) + 1
    assert kinds == {"hr_ci": 130, "median_iqr": 14, "median_ci": 10, "count": 96, "percent": 4}
    assert uncovered(plan, registry) == []
    survival = coverage(plan, registry, ("survival",))
    for entry_id, kind in need.items():
        if kind == "survival":
            assert entry_id in survival, entry_id  # on the cohort, not only at summary level
    summary = coverage(plan, registry, ("summary",))
    assert all(e.id in summary for e in registry.find(kind="hr_ci", measure="cox_hr"))


def test_multivariable_terms_are_the_published_columns(plan, registry):
    """Each multivariable analysis has exactly the factors of the published multivariate column."""
    for aid, table, endpoint in (("t4_pfs_multi", "t4", "pfs"), ("t4_os_multi", "t4", "os"),
                                 ("t5_pfs_multi", "t5", "pfs"), ("t5_os_multi", "t5", "os")):
        published = {e["factor"] for e in registry.find(kind="hr_ci", table=table, endpoint=endpoint,
                                                        model="multivariable")}
        assert set(plan.analysis(aid).terms) == published, aid


def test_each_term_expands_and_population_label(plan):
    a = plan.analysis("t5_pfs_uni_anri_high")
    assert a.terms == ("anri_high",) and a.primary == "anri_high"
    assert a.population_label == "arm:TKI+ICI"
    assert plan.analysis("arm_pfs").models == ("weibull", "pem")
    assert plan.analysis("t4_os_uni_lmr_high").prior_sets == ("vague", "weakly_informative", "skeptical",
                                                              "enthusiastic", "pessimistic")


def _bad_plan(tmp_path, text):
    shutil.copytree(STUDIES_DIR / "yin2025", tmp_path / "s", ignore=shutil.ignore_patterns("plan.toml"))
    p = tmp_path / "s" / "plan.toml"
    p.write_text('[plan]\nstudy = "."\n' + text, encoding="utf-8")
    return p


GOOD = '[[analyses]]\nid = "a"\nkind = "survival"\nendpoint = "os"\nterms = ["tki_ici"]\n'


@pytest.mark.parametrize("text,key,fix", [
    (GOOD.replace('"os"', '"overall"'), "analyses.a.endpoint", "use one of pfs, os"),
    (GOOD.replace('"tki_ici"', '"tki_icii"'), "analyses.a.terms", "use factors such as"),
    (GOOD + 'prior_sets = ["optimistic"]\n', "analyses.a.prior_sets", "use names from"),
    (GOOD + "colour = 3\n", "analyses.a.colour", "use one of"),
    (GOOD + 'population = { stage = "C" }\n', "analyses.a.population", "filter on study columns"),
    (GOOD + "sampler = { draws = -5 }\n", "analyses.a.sampler.draws", "positive integer"),
    (GOOD + 'strata = "afp"\n', "analyses.a.strata", "level indicator"),
    (GOOD.replace('"survival"', '"bootstrap"'), "analyses.a.kind", "survival, response, summary"),
    (GOOD + GOOD, "analyses.a", "unique id"),
    ("", "analyses", "add at least one"),
    (GOOD + 'loo_models = ["cox"]\n', "analyses.a.loo_models", "use models from"),
    (GOOD + 'tipping_points = "yes"\n', "analyses.a.tipping_points", "see the plan format"),
    (GOOD + "mcid = 1.4\n", "analyses.a.mcid", "set mcid = 0.7"),
    (GOOD + "n_intervals = 0\n", "analyses.a.n_intervals", "use at least 1"),
])
def test_bad_plans_name_key_and_fix(tmp_path, text, key, fix):
    with pytest.raises(PlanError) as err:
        load_plan(_bad_plan(tmp_path, text))
    msg = str(err.value)
    assert f"key '{key}" in msg and fix in msg, msg


def test_loo_models_and_tipping_points_of_the_bundled_plan(plan):
    """Every survival analysis also fits the model it does not list (LOO needs both); the two arm
    comparisons, the primary ones, ask for tipping points."""
    survival = [a for a in plan.analyses if a.kind == "survival"]
    assert all(set(a.loo_models) == {"weibull", "pem"} for a in survival)
    assert {a.id for a in survival if a.tipping_points} == {"arm_pfs", "arm_os"}


def test_unknown_study_and_bad_toml(tmp_path):
    p = tmp_path / "plan.toml"
    p.write_text('[plan]\nstudy = "nosuchstudy"\n' + GOOD)
    with pytest.raises(PlanError, match="plan.study"):
        load_plan(p)
    p.write_text("[plan\n")
    with pytest.raises(PlanError, match="not valid TOML"):
        load_plan(p)


def test_plan_values_are_never_evaluated(tmp_path):
    """A population value that looks like code is compared as a string: no patients match, and the
    run is refused before fitting (exit 2)."""
    p = _bad_plan(tmp_path, GOOD + "population = { arm = \"__import__('os').system('touch PWNED')\" }\n")
    proc = subprocess.run([sys.executable, "-m", "hccbayes", "run", str(p), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "analyses.a" in proc.stderr and "no patients" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "PWNED").exists()


CUSTOM = '[prior_sets.trial]\ncontrast = { family = "normal", mu = -0.2, sigma = 0.3 }\n'


def test_custom_prior_sets_can_be_named_by_survival_analyses(tmp_path):
    plan = load_plan(_bad_plan(tmp_path, GOOD + 'prior_sets = ["trial", "skeptical"]\n' + CUSTOM))
    assert plan.analysis("a").prior_sets == ("trial", "skeptical")
    trial = plan.custom_prior_sets["trial"]
    assert (trial.name, trial.contrast.mu, trial.contrast.sigma) == ("trial", -0.2, 0.3)  # as written


@pytest.mark.parametrize("text,key,fix", [
    (GOOD + 'prior_sets = ["trial"]\n' + CUSTOM.replace("0.3", "-1"), "prior_sets.trial.contrast.sigma",
     "sigma > 0"),  # the sensitivity module's parser, reported with the plan's other problems
    (GOOD + 'prior_sets = ["trail"]\n' + CUSTOM, "analyses.a.prior_sets", "trial"),
    (GOOD + CUSTOM + '[[analyses]]\nid = "r"\nkind = "response"\nprior_sets = ["trial"]\n', "analyses.r.prior_sets",
     "for response analyses"),
])
def test_bad_custom_prior_sets_name_key_and_fix(tmp_path, text, key, fix):
    with pytest.raises(PlanError) as err:
        load_plan(_bad_plan(tmp_path, text))
    msg = str(err.value)
    assert f"key '{key}" in msg and fix in msg, msg
