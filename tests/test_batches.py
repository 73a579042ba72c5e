"""Structure-affine batching of fits for local worker processes (inference/engine/batches.py): jobs grouped
by model structure, largest batch first, a batch split only where the estimated makespan drops despite the
extra compile. Pure scheduling arithmetic: the expected makespans are worked out by hand in each test."""
import pytest

from hccbayes.inference.engine.batches import COMPILE_SECONDS, makespan, plan_batches


def _jobs(spec: dict[str, int]) -> list[tuple[str, int]]:
    return [(structure, i) for structure, n in spec.items() for i in range(n)]


def structure(job):
    return job[0]


def test_jobs_grouped_by_structure_largest_batch_first():
    jobs = _jobs({"weibull-1": 3, "pem-20": 8, "mspline": 5})
    batches = plan_batches(jobs, structure, workers=2, cost=lambda j: 1.0)
    # costs 10+8, 10+5, 10+3 on 2 workers: LPT makespan 18+... = max(18, 15+13) = 28; halving pem-20 gives
    # batches 14, 14, 15, 13 -> makespan 28 or more (14+14 / 15+13): no gain, so no split
    assert [len(b) for b in batches] == [8, 5, 3]
    assert [b[0][0] for b in batches] == ["pem-20", "mspline", "weibull-1"]
    assert batches[0] == [("pem-20", i) for i in range(8)]  # the engine's order within a batch


def test_one_structure_with_most_fits_is_split_when_that_beats_a_compile():
    jobs = _jobs({"pem-20": 100, "weibull-1": 4})
    batches = plan_batches(jobs, structure, workers=2, cost=lambda j: 1.0)
    # unsplit: 110 and 14 -> makespan 110; halves of 50: 60, 60, 14 -> 74; halving a half again (60, 35, 35,
    # 14 -> 60+14 | 35+35 = 74) gains nothing: exactly one split
    assert sorted(len(b) for b in batches) == [4, 50, 50]
    assert makespan([COMPILE_SECONDS + len(b) for b in batches], 2) == pytest.approx(74.0)
    assert sorted(j for b in batches for j in b) == sorted(jobs)


def test_no_jobs_no_batches():
    assert plan_batches([], structure, workers=2, cost=lambda j: 1.0) == []  # a re-run with every fit cached


def test_one_worker_never_splits():
    jobs = _jobs({"pem-20": 100})
    assert [len(b) for b in plan_batches(jobs, structure, workers=1, cost=lambda j: 1.0)] == [100]


def test_makespan_is_list_scheduling():
    assert makespan([5, 4, 3, 3], 2) == 8  # 5+3 | 4+3 (worked by hand)
    assert makespan([5, 4, 3, 3], 1) == 15
