"""Statistics across seeds and the verdict logic.

Every claim is decided the same way: a statistic per seed (or a proportion over many inits),
its mean and 95 % interval, and a rule written in the experiment before the run. The rule is
code; the verdict is whatever the rule says about the data.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import numpy as np
from scipy import stats as _scipy_stats

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NUANCED = "nuanced"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, NUANCED)


@dataclasses.dataclass(frozen=True)
class Interval:
    """A point estimate with a 95 % interval and the number of samples behind it."""

    mean: float
    low: float
    high: float
    n: int

    def above(self, threshold: float) -> bool:
        """The whole interval lies above `threshold`."""
        return self.low > threshold

    def below(self, threshold: float) -> bool:
        """The whole interval lies below `threshold`."""
        return self.high < threshold

    def as_dict(self) -> dict:
        """The interval as a plain dict (for JSON)."""
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        return f"{self.mean:.4g} [{self.low:.4g}, {self.high:.4g}] (n={self.n})"


def mean_ci(samples: Sequence[float], confidence: float = 0.95) -> Interval:
    """Mean and Student-t interval of finite samples (NaNs, e.g. diverged runs, are dropped)."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, float("-inf"), float("inf"), 1)
    half = _scipy_stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def paired_diff_ci(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Interval:
    """Interval of the mean of `a - b` over seeds (pairs with a NaN on either side dropped)."""
    return mean_ci(np.asarray(a, np.float64) - np.asarray(b, np.float64), confidence)


def bootstrap_ci(samples: Sequence[float], statistic=np.mean, confidence: float = 0.95,
                 resamples: int = 2000, seed: int = 0) -> Interval:
    """Percentile-bootstrap interval of `statistic` (for statistics other than the mean)."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    draws = statistic(x[rng.integers(0, x.size, (resamples, x.size))], axis=1)
    alpha = (1 - confidence) / 2
    return Interval(float(statistic(x)), float(np.quantile(draws, alpha)),
                    float(np.quantile(draws, 1 - alpha)), int(x.size))


def proportion_ci(successes: int, trials: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a proportion (sound near 0 and 1, unlike the normal one)."""
    if trials == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    z = _scipy_stats.norm.ppf(0.5 + confidence / 2)
    p = successes / trials
    denom = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), trials)


@dataclasses.dataclass(frozen=True)
class Claim:
    """A claim of CLAIMS.md as an experiment states it before running.

    `rule` is the decision rule in words (shown in the report); the experiment's `claims()`
    function implements it. `expected` is the literature's verdict; `deviation`, if set, is
    the written reason why `expected` differs from CLAIMS.md.
    """

    id: str
    questions: str
    rule: str
    expected: str = REPRODUCED
    deviation: str = ""

    def __post_init__(self):
        if self.expected not in VERDICTS:
            raise ValueError(f"{self.id}: expected must be one of {VERDICTS}")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A decided claim: its statistic with 95 % interval, the verdict, and supporting numbers."""

    claim: Claim
    verdict: str
    statistic: str
    interval: Interval
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def matches_expected(self) -> bool:
        """Whether the data gave the verdict the literature (or a recorded deviation) expects."""
        return self.verdict == self.claim.expected

    def as_dict(self) -> dict:
        """The verdict with its claim, rule, interval and details, ready for `summary.json`."""
        return {
            "id": self.claim.id,
            "questions": self.claim.questions,
            "rule": self.claim.rule,
            "expected": self.claim.expected,
            "deviation": self.claim.deviation,
            "verdict": self.verdict,
            "statistic": self.statistic,
            "interval": self.interval.as_dict(),
            "details": _plain(self.details),
        }


def decide(claim: Claim, holds: bool, statistic: str, interval: Interval, **details) -> Verdict:
    """A two-way verdict: `reproduced` if the rule `holds`, else `not reproduced`."""
    return Verdict(claim, REPRODUCED if holds else NOT_REPRODUCED, statistic, interval, details)


def _plain(value):
    """Convert numpy scalars/arrays and Intervals inside `value` to JSON-ready values."""
    if isinstance(value, Interval):
        return value.as_dict()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
