"""Inputs of ``ipd-from-km``: what is read, cleaned or refused, the CLI's messages and determinism.

Small hand-made curves (values stated in each test) rather than trial data: each test pins one rule of
hccbayes/data/kmipd (inputs.py, clean.py, guyot.py) or the command (hccbayes/commands/ipd_from_km.py).
"""
import pandas as pd
import pytest

from hccbayes.cli import main
from hccbayes.data.reconstruction.kmipd import CurveError, ipd_from_km

# two groups, 10 patients each: A loses one patient at each of t = 1..5 (S = 0.9 ... 0.5), B at t = 2, 4
CURVES = pd.DataFrame({"group": ["A"] * 6 + ["B"] * 3,
                       "time": [0, 1, 2, 3, 4, 5, 0, 2, 4],
                       "survival": [1, 0.9, 0.8, 0.7, 0.6, 0.5, 1, 0.9, 0.8]})
RISK = pd.DataFrame({"group": ["A", "A", "B", "B"], "time": [0, 3, 0, 3], "n_risk": [10, 8, 10, 9]})


def _write(tmp_path, name, frame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _problems(err: CurveError) -> list[str]:
    return [str(p) for p in err.problems]


def test_exact_curve_is_reproduced():
    """Steps of exactly one patient in 10: every event at its step's time, nobody censored before the end
    (the table agrees), the survivors censored at the curve's last point (hand count)."""
    rec = ipd_from_km(CURVES, RISK)
    a = rec.ipd[rec.ipd["group"] == "A"]
    assert a.loc[a["event"] == 1, "time"].tolist() == [1, 2, 3, 4, 5]
    assert a.loc[a["event"] == 0, "time"].tolist() == [5] * 5
    b = rec.ipd[rec.ipd["group"] == "B"]
    assert b.loc[b["event"] == 1, "time"].tolist() == [2, 4]
    assert len(b) == 10


def test_at_risk_rising_names_file_row_and_fix(tmp_path):
    """A number at risk that rises is refused: file, data row (header excluded), column and a fix."""
    risk = _write(tmp_path, "risk.csv", pd.DataFrame({"group": ["A", "A", "A"], "time": [0, 3, 6],
                                                      "n_risk": [10, 8, 9]}))
    with pytest.raises(CurveError) as exc:
        ipd_from_km(CURVES[CURVES["group"] == "A"], risk)
    (problem,) = _problems(exc.value)
    assert problem.startswith(f"{risk}, row 3, column 'n_risk'") and "rises from 8" in problem
    assert "never rise" in problem


@pytest.mark.parametrize("values,row,scale", [([1, 0.9, 1.3], 3, "proportions"), ([100, 90, 130], 3, "percentages")])
def test_survival_out_of_range_is_refused(tmp_path, values, row, scale):
    """Survival beyond the digitising slack (0.02 as a proportion) is an error naming the row and the scale
    it was read on; 1.3 (proportion) and 130 (percent) are both out of range."""
    curves = _write(tmp_path, "curves.csv", pd.DataFrame({"group": "A", "time": [0, 1, 2], "survival": values}))
    with pytest.raises(CurveError) as exc:
        ipd_from_km(curves, RISK[RISK["group"] == "A"])
    text = " ".join(_problems(exc.value))
    assert f"{curves}, row {row}, column 'survival'" in text and f"read as {scale}" in text


def test_groups_must_match_between_files(tmp_path):
    """A group in one file but not the other: each file's extra group is named, with the other file."""
    risk = _write(tmp_path, "risk.csv", pd.concat([RISK, pd.DataFrame({"group": ["C"], "time": [0],
                                                                        "n_risk": [5]})]))
    curves = _write(tmp_path, "curves.csv", CURVES.replace({"group": {"B": "b"}}))
    with pytest.raises(CurveError) as exc:
        ipd_from_km(curves, risk)
    text = _problems(exc.value)
    assert any(p.startswith(str(curves)) and "group 'b' is not in" in p and str(risk) in p for p in text)
    assert any(p.startswith(str(risk)) and "group 'C' is not in" in p for p in text)
    assert any(p.startswith(str(risk)) and "group 'B' is not in" in p for p in text)


def test_header_time_zero_and_events_checks(tmp_path):
    """A digitiser's raw x,y export (no group column), a table without time 0 and more events than
    patients are each refused with the fix."""
    raw = _write(tmp_path, "xy.csv", pd.DataFrame({"x": [0, 1], "y": [1, 0.9]}))
    with pytest.raises(CurveError, match="write the header line group,time,survival"):
        ipd_from_km(raw, RISK)
    with pytest.raises(CurveError, match=r"group 'A' has no number at risk at time 0.*add the row A,0"):
        ipd_from_km(CURVES, RISK[RISK["time"] > 0])
    events = pd.DataFrame({"group": ["A"], "events": [11]})
    with pytest.raises(CurveError, match="11 events but 10 patients at risk at time 0"):
        ipd_from_km(CURVES, RISK, events)


def test_two_curves_mixed_in_one_group_is_refused():
    """Survival rising by more than 0.1 above an earlier reading (beyond the 1% of the time axis in which
    points of one vertical drop may scatter) is not noise."""
    curves = pd.DataFrame({"group": "A", "time": [0, 1, 2, 3, 4, 5], "survival": [1, 0.9, 0.6, 0.85, 0.5, 0.5]})
    with pytest.raises(CurveError, match=r"row 4, column 'survival'.*rises to 0.85"):
        ipd_from_km(curves, RISK[RISK["group"] == "A"])


def test_noise_and_scale_are_cleaned_and_said():
    """Percentages are detected per group and said; survival read a little above 1 (1.01 at t = 0.5) is
    clipped and a point read above the level before it (0.905 at t = 1.5, after 0.9 at t = 1) is pooled
    with it by isotonic regression, not refused: the events are those of the exact curve (hand count:
    round(10 x (1 - 0.9025)) = 1 at t = 1, then one per step)."""
    noisy = CURVES.copy()
    noisy.loc[noisy["group"] == "B", "survival"] *= 100  # B in percent
    noisy = pd.concat([noisy, pd.DataFrame({"group": ["A", "A"], "time": [0.5, 1.5], "survival": [1.01, 0.905]})])
    rec = ipd_from_km(noisy, RISK)
    assert any("group 'B': survival read as percentages" in n for n in rec.notes)
    assert any("group 'A'" in n and "non-increasing" in n for n in rec.notes)
    a, b = (rec.ipd[(rec.ipd["group"] == g) & (rec.ipd["event"] == 1)] for g in ("A", "B"))
    assert a["time"].tolist() == [1, 2, 3, 4, 5] and b["time"].tolist() == [2, 4]


def test_deterministic_and_half_ties_broken_by_the_seed():
    """Expected events of exactly one half (10 at risk, S 1 -> 0.95: 10 x 0.05 = 0.5) are rounded by a
    seeded coin: the same seed gives the same rows, seeds 0..9 give both outcomes; without a tie the seed
    changes nothing."""
    curves = pd.DataFrame({"group": "A", "time": [0, 1, 2], "survival": [1, 0.95, 0.8]})
    risk = RISK[RISK["group"] == "A"].iloc[:1]
    first = [ipd_from_km(curves, risk, seed=s).ipd for s in range(10)]
    assert ipd_from_km(curves, risk, seed=3).ipd.equals(first[3])
    at_one = {int(((f["time"] == 1) & (f["event"] == 1)).sum()) for f in first}
    assert at_one == {0, 1}
    plain = [ipd_from_km(CURVES, RISK, seed=s).ipd for s in range(5)]
    assert all(p.equals(plain[0]) for p in plain)


def test_last_stretch_total_events_vs_assumed_censoring():
    """After the last number at risk: with a total the events add up to it; without one the censoring rate
    of the earlier intervals is assumed (and said). A: 10 at 0, 6 at 3 (2 events and 2 censored in [0, 3)),
    then survival 0.8 -> 0.4 by t = 6."""
    curves = pd.DataFrame({"group": "A", "time": [0, 1, 2, 4, 5, 6], "survival": [1, 0.9, 0.8, 0.6, 0.5, 0.4]})
    risk = pd.DataFrame({"group": "A", "time": [0, 3], "n_risk": [10, 6]})
    assumed = ipd_from_km(curves, risk)
    assert any("censoring assumed at the earlier rate" in n for n in assumed.notes)
    assert int(((assumed.ipd["time"] > 3) & (assumed.ipd["event"] == 0) & (assumed.ipd["time"] < 6)).sum()) == 2
    total = ipd_from_km(curves, risk, pd.DataFrame({"group": ["A"], "events": [4]}))
    assert int(total.ipd["event"].sum()) == 4
    assert any("total events 4 used" in n for n in total.notes)


def test_cli_writes_ipd_and_says_what_it_assumed(tmp_path, capsys):
    """The command writes group,time,event, prints the notes (percent scale) and the fidelity table."""
    curves = CURVES.copy()
    curves.loc[curves["group"] == "B", "survival"] *= 100
    args = [str(_write(tmp_path, "curves.csv", curves)), "--at-risk", str(_write(tmp_path, "risk.csv", RISK)),
            "--out", str(tmp_path / "ipd.csv"), "--figure", str(tmp_path / "check.png")]
    assert main(["ipd-from-km", *args]) == 0
    out = capsys.readouterr().out
    assert "note: group 'B': survival read as percentages" in out and "km.A" in out and "hard targets 2/2" in out
    ipd = pd.read_csv(tmp_path / "ipd.csv")
    assert list(ipd.columns) == ["group", "time", "event"] and len(ipd) == 20
    assert (tmp_path / "check.png").stat().st_size > 10_000


def test_cli_bad_input_is_one_readable_error(tmp_path, capsys):
    """Bad input: exit code 2, the problems on stderr after 'hccbayes ipd-from-km: error:', no traceback."""
    risk = _write(tmp_path, "risk.csv", pd.DataFrame({"group": ["A", "A"], "time": [0, 3], "n_risk": [10, 12]}))
    code = main(["ipd-from-km", str(_write(tmp_path, "c.csv", CURVES)), "--at-risk", str(risk),
                 "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("hccbayes ipd-from-km: error: ") and "Traceback" not in err
    assert "rises from 10" in err and not (tmp_path / "o.csv").exists()
    assert main(["ipd-from-km", "--at-risk", str(risk)]) == 2
    assert "CURVES, --at-risk and --out are needed" in capsys.readouterr().err
