"""second_order's claim rules on fabricated results: each verdict branch."""

import numpy as np
import pytest

from experiments import second_order as so
from phenomena import stats
from phenomena.results import Results
from phenomena.runner import resolve_config

DIMS = [10, 100, 1000]
CONFIG = resolve_config(so, "quick", overrides={"dims": "(10, 100, 1000)", "n": "2000"})


def _results(newton=4.0, gd=100.0, newton_power=2.0, gd_power=1.0, quad_newton_power=3.0,
             quad_gd_power=2.0) -> Results:
    seeds = 8
    iterations = np.empty((2, len(DIMS), 2, seeds))
    iterations[:, :, 0] = newton
    iterations[:, :, 1] = gd * (1 + 0.01 * np.arange(seeds))
    p = np.asarray(DIMS, float)
    flops = np.stack([np.stack([p**newton_power, p**gd_power], -1),
                      np.stack([p**quad_newton_power, p**quad_gd_power], -1)])
    results = Results()
    results.add("iterations", iterations, ("problem", "p", "method", "seed"),
                problem=list(so.PROBLEMS), p=DIMS, method=list(so.METHODS))
    conditions = np.broadcast_to(np.array([3.0, 2.0])[None, None, :, None], (2, len(DIMS), 2, seeds))
    results.add("condition_number", conditions, ("problem", "p", "condition", "seed"),
                condition=list(so.CONDITIONS))
    results.add("flops_per_iteration", flops, ("problem", "p", "method"))
    results.add("seconds_per_iteration", flops * 1e-9, ("problem", "p", "method"))
    return results


def _verdicts(results):
    return so.claims.verdicts(results, CONFIG)


def test_everything_holds():
    assert _verdicts(_results()) == {"newton_few_iterations": stats.REPRODUCED,
                                     "newton_costly_per_iteration": stats.REPRODUCED}


@pytest.mark.parametrize("kwargs", [{"newton": 11.0}, {"gd": 30.0}])
def test_too_many_newton_iterations_or_too_fast_gd_fails(kwargs):
    assert _verdicts(_results(**kwargs))["newton_few_iterations"] == stats.NOT_REPRODUCED


def test_gd_beyond_budget_counts_as_budget():
    results = _results()
    results.arrays["iterations"][:, :, 1] = np.inf  # never reached: censored at 6000
    assert _verdicts(results)["newton_few_iterations"] == stats.REPRODUCED
    few = {v.claim.id: v for v in so.claims.decide(results, CONFIG)}["second_order.newton_few_iterations"]
    assert few.interval.mean == pytest.approx(np.log10(6000 / 4))
    assert few.details["gd_budget"] == 6000


def test_a_newton_run_that_never_converges_fails():
    results = _results()
    results.arrays["iterations"][1, 0, 0, 3] = np.inf  # one quadratic seed: Newton never got there
    assert _verdicts(results)["newton_few_iterations"] == stats.NOT_REPRODUCED


def test_cost_slopes_are_the_points_of_the_statistic():
    costly = {v.claim.id: v for v in so.claims.decide(_results(), CONFIG)}[
        "second_order.newton_costly_per_iteration"]
    assert costly.interval.mean == costly.interval.low == pytest.approx(2.0)
    assert costly.details["slopes"]["quadratic"]["GD"] == pytest.approx(2.0)


@pytest.mark.parametrize("kwargs", [{"newton_power": 1.5}, {"gd_power": 1.5},
                                    {"quad_newton_power": 2.5}])
def test_cost_slopes_below_the_rule_fail(kwargs):
    assert _verdicts(_results(**kwargs))["newton_costly_per_iteration"] == stats.NOT_REPRODUCED


def test_the_iteration_claim_reports_condition_numbers_and_tolerance():
    few = {v.claim.id: v for v in so.claims.decide(_results(), CONFIG)}["second_order.newton_few_iterations"]
    assert few.details["median_condition_number"]["quadratic, p=100"] == {
        "Hessian at the optimum": 3.0, "seen by GD's step": 2.0}
    assert few.details["tolerance"] == CONFIG.tolerance
    claim = {c.id: c for c in so.claims}["second_order.newton_few_iterations"]
    assert (claim.literature, claim.expected) == (stats.REPRODUCED, stats.NOT_REPRODUCED)
    assert "κ" in claim.deviation and "tolerance" in claim.deviation
