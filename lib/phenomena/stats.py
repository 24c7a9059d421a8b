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
    """A point estimate with a 95 % interval, the samples behind it and the runs left out.

    `dropped` counts samples that were not finite (runs that diverged, or where the quantity
    is undefined) and so are not among the `n`.
    """

    mean: float
    low: float
    high: float
    n: int
    dropped: int = 0

    def above(self, threshold: float) -> bool:
        """The whole interval lies above `threshold`."""
        return self.low > threshold

    def below(self, threshold: float) -> bool:
        """The whole interval lies below `threshold`."""
        return self.high < threshold

    @classmethod
    def exact(cls, value: float, n: int = 1) -> "Interval":
        """A quantity with no sampling error (a FLOP count, a worst case over `n` exact
        values): its interval is the value itself."""
        value = float(value)
        return cls(value, value, value, n)

    def as_dict(self) -> dict:
        """The interval as a plain dict (for JSON)."""
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        dropped = f", {self.dropped} dropped" if self.dropped else ""
        return f"{self.mean:.4g} [{self.low:.4g}, {self.high:.4g}] (n={self.n}{dropped})"


def _finite(samples) -> tuple[np.ndarray, int]:
    """The finite samples as float64, and how many were not finite."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    keep = np.isfinite(x)
    return x[keep], int(x.size - keep.sum())


def _empty(dropped: int) -> Interval:
    return Interval(float("nan"), float("nan"), float("nan"), 0, dropped)


def mean_ci(samples: Sequence[float], confidence: float = 0.95,
            bounds: tuple[float, float] | None = None) -> Interval:
    """Mean and 95 % interval of the finite samples; non-finite ones (diverged runs) are counted
    in `dropped`, never silently.

    Unbounded statistics get Student's t interval. A statistic confined to `bounds` (a share,
    a non-negative barrier) gets the percentile bootstrap instead, whose interval stays inside
    the range the statistic can take (a t interval around a precision of 0.99 can reach 1.02).
    """
    x, dropped = _finite(samples)
    if bounds is not None:
        return bootstrap_ci(x, confidence=confidence, dropped=dropped)
    n = x.size
    if n == 0:
        return _empty(dropped)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, float("-inf"), float("inf"), 1, dropped)
    half = _scipy_stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, dropped)


def paired_diff_ci(a: Sequence[float], b: Sequence[float], confidence: float = 0.95,
                   bounds: tuple[float, float] | None = None) -> Interval:
    """Interval of the mean of `a - b` over seeds (pairs with a NaN on either side dropped)."""
    return mean_ci(np.asarray(a, np.float64) - np.asarray(b, np.float64), confidence, bounds)


def bootstrap_ci(samples: Sequence[float], statistic=np.mean, confidence: float = 0.95,
                 resamples: int = 2000, seed: int = 0, dropped: int = 0) -> Interval:
    """Percentile-bootstrap interval of `statistic` (for statistics other than the mean, and
    for bounded ones: the interval never leaves the range of the resampled statistic)."""
    x, more_dropped = _finite(samples)
    dropped += more_dropped
    if x.size == 0:
        return _empty(dropped)
    rng = np.random.default_rng(seed)
    draws = statistic(x[rng.integers(0, x.size, (resamples, x.size))], axis=1)
    alpha = (1 - confidence) / 2
    return Interval(float(statistic(x)), float(np.quantile(draws, alpha)),
                    float(np.quantile(draws, 1 - alpha)), int(x.size), dropped)


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
class Trend:
    """A trend judged over the whole measured range (CLAIMS.md, "fair setups"), not on endpoints.

    The claim is that a quantity moves in `direction` (+1 rises, -1 falls) as x grows. `turn` is
    the x index where the seed-mean goes furthest that way; `towards` is the paired change from
    the first x to the turn, signed so that positive supports the claim. `against` is how far it
    first went the other way before the turn, and `back` how far it came back after the turn
    (both paired changes, positive meaning "against the claim"; exactly 0 when there is no such
    part of the range).
    """

    verdict: str
    turn: int
    towards: Interval
    against: Interval
    back: Interval


def trend_verdict(values, direction: int = 1) -> Trend:
    """Judge "the quantity moves in `direction` as x grows" on `values` of shape `(seed, x)`.

    `reproduced`: it moves that way from the first x to the turn (paired CI above 0) and neither
    first moves nor later comes back the other way significantly; `nuanced`: it moves that way
    in one part of the range and significantly the other way in another (an inverted U for a
    claimed rise, a rise-then-fall for a claimed fall); `not reproduced`: it never moves that
    way significantly. The turn is where the seed-mean is most extreme in the claimed direction,
    so a monotone trend has its turn at the last x.
    """
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    signed = direction * np.asarray(values, np.float64)
    if signed.ndim != 2 or signed.shape[1] < 2:
        raise ValueError(f"values must be (seed, x) with at least two x, got shape {signed.shape}")
    means = np.nanmean(signed, axis=0)
    turn = int(np.nanargmax(means))
    low = int(np.nanargmin(means[:turn + 1]))  # furthest the other way before the turn
    towards = paired_diff_ci(signed[:, turn], signed[:, 0])
    against = paired_diff_ci(signed[:, 0], signed[:, low]) if low else _zero(towards)
    back = (paired_diff_ci(signed[:, turn], signed[:, -1]) if turn < signed.shape[1] - 1
            else _zero(towards))
    if not towards.above(0):
        verdict = NOT_REPRODUCED
    elif back.above(0) or against.above(0):
        verdict = NUANCED
    else:
        verdict = REPRODUCED
    return Trend(verdict, turn, towards, against, back)


def _zero(like: Interval) -> Interval:
    """An exact zero change over the same runs (a part of the range that does not exist)."""
    return Interval(0.0, 0.0, 0.0, like.n, like.dropped)


CLAIM, CHECK, DESCRIPTIVE = "claim", "check", "descriptive"
KINDS = (CLAIM, CHECK, DESCRIPTIVE)


@dataclasses.dataclass(frozen=True)
class Claim:
    """A claim of CLAIMS.md as an experiment states it before running.

    `rule` is the decision rule in words (shown in the report); a function of the experiment
    implements it (`experiment.ClaimBook`). `kind` is `claim` (a rule that could come out
    either way about the phenomenon), `check` (an identity or equivalence the code must
    satisfy) or `descriptive` (a measurement reported with its interval). `literature` is the
    ledger's expectation; `expected` is the verdict this experiment expects, the same unless
    `deviation` records, with its evidence, why the data at a fair setup say otherwise.
    `post_hoc` marks a claim added after a first run of its experiment had shown the data (the
    ledger asks for such claims to be labelled: their rule was not fixed blind).
    """

    id: str
    questions: str
    rule: str
    expected: str = ""
    deviation: str = ""
    kind: str = CLAIM
    literature: str = REPRODUCED
    post_hoc: bool = False

    def __post_init__(self):
        if not self.expected:
            object.__setattr__(self, "expected", self.literature)
        for name in ("expected", "literature"):
            if getattr(self, name) not in VERDICTS:
                raise ValueError(f"{self.id}: {name} must be one of {VERDICTS}")
        if self.kind not in KINDS:
            raise ValueError(f"{self.id}: kind must be one of {KINDS}, got {self.kind!r}")
        if (self.expected != self.literature) != bool(self.deviation):
            raise ValueError(f"{self.id}: an expected verdict other than the literature's needs a "
                             "written deviation, and a deviation needs a different expected verdict")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a claim's rule found: the verdict, the statistic's name, its interval, and details."""

    verdict: str
    statistic: str
    interval: Interval
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


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
            "kind": self.claim.kind,
            "rule": self.claim.rule,
            "literature": self.claim.literature,
            "expected": self.claim.expected,
            "deviation": self.claim.deviation,
            "post_hoc": self.claim.post_hoc,
            "verdict": self.verdict,
            "statistic": self.statistic,
            "interval": self.interval.as_dict(),
            "details": _plain(self.details),
        }


def decide(holds: bool, statistic: str, interval: Interval, **details) -> Outcome:
    """A two-way outcome: `reproduced` if the rule `holds`, else `not reproduced`."""
    return Outcome(REPRODUCED if holds else NOT_REPRODUCED, statistic, interval, details)


def outcome(verdict: str, statistic: str, interval: Interval, **details) -> Outcome:
    """An outcome with a verdict the rule chose itself (three-way rules: `nuanced`)."""
    return Outcome(verdict, statistic, interval, details)


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
