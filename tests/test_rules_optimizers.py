"""optimizers' claim rules on fabricated results: each verdict branch."""

import math

import numpy as np
import pytest

from experiments import optimizers as opt
from phenomena import stats
from phenomena.results import Results

SEEDS = 8
LRS = [1e-3, 1e-2, 1e-1, 1.0]


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
        net[i, low:high, :, -1] = 0.5  # these grid LRs reach the target (0.5 ln 10 ≈ 1.15)
    results = Results()
    results.add("steps_to_tol", steps_to_tol, ("optimizer", "orientation", "seed"),
                optimizer=list(opt.SURFACE_OPTIMIZERS), orientation=list(opt.ORIENTATIONS))
    results.add("steps_to_tol_grid", np.stack([steps_to_tol[[4, 5, 6]]] * 2, axis=2),
                ("adaptive", "orientation", "surface_lr", "seed"), adaptive=list(opt.ADAPTIVE),
                surface_lr=[0.1, 1.0])
    results.add("fixed_lr", np.ones(len(opt.SURFACE_OPTIMIZERS)), ("optimizer",))
    results.add("net_loss", net, ("net_optimizer", "net_lr", "seed", "eval_step"),
                net_optimizer=list(opt.NET_OPTIMIZERS), net_lr=LRS, eval_step=[0, 100])
    results.meta.update(budget=4000, target_loss=0.5 * math.log(10), theory_steps={})
    return results


def _verdicts(results):
    return {v.claim.id.split(".")[1]: v.verdict for v in opt.claims(results)}


def test_literature_numbers_reproduce_everything():
    assert set(_verdicts(_results()).values()) == {stats.REPRODUCED}


def test_momentum_within_five_times_of_gd_fails():
    assert (_verdicts(_results(momentum=1000.0))["momentum_beats_gd_on_ill_conditioning"]
            == stats.NOT_REPRODUCED)


@pytest.mark.parametrize("kwargs", [{"adam": (80.0, 300.0)}, {"adagrad": (100.0, 400.0)},
                                    {"gd_rotated": 8000.0}])
def test_rotation_rule_needs_both_halves(kwargs):
    assert (_verdicts(_results(**kwargs))["preconditioner_not_rotation_invariant"]
            == stats.NOT_REPRODUCED)


def test_equal_lr_ranges_are_not_robustness():
    verdicts = _verdicts(_results(sgd_reach=(1, 3), adam_reach=(1, 3)))
    assert verdicts["adam_robust_to_lr"] == stats.NOT_REPRODUCED


def test_an_optimizer_missing_the_target_fails_the_comparison():
    assert (_verdicts(_results(sgd_reach=(0, 0)))["all_optimizers_compared"]
            == stats.NOT_REPRODUCED)


def test_lr_width_counts_reaching_grid_points_times_spacing():
    final = np.array([[2.0, 2.0], [1.0, 2.0], [0.9, 1.0], [np.nan, 0.5]])  # (lr, seed)
    np.testing.assert_allclose(opt._lr_width(final, LRS, 1.0), [2.0, 2.0])
