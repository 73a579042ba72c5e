"""The report says what happened in the fits: refits and data the likelihood could not inform."""
from hccbayes.inference.engine.table import make_table
from hccbayes.reports.sections import _fit_notes


def test_fit_notes_report_refits_and_degenerate_data():
    rows = make_table([
        {"analysis": "a", "source": "bayes:pem:vague", "prior_set": "vague", "quantity": "hr",
         "note": "refit after 2 divergences with target_accept=0.95, tune=2000: clean; "
                 "anri_high = 0: no events among 4 patients — the log-HR is not bounded by the data"},
        {"analysis": "a", "source": "bayes:weibull:vague", "prior_set": "vague", "quantity": "hr",
         "note": "x3 = 1: only 3 patients"},
        {"analysis": "a", "source": "frequentist", "quantity": "hr", "note": "Efron ties; n=70, events=51"},
    ])
    (para,) = _fit_notes(rows)
    assert "refit after 2 divergences" in para.text and "no events among 4 patients" in para.text
    assert "only 3 patients" in para.text and "Efron" not in para.text  # Bayesian fits only
    assert _fit_notes(rows.assign(note="")) == []
