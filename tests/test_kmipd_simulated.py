"""Patient data rebuilt from Kaplan–Meier curves of simulated trials with known truth, and edge cases.

Every scenario is simulated by ``kmipd_digitise.simulate_trial`` (Weibull times with proportional hazards,
staggered administrative censoring, optional dropout and cured fraction; seed 1), digitised like the real
trials (``tests/test_kmipd_trials.py``; digitiser seed 101, the second arm in percent), with the
numbers at risk of the simulated patients every 6 months on a 60-month axis. Unlike the real trials no
total events are given, so the stretch after the last number at risk uses the assumed censoring rate.

* ``main`` — 250 per arm, HR 0.7, control median 24 months, about 40% censored;
* ``heavy`` — heavy censoring: dropout 4% a month on top of 12–48 months of follow-up, about 70% censored;
* ``plateau`` — 60% cured in each arm: both curves level off above 0.5, medians not reached;
* ``n10`` — very few patients: 10 per arm.
"""
import numpy as np
import pytest

from hccbayes.inference.fitting.fit import DEFAULT_CACHE
from hccbayes.inference.frequentist.survival import km_medians

from kmipd_compare import cox_log_hr, km_gap, posterior_log_hr
from kmipd_digitise import at_risk_table, rebuild, simulate_trial, time_tolerance

AXIS = 60.0
HR = 0.7
SCENARIOS = {
    "main": dict(n=250, hr=HR, median0=24.0, shape=1.2, follow_up=(24.0, 60.0), dropout=0.005),
    "heavy": dict(n=200, hr=HR, median0=24.0, shape=1.0, follow_up=(12.0, 48.0), dropout=0.04),
    "plateau": dict(n=200, hr=HR, median0=12.0, shape=1.0, follow_up=(24.0, 60.0), cure=0.6),
    "n10": dict(n=10, hr=HR, median0=12.0, shape=1.0, follow_up=(12.0, 36.0)),
}
ARMS = ("control", "treated")


@pytest.fixture(scope="module")
def cases():
    out = {}
    for name, kw in SCENARIOS.items():
        true = simulate_trial(np.random.default_rng(1), arms=ARMS, **kw)
        risk = at_risk_table(true, np.arange(0.0, AXIS, 6.0))
        rec, ipd = rebuild(true, AXIS, risk, None, seed=101)
        out[name] = (true, rec, ipd)
    return out


@pytest.fixture(scope="module")
def posteriors(cases):
    return {name: tuple(posterior_log_hr(df, "treated", DEFAULT_CACHE) for df in cases[name][::2])
            for name in ("main", "heavy")}


def _arm(df, arm):
    return df[df["arm"] == arm]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_km_within_002_at_every_time(scenario, cases):
    """As for the real trials: |ΔS| <= 0.02, or one patient's step where fewer than 50 are at risk (the
    10-patient arms: every step is 0.1 or more), each step read to within one point spacing + 3 SDs in time."""
    true, _, ipd = cases[scenario]
    for arm in ARMS:
        gap = km_gap(_arm(true, arm), _arm(ipd, arm), time_tolerance(AXIS))
        worst = gap.loc[(gap["deviation"] - gap["allowed"]).idxmax()]
        assert worst["deviation"] <= worst["allowed"] + 1e-12, (arm, worst.to_dict())


@pytest.mark.parametrize("scenario", ["main", "heavy"])
def test_medians_within_5_percent(scenario, cases):
    """KM medians within 5% of the simulated patients' (statsmodels KM, R's median rule)."""
    true, _, ipd = cases[scenario]
    for arm in ARMS:
        want = km_medians(_arm(true, arm), "time", "event").loc[0, "median"]
        got = km_medians(_arm(ipd, arm), "time", "event").loc[0, "median"]
        assert abs(got - want) <= 0.05 * want, (arm, got, want)


def test_plateau_median_not_reached_and_plateau_kept(cases):
    """Curves levelling off above 0.5 (60% cured): no median in the true nor in the rebuilt arms, and the
    rebuilt curve ends within 0.02 of the true plateau (the height of the last digitised stretch)."""
    true, _, ipd = cases["plateau"]
    for arm in ARMS:
        t, r = _arm(true, arm), _arm(ipd, arm)
        assert np.isnan(km_medians(t, "time", "event").loc[0, "median"])
        assert np.isnan(km_medians(r, "time", "event").loc[0, "median"])
        gap = km_gap(t, r, 0.0)
        assert gap["deviation"].iloc[-1] <= 0.02


@pytest.mark.parametrize("scenario", ["main", "heavy", "plateau"])
def test_cox_log_hr_within_005(scenario, cases):
    """Cox log HR on the rebuilt data within 0.05 of that on the simulated patients (0.05 is under half
    the SE of these estimates, 0.12–0.17)."""
    true, _, ipd = cases[scenario]
    assert abs(cox_log_hr(ipd, "treated")[0] - cox_log_hr(true, "treated")[0]) <= 0.05


def test_known_truth_recovered(cases):
    """The generating hazard ratio (0.7) is within 3 SE of the Cox estimate on the rebuilt main trial: the
    reconstruction adds nothing beyond sampling error (3 SE: a correct reconstruction fails this with
    probability 0.3% under repeated simulation)."""
    _, _, ipd = cases["main"]
    est, se = cox_log_hr(ipd, "treated")
    assert abs(est - np.log(HR)) <= 3 * se


@pytest.mark.parametrize("scenario", ["main", "heavy"])
def test_posterior_hr_within_a_tenth_of_its_sd(scenario, posteriors):
    """Weibull posterior median of the log HR, rebuilt vs simulated patients, within 0.1 posterior SD
    (seed 1, 4 x 2000 draws; Monte Carlo error of the difference about 0.04 SD)."""
    (m_true, sd_true), (m_rec, _) = posteriors[scenario]
    assert abs(m_rec - m_true) <= 0.1 * sd_true, (m_rec, m_true, sd_true)


def test_ten_patients_events_exact_and_in_place(cases):
    """With 10 patients a step is 0.1 — far above the reading noise — so every event is recovered: the
    same number per arm and each event time (in order) within one point spacing + 3 SDs of the true one.
    The patients and the at-risk table are reproduced exactly."""
    true, rec, ipd = cases["n10"]
    for arm in ARMS:
        t, r = _arm(true, arm), _arm(ipd, arm)
        assert len(r) == len(t) == 10
        want = np.sort(t.loc[t["event"] == 1, "time"].to_numpy())
        got = np.sort(r.loc[r["event"] == 1, "time"].to_numpy())
        assert len(got) == len(want)
        assert np.abs(got - want).max() <= time_tolerance(AXIS)
    risk = rec.at_risk
    for (g, t), n in zip(risk[["group", "time"]].itertuples(index=False), risk["n_risk"]):
        assert int((_arm(ipd, g)["time"] >= t).sum()) == n


def test_ten_patients_median_and_cox(cases):
    """Medians with 10 patients move by a whole gap between events when a censored patient is placed on
    the other side of an event (Guyot spreads censoring evenly over an interval), so the rebuilt median
    must lie between the true event times that bracket the true median (± the reading tolerance); the
    Cox log HR (SE about 0.55 here) within 0.1 SE of the true-data estimate, the precision the Bayesian
    check asks of the larger trials."""
    true, _, ipd = cases["n10"]
    tol = time_tolerance(AXIS)
    for arm in ARMS:
        t = _arm(true, arm)
        want = km_medians(t, "time", "event").loc[0, "median"]
        got = km_medians(_arm(ipd, arm), "time", "event").loc[0, "median"]
        events = np.sort(t.loc[t["event"] == 1, "time"].to_numpy())
        lo = events[events < want].max() if (events < want).any() else 0.0
        hi = events[events > want].min() if (events > want).any() else t["time"].max()
        assert lo - tol <= got <= hi + tol, (arm, got, want, lo, hi)
    est, se = cox_log_hr(true, "treated")
    assert abs(cox_log_hr(ipd, "treated")[0] - est) <= 0.1 * se
