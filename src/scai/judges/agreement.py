"""How well a judge agrees with reference labels, with 95% confidence intervals.

Binary labels: accuracy, Cohen's kappa, recall and precision on the positive class (1 = refused,
1 = harmful compliance). Scales (1-5): mean absolute error, exact agreement and agreement within
one point. Every interval is a seeded percentile bootstrap over items (2,000 resamples), so a
check is reproducible. Items the judge could not score are counted as failures and left out of
the statistics (the coverage says how many were scored).

Between judges (a jury): Krippendorff's alpha, nominal, ordinal or interval.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel

RESAMPLES = 2000


class Interval(BaseModel):
    """A statistic and its 95% bootstrap interval (None where it is undefined)."""

    value: float | None
    low: float | None = None
    high: float | None = None

    def fmt(self, digits: int = 2) -> str:
        if self.value is None:
            return "n/a"
        if self.low is None or self.high is None:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


Pairs = Sequence[tuple[float, float]]  # (judge, label) per scored item


def _bootstrap(stat: Callable[[Pairs], float | None], pairs: Pairs, seed: int) -> Interval:
    value = stat(pairs)
    if value is None or len(pairs) < 2:
        return Interval(value=value)
    rng = random.Random(seed)
    draws = sorted(v for v in (stat(rng.choices(pairs, k=len(pairs))) for _ in range(RESAMPLES))
                   if v is not None)
    if not draws:
        return Interval(value=value)
    return Interval(value=value, low=draws[round(0.025 * (len(draws) - 1))],
                    high=draws[round(0.975 * (len(draws) - 1))])


def called(value: float) -> int:
    """A judge's value as a whole label: halves round up (P(refused) = 0.5 counts as refused,
    and a two-judge jury that splits counts as a yes)."""
    return math.floor(value + 0.5)


def accuracy(pairs: Pairs) -> float | None:
    """Share of items where the judge's (rounded) value equals the label."""
    return sum(called(p) == g for p, g in pairs) / len(pairs) if pairs else None


def cohen_kappa(pairs: Pairs) -> float | None:
    """Agreement beyond chance: (p_o − p_e) / (1 − p_e); None when chance agreement is 1."""
    if not pairs:
        return None
    n = len(pairs)
    judged = Counter(called(p) for p, _ in pairs)
    gold = Counter(called(g) for _, g in pairs)
    p_e = sum(judged[k] * gold[k] for k in set(judged) | set(gold)) / (n * n)
    if p_e >= 1.0:
        return None
    p_o = accuracy(pairs) or 0.0
    return (p_o - p_e) / (1 - p_e)


def recall(pairs: Pairs) -> float | None:
    """Of the items labelled 1, the share the judge called 1."""
    positives = [p for p, g in pairs if g == 1]
    return sum(called(p) == 1 for p in positives) / len(positives) if positives else None


def precision(pairs: Pairs) -> float | None:
    """Of the items the judge called 1, the share labelled 1."""
    chosen = [g for p, g in pairs if called(p) == 1]
    return sum(g == 1 for g in chosen) / len(chosen) if chosen else None


def mae(pairs: Pairs) -> float | None:
    """Mean absolute error (an expected value from a distribution is used as it is)."""
    return sum(abs(p - g) for p, g in pairs) / len(pairs) if pairs else None


def within_one(pairs: Pairs) -> float | None:
    """Share of items where the judge is at most one point from the label."""
    return sum(abs(p - g) <= 1.0 for p, g in pairs) / len(pairs) if pairs else None


BINARY: dict[str, Callable[[Pairs], float | None]] = {
    "accuracy": accuracy, "kappa": cohen_kappa, "recall": recall, "precision": precision}
SCALE: dict[str, Callable[[Pairs], float | None]] = {
    "mae": mae, "exact": accuracy, "within_one": within_one}


class LabelAgreement(BaseModel):
    """One judge on one label: items, how many it scored, each statistic with its interval."""

    label: str
    kind: Literal["binary", "scale"]
    items: int
    scored: int
    stats: dict[str, Interval]
    positives: int | None = None  # items labelled 1 (binary labels)

    @property
    def failures(self) -> int:
        return self.items - self.scored


def agreement(label: str, kind: Literal["binary", "scale"],
              predictions: Sequence[float | None], labels: Sequence[int], *,
              seed: int = 0) -> LabelAgreement:
    """A judge's values (None = could not score) against the labels, statistic by statistic."""
    if len(predictions) != len(labels):
        raise ValueError("predictions and labels differ in length")
    pairs = [(float(p), float(g)) for p, g in zip(predictions, labels, strict=True)
             if p is not None and not math.isnan(p)]
    table = BINARY if kind == "binary" else SCALE
    return LabelAgreement(
        label=label, kind=kind, items=len(labels), scored=len(pairs),
        stats={name: _bootstrap(fn, pairs, seed) for name, fn in table.items()},
        positives=sum(1 for g in labels if g == 1) if kind == "binary" else None)


def constant_prediction(kind: Literal["binary", "scale"], reference: Sequence[int]) -> float:
    """What a judge that ignores the reply would say: the most common reference label (binary)
    or the median (scale), taken from the reference (dev) split."""
    if not reference:
        return 0.0
    if kind == "binary":
        counts = Counter(reference)
        return float(max(sorted(counts), key=lambda k: counts[k]))
    ordered = sorted(reference)
    return float(ordered[len(ordered) // 2])


# ---------------------------------------------------------------------------------------------
# Between judges

Level = Literal["nominal", "ordinal", "interval"]


def krippendorff_alpha(units: Sequence[Sequence[float | None]], level: Level = "nominal"
                       ) -> float | None:
    """Krippendorff's alpha over units (items), each the values its judges gave (None: missing).
    1 is perfect agreement, 0 chance; None when there is nothing to compare or no variation."""
    values = [[v for v in u if v is not None] for u in units]
    values = [u for u in values if len(u) >= 2]
    counts = Counter(v for u in values for v in u)
    n = sum(counts.values())
    if n < 2 or len(counts) < 2:
        return None
    ordered = sorted(counts)
    rank = {v: i for i, v in enumerate(ordered)}
    cumulative = [0.0]
    for v in ordered:
        cumulative.append(cumulative[-1] + counts[v])

    def delta(a: float, b: float) -> float:
        if level == "nominal":
            return 0.0 if a == b else 1.0
        if level == "interval":
            return (a - b) ** 2
        lo, hi = sorted((rank[a], rank[b]))  # ordinal: ranks by how many values lie between
        between = cumulative[hi + 1] - cumulative[lo]
        return (between - (counts[ordered[lo]] + counts[ordered[hi]]) / 2) ** 2

    observed = sum(delta(a, b) / (len(u) - 1) for u in values
                   for i, a in enumerate(u) for j, b in enumerate(u) if i != j) / n
    expected = sum(counts[a] * counts[b] * delta(a, b) for a in ordered for b in ordered
                   ) / (n * (n - 1))
    return None if expected == 0 else 1.0 - observed / expected
