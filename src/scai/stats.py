"""Summary statistics reported everywhere: mean with a Student-t 95% confidence interval, and a
bootstrap interval for a difference of means."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from pydantic import BaseModel

# Two-sided 95% critical values of Student's t, by degrees of freedom.
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t95(df: int) -> float:
    """Critical t for a two-sided 95% interval (normal 1.96 beyond the table, smoothly)."""
    if df < 1:
        return math.nan
    if df <= len(_T95):
        return _T95[df - 1]
    return 1.96 + 2.4 / df  # within 0.002 of the exact value for df > 30


class Estimate(BaseModel):
    """Mean, standard error and 95% CI of n values (CI is None for n < 2)."""

    n: int
    mean: float | None
    sem: float | None
    ci_low: float | None
    ci_high: float | None

    def within(self, low: float, high: float) -> Estimate:
        """The interval cut to what the quantity can be (a share's t-interval over 3 seeds
        can reach below 0); the mean and standard error are unchanged."""
        if self.ci_low is None or self.ci_high is None or self.mean is None:
            return self
        # never past the mean (a value outside the range is reported, not hidden)
        return self.model_copy(update={"ci_low": min(max(low, self.ci_low), self.mean),
                                       "ci_high": max(min(high, self.ci_high), self.mean)})

    def fmt(self, digits: int = 2) -> str:
        if self.mean is None:
            return "n/a"
        if self.ci_low is None:
            return f"{self.mean:.{digits}f} (n={self.n})"
        return (f"{self.mean:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"
                f" (n={self.n})")


def mean_ci(values: Sequence[float]) -> Estimate:
    """Mean and Student-t 95% confidence interval."""
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(xs)
    if n == 0:
        return Estimate(n=0, mean=None, sem=None, ci_low=None, ci_high=None)
    mean = sum(xs) / n
    if n == 1:
        return Estimate(n=1, mean=mean, sem=None, ci_low=None, ci_high=None)
    var = sum((x - mean) ** 2 for x in xs) / (n - 1)
    sem = math.sqrt(var / n)
    half = t95(n - 1) * sem
    return Estimate(n=n, mean=mean, sem=sem, ci_low=mean - half, ci_high=mean + half)


def bootstrap_diff_ci(a: Sequence[float], b: Sequence[float], *, seed: int,
                      resamples: int = 2000) -> tuple[float, float] | None:
    """Percentile 95% bootstrap CI of mean(a) − mean(b), each group resampled with replacement
    (seeded, so deterministic); None when either group is empty."""
    if not a or not b:
        return None
    rng = random.Random(seed)
    diffs = sorted(
        sum(rng.choices(a, k=len(a))) / len(a) - sum(rng.choices(b, k=len(b))) / len(b)
        for _ in range(resamples))
    return diffs[round(0.025 * (resamples - 1))], diffs[round(0.975 * (resamples - 1))]
