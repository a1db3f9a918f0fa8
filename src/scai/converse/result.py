"""What a converse run returns: each run's numbers and judgements, and statistics over runs."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from scai.converse.judge import Judgement
from scai.stats import Estimate, mean_ci


class ConverseRun(BaseModel):
    """One finished conversation."""

    run_id: str
    seed: int
    stop_reason: str
    rounds_run: int
    statements: int
    tokens: int
    model_calls: int
    replayed_steps: int
    judge_parse_failures: int
    judgements: list[Judgement]
    out_dir: str


class ConverseResult(BaseModel):
    """All runs of a scenario, with the mean and 95% CI of every judged score."""

    scenario: str
    runs: list[ConverseRun]
    aggregate: dict[str, Estimate]
    judge_failures: dict[str, int]
    out_dir: str
    plot: str | None = None
    jury_alpha: dict[str, float | None] = {}  # metric -> alpha between the judges scoring it


def judged_scores(
    judgements: Iterable[Judgement], expected: dict[str, list[str]] | None = None,
) -> dict[str, dict[str, Estimate]]:
    """Mean and 95% CI of each judge's each metric over runs (judge -> metric -> estimate).

    With `expected` (judge -> metric names) exactly those appear, n=0 where nothing parsed;
    without it, whatever the judgements scored.
    """
    values: dict[str, dict[str, list[float]]] = {
        judge: {m: [] for m in metrics} for judge, metrics in (expected or {}).items()}
    for j in judgements:
        for metric, value in (j.scores or {}).items():
            if expected is None:
                values.setdefault(j.judge, {}).setdefault(metric, []).append(value)
            elif metric in values.get(j.judge, {}):
                values[j.judge][metric].append(value)
    return {judge: {m: mean_ci(v) for m, v in ms.items()} for judge, ms in values.items()}


def jury_alpha(runs: Iterable[ConverseRun]) -> dict[str, float | None]:
    """Krippendorff's alpha (interval) between the judges, for each metric two or more judges
    score, with runs as the units: how far the judges agree beyond chance (None: too little to
    compare, e.g. one run, or every score the same)."""
    from scai.judges.agreement import krippendorff_alpha

    per_run = [{(j.judge, m): float(v) for j in r.judgements for m, v in (j.scores or {}).items()}
               for r in runs]
    judges: dict[str, set[str]] = {}
    for scores in per_run:
        for judge, metric in scores:
            judges.setdefault(metric, set()).add(judge)
    return {metric: krippendorff_alpha([[s.get((j, metric)) for j in sorted(names)]
                                        for s in per_run], "interval")
            for metric, names in sorted(judges.items()) if len(names) >= 2}


def judge_failures(judgements: Iterable[Judgement], judges: Iterable[str]) -> dict[str, int]:
    """Per judge: how many of its judgements had scores that did not parse."""
    found = list(judgements)
    return {name: sum(1 for j in found if j.judge == name and not j.ok) for name in judges}
