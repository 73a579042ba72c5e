"""Priors with roles (issue 16 part 1): the clinical prior sets apply to treatment contrasts; prognostic terms get
neutral priors; a direction only where the plan states one; one term, one prior in every model of a set.

Closed forms (z95 = Φ⁻¹(0.95) = 1.6449, z975 = 1.9600): the treatment's s = −ln 0.7 / z95 = 0.2168; the
prognostic shrinkage s_p = ln 3 / z975 = 0.5605 (95% prior mass on HR 1/3–3); a hypothesised HR 2 gives
s_h = ln 2 / z95 = 0.4214. Tolerance 1e-12: the same formulas in floating point.
"""
import math
import tomllib

import pytest
from scipy import stats

from hccbayes.data.published.registry import load_registry
from hccbayes.data.study import STUDIES_DIR
from hccbayes.errors import PlanError
from hccbayes.inference.engine.links import summary_analysis_inputs
from hccbayes.inference.engine.plan import load_plan, parse_plan
from hccbayes.inference.engine.rows_counts import summary_rows
from hccbayes.inference.engine.survival_run import Context, fit_jobs
from hccbayes.models.priors.roles import TermRoles, default_roles, with_roles
from hccbayes.models.priors.sets import PRIOR_SET_NAMES, prior_set

Z95, Z975 = stats.norm.ppf(0.95), stats.norm.ppf(0.975)
S = -math.log(0.7) / Z95
S_P = math.log(3.0) / Z975
S_H = math.log(2.0) / Z95


@pytest.mark.parametrize("name,treatment,prognostic,directional", [
    ("vague", (0.0, 10.0), (0.0, 10.0), (0.0, 10.0)),
    ("weakly_informative", (0.0, 1.0), (0.0, 1.0), (0.0, 1.0)),
    ("skeptical", (0.0, S), (0.0, S_P), (0.0, S_H)),
    ("enthusiastic", (math.log(0.7), S), (0.0, S_P), (math.log(2.0), S_H)),
    ("pessimistic", (-math.log(0.7), S), (0.0, S_P), (-math.log(2.0), S_H)),
])
def test_the_prior_of_a_term_follows_its_role(name, treatment, prognostic, directional):
    roles = TermRoles(("tki_ici",), {"afp_gt400": 2.0}, 3.0)
    ps = with_roles(prior_set(name, 0.7), roles)
    for term, (mu, sigma) in (("tki_ici", treatment), ("anri_high", prognostic), ("afp_gt400", directional)):
        # whether or not the term is the analysis' primary: a term's prior is its own
        for primary in (term, "tki_ici", None):
            p = ps.for_terms(("tki_ici", "anri_high", "afp_gt400"), primary)[("tki_ici", "anri_high", "afp_gt400")
                                                                            .index(term)]
            assert (p.mu, p.sigma) == (pytest.approx(mu, abs=1e-12), pytest.approx(sigma, rel=1e-12)), (term, primary)
    # the stated tails: enthusiastic on the hypothesised HR 2 leaves 5% on HR < 1; the shrinkage 2.5% beyond 3
    if name == "enthusiastic":
        d = ps.prior_of("afp_gt400")
        assert stats.norm.cdf(0.0, d.mu, d.sigma) == pytest.approx(0.05, abs=1e-12)
        s = ps.prior_of("anri_high")
        assert stats.norm.sf(math.log(3.0), s.mu, s.sigma) == pytest.approx(0.025, abs=1e-12)
    assert '"roles"' in ps.to_json()  # the roles are part of the priors a fit is hashed with


@pytest.fixture(scope="module")
def plan():
    return load_plan(STUDIES_DIR / "yin2025" / "plan.toml")


def test_one_term_one_prior_in_every_model_of_a_set(plan, study, cohort):
    """Every survival fit of the yin2025 plan: a term has the same prior in every analysis of a prior set
    (univariable or multivariable, PFS or OS, whole cohort or TKI+ICI); only tki_ici, the plan's treatment
    contrast, is ever centred off HR 1 — no enthusiastic or pessimistic prior on a prognostic factor."""
    assert plan.roles == TermRoles(("tki_ici",), {}, 3.0) == default_roles(study)  # the plan says what the default is
    ctx = Context(plan, study, cohort, None, None, False, None, None)
    seen: dict[tuple[str, str], set] = {}
    for a in plan.analyses:
        if a.kind != "survival":
            continue
        for _, ps, job in fit_jobs(ctx, a):
            for term, p in zip(job.data.terms, job.priors.for_terms(job.data.terms, job.spec.primary)):
                seen.setdefault((ps, term), set()).add((p.mu, p.sigma))
    assert all(len(v) == 1 for v in seen.values()), {k: v for k, v in seen.items() if len(v) > 1}
    off_centre = {term for (ps, term), v in seen.items() for mu, _ in v if mu != 0.0}
    assert off_centre == {"tki_ici"}
    ((mu, sigma),) = seen[("skeptical", "anri_high")]  # was Normal(0, 0.217) univariable, Normal(0, 1) multivariable
    assert mu == 0.0 and sigma == pytest.approx(S_P, rel=1e-12)
    assert {ps for ps, _ in seen} == set(PRIOR_SET_NAMES)


def test_summary_level_hazard_ratios_take_the_priors_of_their_roles(plan):
    registry = load_registry("yin2025")
    a = plan.analysis("summary_hr")
    rows = summary_rows(a, summary_analysis_inputs(a, registry), 0.7, plan.roles)
    enthusiastic = [r for r in rows if r.get("prior_set") == "enthusiastic" and "probability" not in r]
    priors: dict[str, set] = {}
    for r in enthusiastic:  # every published HR of a factor (Tables 4, 5: uni- and multivariable) has one prior
        priors.setdefault(r["contrast"], set()).update(p for p in r["note"].split("; ") if p.startswith("prior:"))
    assert priors["tki_ici"] == {f"prior: log HR ~ Normal({math.log(0.7):.4g}, {S:.4g}) (treatment contrast)"}
    assert priors["afp_gt400"] == {f"prior: log HR ~ Normal(0, {S_P:.4g}) (prognostic, shrinkage)"}
    assert len(priors) == 26 and all(v == priors["afp_gt400"] for t, v in priors.items() if t != "tki_ici")


PLAN = """
[plan]
name = "roles"
study = "yin2025"
[roles]
{roles}
[[analyses]]
id = "a"
kind = "survival"
endpoint = "pfs"
terms = ["afp_gt400"]
{extra}
"""


@pytest.mark.parametrize("roles,extra,message", [
    ('treatment = ["shoe_size"]', "", "'shoe_size' is not a factor or column"),
    ('treatment = ["tki_ici"]\ndirection = { tki_ici = 0.7 }', "", "is a treatment contrast"),
    ("direction = { afp_gt400 = 1 }", "", "is not a hazard ratio other than 1"),
    ("prognostic_hr95 = 0.5", "", "is not a hazard ratio above 1"),
    ('treatment = ["tki_ici"]', "tipping_points = true", "'afp_gt400' is not a treatment contrast"),
])
def test_bad_roles_are_plan_errors(roles, extra, message):
    with pytest.raises(PlanError) as err:
        parse_plan(tomllib.loads(PLAN.format(roles=roles, extra=extra)))
    assert message in str(err.value)
