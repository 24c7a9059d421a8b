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
MARGIN = 0.1 * math.log(10)
# The fabricated grid is a decade apart; a usable loss 0.5 next to an unusable 2.0 crosses the
# threshold 0.5 + MARGIN this far (in decades) towards the unusable neighbour.
CROSSING = MARGIN / 1.5
FIT_STEPS = {"SGD": 600.0, "momentum": 300.0, "RMSprop": 200.0, "Adagrad": 400.0, "Adam": 150.0}


def _results(gd=3454.0, momentum=204.0, adam=(80.0, 900.0), adagrad=(100.0, 2500.0),
             gd_rotated=3454.0, sgd_reach=(2, 3), adam_reach=(0, 3), fit_steps=None) -> Results:
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
    fit = {**FIT_STEPS, **(fit_steps or {})}
    to_fit = np.array([np.full((len(LRS), SEEDS), fit[n]) * spread for n in opt.NET_OPTIMIZERS])
    results.add("net_steps_to_fit", to_fit, ("net_optimizer", "net_lr", "seed"))
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


def test_the_lr_rule_expects_the_ledgers_verdict():
    assert opt.claims.expected()["adam_robust_to_lr"] == stats.REPRODUCED


def test_equal_lr_ranges_are_not_robustness():
    verdicts = _verdicts(_results(sgd_reach=(1, 3), adam_reach=(1, 3)))
    assert verdicts["adam_robust_to_lr"] == stats.NOT_REPRODUCED


def test_a_wider_adam_range_is_robustness_measured_in_interpolated_decades():
    outcome = _decided(_results(sgd_reach=(2, 3), adam_reach=(0, 3)), "adam_robust_to_lr")
    assert outcome.verdict == stats.REPRODUCED
    # SGD: one usable point, each end a crossing into its neighbour; Adam: 1e-3 .. 1e-1 (the
    # grid's edge is usable, so nothing is added below it) plus the crossing above.
    assert outcome.details["width_decades"]["SGD"].mean == pytest.approx(2 * CROSSING)
    assert outcome.details["width_decades"]["Adam"].mean == pytest.approx(2 + CROSSING)
    assert outcome.interval.mean == pytest.approx(2 - CROSSING)
    assert outcome.details["grid_point_width_gain"].mean == pytest.approx(2.0)  # 3 vs 1 points
    assert outcome.details["grid_edges_usable"] == {"SGD": False, "Adam": True}


def test_a_narrower_adam_range_is_not_robustness():
    outcome = _decided(_results(sgd_reach=(0, 3), adam_reach=(2, 3)), "adam_robust_to_lr")
    assert outcome.verdict == stats.NOT_REPRODUCED
    assert outcome.interval.mean == pytest.approx(-(2 - CROSSING))


def test_an_optimizer_missing_the_target_fails_the_comparison():
    assert (_verdicts(_results(sgd_reach=(0, 0)))["all_optimizers_compared"]
            == stats.NOT_REPRODUCED)


def test_the_comparison_reports_losses_with_non_negative_intervals():
    outcome = _decided(_results(), "all_optimizers_compared")
    assert outcome.interval.low >= 0
    assert outcome.details["fastest"] == "Adam"
    assert outcome.details["tied_with_fastest"] == []
    assert outcome.details["steps_to_fit"]["SGD"].mean == pytest.approx(
        600 * np.mean(1 + 0.01 * np.arange(SEEDS)))


def test_equal_steps_to_fit_are_a_tie_and_never_fitting_counts_as_the_budget():
    outcome = _decided(_results(fit_steps={"RMSprop": 150.0, "SGD": math.nan}),
                       "all_optimizers_compared")
    named = {outcome.details["fastest"], *outcome.details["tied_with_fastest"]}
    assert named == {"Adam", "RMSprop"}
    assert outcome.details["runs_never_fitting"]["SGD"] == SEEDS
    assert outcome.details["steps_to_fit"]["SGD"].mean == pytest.approx(CONFIG.train.steps)


def test_steps_to_fit_average_blocks_of_minibatch_losses_and_interpolate():
    blocks = np.array([1.0, 0.5, 0.05, 0.0])  # block means at steps 10, 20, 30, 40
    step_loss = np.repeat(blocks, opt.FIT_BLOCK)[None]
    # 0.1 is crossed 8/9 of the way from step 20 (0.5) to step 30 (0.05).
    assert opt._steps_to_fit(step_loss, CONFIG)[0] == pytest.approx(20 + 10 * 0.4 / 0.45)
    lucky = np.ones((1, 40))
    lucky[0, 4] = 0.0  # one minibatch at 0: its block's mean stays at 0.9
    assert np.isnan(opt._steps_to_fit(lucky, CONFIG)[0])


def test_lr_width_interpolates_between_usable_and_unusable_grid_points():
    final = np.array([[2.0, 2.0], [1.0, 2.0], [0.9, 1.0], [np.nan, 0.5]])  # (lr, seed)
    # Seed 0's best is 0.9, threshold 1.1: 1e-2 .. 1e-1 usable, 0.1 of the way to 2.0 below,
    # nothing above (a diverged neighbour places no crossing). Seed 1's best is 0.5 at the
    # grid's edge, threshold 0.7: 0.2 / 0.5 of the way down to 1.0.
    np.testing.assert_allclose(opt._lr_width(final, LRS, 0.2), [1.1, 0.4])
    np.testing.assert_allclose(opt._lr_width(final, [0.1, 0.316, 1.0, 3.16], 0.2), [0.55, 0.2],
                               rtol=1e-3)
    # The old count: usable points times the spacing.
    np.testing.assert_allclose(opt._grid_point_width(final, LRS, 0.2), [2.0, 1.0])


def test_a_high_loss_counts_when_it_is_near_the_optimizers_own_best():
    # Adam's best is 1.9 (worse than SGD's 0.5), yet every LR within the margin of it is usable.
    results = _results(sgd_reach=(3, 4), adam_reach=(0, 0))
    results["net_loss"][list(opt.NET_OPTIMIZERS).index("Adam"), :, :, -1] = np.array(
        [1.9, 2.0, 2.0, 3.0])[:, None]
    outcome = _decided(results, "adam_robust_to_lr")
    assert outcome.verdict == stats.REPRODUCED
    # Adam: 1e-3 .. 1e-1 and (2.0 + 0.1303 - 2.0) of the way to 3.0; SGD: the crossing below 1.
    assert outcome.interval.mean == pytest.approx(2 + (1.9 + MARGIN - 2.0) - CROSSING)


def test_a_grid_coarser_than_half_a_decade_is_refused():
    with pytest.raises(ConfigError, match="half a decade"):
        resolve_config(opt, "quick", overrides={"net_lrs": "0.001,0.01,0.1"})


@pytest.mark.parametrize("key, value", [("train.lr", "0.5"), ("train.optimizer", "adam")])
def test_settings_the_grids_replace_are_refused(key, value):
    with pytest.raises(ConfigError, match=key):
        resolve_config(opt, "quick", overrides={key: value})


@pytest.mark.parametrize("key, value", [("fit_target", "3.0"), ("train.steps", "1205")])
def test_fit_target_and_blocks_are_checked(key, value):
    with pytest.raises(ConfigError, match=key.split(".")[-1]):
        resolve_config(opt, "quick", overrides={key: value})


def test_net_optimizers_must_keep_the_compared_pair():
    with pytest.raises(ConfigError, match="net_optimizers"):
        resolve_config(opt, "quick", overrides={"net_optimizers": "SGD,momentum"})
