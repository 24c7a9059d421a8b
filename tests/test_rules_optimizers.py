"""optimizers' claim rules on fabricated results: each verdict branch, no training."""

import math

import numpy as np
import pytest

from experiments import optimizers as opt
from phenomena import stats
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config

SEEDS = 8
LRS = [1e-3, 1e-2, 1e-1, 1.0]
CONFIG = resolve_config(opt, "quick")  # budget 4000 surface steps, margin 0.1 ln 10 ≈ 0.23


def _results(gd=3454.0, momentum=204.0, adam=(80.0, 900.0), adagrad=(100.0, 2500.0),
             gd_rotated=3454.0, sgd_reach=(2, 3), adam_reach=(0, 3)) -> Results:
    steps = {"GD": (gd, gd_rotated), "heavy-ball": (momentum, momentum), "Nesterov": (150.0, 150.0),
             "Newton": (1.0, 1.0), "Adam": adam, "RMSprop": (7.0, math.inf), "Adagrad": adagrad}
    spread = 1 + 0.01 * np.arange(SEEDS)
    steps_to_tol = np.array([[np.full(SEEDS, a) * spread, np.full(SEEDS, r) * spread]
                             for a, r in (steps[n] for n in opt.SURFACE_OPTIMIZERS)])
    net = np.full((len(opt.NET_OPTIMIZERS), len(LRS), SEEDS, 2), 2.0)
    for i, name in enumerate(opt.NET_OPTIMIZERS):
        low, high = adam_reach if name == "Adam" else sgd_reach
        net[i, low:high, :, -1] = 0.5  # these grid LRs are the best; the others 1.5 nats worse
    results = Results()
    results.add("steps_to_tol", steps_to_tol, ("optimizer", "orientation", "seed"),
                optimizer=list(opt.SURFACE_OPTIMIZERS), orientation=list(opt.ORIENTATIONS))
    results.add("steps_to_tol_grid", np.stack([steps_to_tol[[4, 5, 6]]] * 2, axis=2),
                ("adaptive", "orientation", "surface_lr", "seed"), adaptive=list(opt.ADAPTIVE),
                surface_lr=[0.1, 1.0])
    results.add("fixed_lr", np.ones(len(opt.SURFACE_OPTIMIZERS)), ("optimizer",))
    results.add("net_loss", net, ("net_optimizer", "net_lr", "seed", "eval_step"),
                net_optimizer=list(opt.NET_OPTIMIZERS), net_lr=LRS, eval_step=[0, 100])
    return results


def _verdicts(results, config=CONFIG):
    return opt.claims.verdicts(results, config)


def _decided(results, name):
    return {v.claim.id.split(".")[1]: v for v in opt.claims.decide(results, CONFIG)}[name]


def test_literature_numbers_reproduce_everything():
    assert set(_verdicts(_results()).values()) == {stats.REPRODUCED}


def test_momentum_within_five_times_of_gd_fails():
    assert (_verdicts(_results(momentum=1000.0))["momentum_beats_gd_on_ill_conditioning"]
            == stats.NOT_REPRODUCED)


def test_momentum_speedup_is_the_log_ratio_of_steps():
    assert _decided(_results(), "momentum_beats_gd_on_ill_conditioning").interval.mean == \
        pytest.approx(math.log10(3454 / 204))


@pytest.mark.parametrize("kwargs", [{"adam": (80.0, 300.0)}, {"adagrad": (100.0, 400.0)},
                                    {"gd_rotated": 8000.0}])
def test_rotation_rule_needs_both_halves(kwargs):
    assert (_verdicts(_results(**kwargs))["preconditioner_not_rotation_invariant"]
            == stats.NOT_REPRODUCED)


def test_runs_beyond_the_budget_count_as_the_budget():
    # Adam's rotated runs never reach the tolerance: censored at the configured budget, 4000
    # steps (50x its axis-aligned 80, so the rule holds) or 300 (under 5x: it fails).
    never = _results(adam=(80.0, math.inf))
    ratio = _decided(never, "preconditioner_not_rotation_invariant").details["log10_ratio"]
    expected = np.mean(np.log10(4000 / (80.0 * (1 + 0.01 * np.arange(SEEDS)))))
    assert ratio["Adam"].mean == pytest.approx(expected)
    assert _verdicts(never)["preconditioner_not_rotation_invariant"] == stats.REPRODUCED
    short = resolve_config(opt, "quick", overrides={"surface_steps": "300"})
    assert _verdicts(never, short)["preconditioner_not_rotation_invariant"] == stats.NOT_REPRODUCED


def test_the_lr_rule_is_a_recorded_deviation():
    assert opt.claims.expected()["adam_robust_to_lr"] == stats.NOT_REPRODUCED


def test_equal_lr_ranges_are_not_robustness():
    verdicts = _verdicts(_results(sgd_reach=(1, 3), adam_reach=(1, 3)))
    assert verdicts["adam_robust_to_lr"] == stats.NOT_REPRODUCED


def test_a_wider_adam_range_is_robustness_measured_in_decades():
    outcome = _decided(_results(sgd_reach=(2, 3), adam_reach=(0, 3)), "adam_robust_to_lr")
    assert outcome.verdict == stats.REPRODUCED
    assert outcome.interval.mean == pytest.approx(2.0)  # 3 vs 1 grid points a decade apart


def test_an_optimizer_missing_the_target_fails_the_comparison():
    assert (_verdicts(_results(sgd_reach=(0, 0)))["all_optimizers_compared"]
            == stats.NOT_REPRODUCED)


def test_the_comparison_reports_losses_with_non_negative_intervals():
    outcome = _decided(_results(), "all_optimizers_compared")
    assert outcome.interval.low >= 0
    assert outcome.details["fastest"] == list(opt.NET_OPTIMIZERS)  # all tied at the one evaluation


def test_lr_width_counts_grid_points_near_each_seeds_own_best_times_spacing():
    final = np.array([[2.0, 2.0], [1.0, 2.0], [0.9, 1.0], [np.nan, 0.5]])  # (lr, seed)
    # Seed 0's best is 0.9 (the NaN never counts): 0.9 and 1.0 within 0.2; seed 1's is 0.5 alone.
    np.testing.assert_allclose(opt._lr_width(final, LRS, 0.2), [2.0, 1.0])
    np.testing.assert_allclose(opt._lr_width(final, [0.1, 0.316, 1.0, 3.16], 0.2), [1.0, 0.5],
                               rtol=1e-3)


def test_a_high_loss_counts_when_it_is_near_the_optimizers_own_best():
    # Adam's best is 1.9 (worse than SGD's 0.5), yet every LR within the margin of it is usable.
    results = _results(sgd_reach=(3, 4), adam_reach=(0, 0))
    results["net_loss"][list(opt.NET_OPTIMIZERS).index("Adam"), :, :, -1] = np.array(
        [1.9, 2.0, 2.0, 3.0])[:, None]
    outcome = _decided(results, "adam_robust_to_lr")
    assert outcome.verdict == stats.REPRODUCED
    assert outcome.interval.mean == pytest.approx(2.0)  # 3 usable LRs vs 1, a decade apart


def test_late_improvement_reads_the_last_quarter_of_the_mean_curve():
    curve = np.array([[3.0, 2.0, 1.0, 0.6, 0.5], [3.0, 2.0, 1.0, 0.4, 0.3]])  # (seed, eval)
    assert opt._late_improvement(curve) == pytest.approx(0.1)


def test_a_grid_coarser_than_half_a_decade_is_refused():
    with pytest.raises(ConfigError, match="half a decade"):
        resolve_config(opt, "quick", overrides={"net_lrs": "0.001,0.01,0.1"})


@pytest.mark.parametrize("key, value", [("train.lr", "0.5"), ("train.optimizer", "adam")])
def test_settings_the_grids_replace_are_refused(key, value):
    with pytest.raises(ConfigError, match=key):
        resolve_config(opt, "quick", overrides={key: value})


def test_net_optimizers_must_keep_the_compared_pair():
    with pytest.raises(ConfigError, match="net_optimizers"):
        resolve_config(opt, "quick", overrides={"net_optimizers": "SGD,momentum"})
