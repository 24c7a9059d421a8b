"""backprop_cost's claim rules on fabricated results: each verdict branch, no training."""

import numpy as np
import pytest

from experiments import backprop_cost as exp
from phenomena import stats
from phenomena.config import ConfigError
from phenomena.results import Results
from phenomena.runner import resolve_config

CONFIG = resolve_config(exp, "quick")


def _fabricated(ratios=(2.3, 2.6, 2.9), errors=(5e-10, 6e-10, 4e-10, 7e-10)) -> Results:
    """Three sizes with forward FLOPs 2·100·p and the given gradient/forward ratios."""
    p = np.array([490.0, 7434.0, 288778.0])
    forward = 200 * p
    results = Results()
    results.add("params", p, ("width",), width=[8, 64, 512])
    results.add("forward_flops", forward, ("width",))
    results.add("gradient_flops", forward * np.asarray(ratios), ("width",))
    results.add("differences_flops", np.array([2 * p[0] * forward[0] * 1.03, np.nan, np.nan]), ("width",))
    results.add("relative_error", np.asarray(errors), ("seed",), seed=list(range(len(errors))))
    return results


def _decided(results) -> dict:
    return {v.claim.id.split(".")[1]: v for v in exp.claims.decide(results, CONFIG)}


def test_exactness_needs_every_seed_below_the_tolerance():
    decided = _decided(_fabricated())
    assert decided["backprop_is_exact"].verdict == stats.REPRODUCED
    assert decided["backprop_is_exact"].interval.mean == pytest.approx(5.5e-10)
    assert decided["backprop_is_exact"].details["largest"] == pytest.approx(7e-10)
    # One seed of four at 2e-6: the mean (5e-7) is below 1e-6, but the rule is per seed.
    one_bad = _decided(_fabricated(errors=(5e-10, 6e-10, 4e-10, 2e-6)))["backprop_is_exact"]
    assert one_bad.verdict == stats.NOT_REPRODUCED
    assert one_bad.interval.mean < CONFIG.tolerance


def test_cost_ratio_must_stay_in_the_band_at_every_size():
    decided = _decided(_fabricated())["backprop_cost_constant"]
    assert decided.verdict == stats.REPRODUCED
    assert (decided.interval.low, decided.interval.high) == pytest.approx((2.3, 2.9))
    assert decided.details["parameter_growth"] == pytest.approx(288778 / 490)
    assert decided.details["differences_per_forward_over_2p"] == {490: pytest.approx(1.03)}
    # Leaving the band at one size only (the middle one) is enough to fail.
    assert _decided(_fabricated(ratios=(2.3, 5.5, 2.9)))["backprop_cost_constant"].verdict \
        == stats.NOT_REPRODUCED
    assert _decided(_fabricated(ratios=(1.2, 2.6, 2.9)))["backprop_cost_constant"].verdict \
        == stats.NOT_REPRODUCED


def test_the_parameter_count_is_that_of_the_mnist1d_mlp():
    assert exp.parameter_count(8, 2) == 41 * 8 + 9 * 8 + 9 * 10
    assert exp.parameter_count(512, 2) / exp.parameter_count(8, 2) > 100


def test_a_sweep_growing_less_than_a_hundredfold_is_refused():
    with pytest.raises(ConfigError, match="grow"):
        resolve_config(exp, "quick", overrides={"widths": "(8, 16, 32)"})
    with pytest.raises(ConfigError, match="ratio_band"):
        resolve_config(exp, "quick", overrides={"ratio_band": "(5.0, 1.5)"})


def test_no_key_is_ignored():
    # Every knob is read by the run or a rule: nothing for `--set` to silently skip.
    assert exp.Config.IGNORED_KEYS == {}
