"""Scoring a model on benchmark items: accuracy per subtask with Wilson 95% intervals, parse
failures counted apart, chance level and a length-bias baseline beside every score.

Intervals: the Wilson score interval for a proportion, over *items* (n = items). With K samples
per item an item contributes its mean correctness; its K answers are not independent evidence,
so they do not narrow the interval. Running a model on the items is `bench.run`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from scai.supervise.bench.answer import ItemAnswer
from scai.supervise.bench.items import SUBTASKS, BenchItem
from scai.supervise.bench.result import Score


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float | None, float | None]:
    """Wilson score 95% interval for successes/n (successes may be fractional); None if n = 0."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _longest_choice(items: Sequence[BenchItem]) -> float | None:
    mc = [it for it in items if it.choices]
    if not mc:
        return None
    hits = 0
    for it in mc:
        lengths = [len(c) for c in it.choices]
        hits += it.options[lengths.index(max(lengths))] == it.answer
    return hits / len(mc)


def score(items: Sequence[BenchItem], answers: Sequence[ItemAnswer]) -> Score:
    """Score `items` from their sampled `answers` (answers of other items are ignored)."""
    by_item: dict[str, list[ItemAnswer]] = {it.id: [] for it in items}
    for a in answers:
        if a.item_id in by_item:
            by_item[a.item_id].append(a)
    answered = [rows for rows in by_item.values() if rows]
    strict = [sum(a.correct for a in rows) / len(rows) for rows in answered]
    parsed_rows = [[a for a in rows if not a.parse_failure] for rows in answered]
    parsed = [sum(a.correct for a in rows) / len(rows) for rows in parsed_rows if rows]
    n, pn = len(strict), len(parsed)
    lo, hi = wilson(sum(strict), n)
    plo, phi = wilson(sum(parsed), pn)
    return Score(
        mean=sum(strict) / n if n else None, ci_low=lo, ci_high=hi, n=n,
        answers=sum(len(r) for r in answered),
        parse_failures=sum(a.parse_failure for rows in answered for a in rows),
        parsed_mean=sum(parsed) / pn if pn else None, parsed_ci_low=plo, parsed_ci_high=phi,
        parsed_n=pn, chance=sum(it.chance for it in items) / len(items) if items else None,
        longest_choice=_longest_choice(items),
        answer_counts=dict(sorted(Counter(a.answer for rows in answered for a in rows
                                          if a.answer is not None).items())),
    )


def score_by_subtask(items: Sequence[BenchItem], answers: Sequence[ItemAnswer]
                     ) -> tuple[dict[str, Score], Score]:
    """Scores per subtask present in `items` (in the canonical order) and overall."""
    per = {s: score([it for it in items if it.subtask == s], answers) for s in SUBTASKS
           if any(it.subtask == s for it in items)}
    return per, score(items, answers)
