import numpy as np
import pytest

from phenomena import rng, stats
from phenomena.stats import Claim, decide


def test_mean_ci_matches_the_t_formula():
    interval = stats.mean_ci([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / np.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert interval.mean == 2.0 and interval.n == 3
    assert interval.low == pytest.approx(2 - half) and interval.high == pytest.approx(2 + half)


def test_mean_ci_drops_nans_from_diverged_runs():
    assert stats.mean_ci([1.0, np.nan, 3.0]).n == 2
    assert stats.mean_ci([np.nan]).n == 0


@pytest.mark.parametrize("sampler, low, high", [
    (lambda rng, n: rng.normal(5.0, 2.0, n), 0.94, 0.96),
    # Skewed (exponential, mean 5): the t interval is known to undercover a little at n = 30.
    (lambda rng, n: rng.exponential(1.0, n) + 4.0, 0.91, 0.95),
])
def test_t_interval_covers_the_true_mean_about_95_percent(sampler, low, high):
    rng = np.random.default_rng(0)
    trials = 4000
    covered = 0
    for _ in range(trials):
        interval = stats.mean_ci(sampler(rng, 30))
        covered += interval.low < 5.0 < interval.high
    assert low <= covered / trials <= high


def test_wilson_interval_coverage_and_edges():
    rng = np.random.default_rng(1)
    p, n, trials = 0.9, 200, 3000
    hits = rng.binomial(n, p, trials)
    coverage = np.mean([stats.proportion_ci(int(k), n).low < p < stats.proportion_ci(int(k), n).high
                        for k in hits])
    assert 0.93 <= coverage <= 0.97
    zero = stats.proportion_ci(0, 10)
    assert zero.low == 0.0 and zero.high == pytest.approx(0.2775, abs=1e-3)  # Wilson, 0 of 10


def test_bootstrap_interval_contains_the_median_of_a_symmetric_sample():
    x = np.random.default_rng(2).normal(0.0, 1.0, 200)
    interval = stats.bootstrap_ci(x, statistic=np.median)
    assert interval.low < 0.0 < interval.high and interval.high - interval.low < 0.5


def test_paired_difference_removes_shared_noise():
    rng = np.random.default_rng(3)
    shared = rng.normal(0, 10, 16)
    a, b = shared + 1.0, shared + rng.normal(0, 0.1, 16)
    assert stats.paired_diff_ci(a, b).above(0.5)
    assert not stats.mean_ci(a).above(stats.mean_ci(b).high)  # unpaired intervals overlap


def test_decide_and_verdict_serialization():
    claim = Claim("x.y", "Q1", "the mean is above 1")
    found = decide(stats.mean_ci([2.0, 2.1, 2.2]).above(1), "mean", stats.mean_ci([2, 3, 4]),
                   extra=np.float32(1.5))
    verdict = stats.Verdict(claim, found.verdict, found.statistic, found.interval, found.details)
    assert verdict.verdict == stats.REPRODUCED and verdict.matches_expected
    record = verdict.as_dict()
    assert record["id"] == "x.y" and record["details"]["extra"] == 1.5
    assert record["kind"] == "claim" and record["literature"] == stats.REPRODUCED
    assert decide(False, "mean", stats.mean_ci([0.0, 0.1])).verdict == stats.NOT_REPRODUCED
    with pytest.raises(ValueError):
        Claim("x.z", "Q1", "rule", expected="probably")
    with pytest.raises(ValueError, match="deviation"):  # a changed expectation needs its reason
        Claim("x.z", "Q1", "rule", expected=stats.NOT_REPRODUCED)
    assert Claim("x.z", "Q1", "rule", expected=stats.NOT_REPRODUCED, deviation="why").literature \
        == stats.REPRODUCED


def test_bounded_statistics_get_intervals_inside_their_range():
    shares = [1.0, 1.0, 1.0, 0.9, 1.0, 1.0, 1.0, 1.0]
    assert stats.mean_ci(shares).high > 1  # Student's t leaves [0, 1] here
    bounded = stats.mean_ci(shares, bounds=(0.0, 1.0))
    assert 0.9 <= bounded.low < bounded.mean == pytest.approx(0.9875) and bounded.high <= 1.0


def test_dropped_runs_are_counted():
    interval = stats.mean_ci([1.0, np.nan, 2.0, np.inf, 3.0])
    assert (interval.n, interval.dropped, interval.mean) == (3, 2, 2.0)
    assert "2 dropped" in str(interval)
    assert stats.paired_diff_ci([1.0, np.nan], [0.0, 0.0]).dropped == 1


def _trend(means, noise=0.1, seeds=8):
    rng = np.random.default_rng(0)
    return np.asarray(means) + rng.normal(0, noise, (seeds, len(means)))


@pytest.mark.parametrize("means, direction, verdict, turn", [
    ([0, 1, 2, 3, 4], 1, stats.REPRODUCED, 4),          # monotone rise: turn at the end
    ([0, 2, 4, 2, 0], 1, stats.NUANCED, 2),             # inverted U: rises, then falls back
    ([0, 0, 0, 0, 0.05], 1, stats.NOT_REPRODUCED, 4),   # flat within noise
    ([4, 3, 2, 1, 0], 1, stats.NOT_REPRODUCED, 0),      # the opposite trend
    ([4, 3, 2, 1, 0], -1, stats.REPRODUCED, 4),         # a claimed fall
    ([2, 4, 3, 1, 0], -1, stats.NUANCED, 4),            # a claimed fall that first rises
    ([0, -2, 1, 2, 3], 1, stats.NUANCED, 4),            # a claimed rise that first dips
])
def test_trend_verdict_judges_the_whole_range(means, direction, verdict, turn):
    trend = stats.trend_verdict(_trend(means), direction)
    assert (trend.verdict, trend.turn) == (verdict, turn)


def test_trend_verdict_reports_the_rise_and_the_fall_back():
    trend = stats.trend_verdict(_trend([0, 2, 4, 2, 0], noise=0.0), 1)
    assert trend.towards.mean == pytest.approx(4) and trend.back.mean == pytest.approx(4)
    assert trend.against.mean == 0
    with pytest.raises(ValueError):
        stats.trend_verdict(np.zeros((8, 1)))
    with pytest.raises(ValueError):
        stats.trend_verdict(np.zeros((8, 3)), direction=0)


def test_post_hoc_claims_are_labelled_in_the_summary():
    claim = Claim("x.added_later", "Q1", "rule", post_hoc=True)
    verdict = stats.Verdict(claim, stats.REPRODUCED, "s", stats.mean_ci([1.0, 2.0]))
    assert verdict.as_dict()["post_hoc"] is True
    assert Claim("x.planned", "Q1", "rule").post_hoc is False


def test_exact_interval_is_the_value_itself():
    interval = stats.Interval.exact(2.5, n=3)
    assert (interval.mean, interval.low, interval.high, interval.n) == (2.5, 2.5, 2.5, 3)
    assert interval.above(2.4) and not interval.above(2.5)
