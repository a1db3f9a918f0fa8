"""Juries in CAI evaluation: several judges score every reply (`evaluate.jury`).

The jury's verdict on a reply is the mean of its members' values per field (each member's
expected value under `judge_method: logprob`, its sampled value otherwise); 0/1 fields are then
called halves-up, as judge-check reads a judge's value, and the rubric's score is computed from the
means. A member that could not give a verdict is left out of that reply's mean; a reply no member
could judge stays a failure. How far the members agree beyond chance is Krippendorff's alpha per
field over the replies (nominal on 0/1 fields, interval on scales), beside the metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scai.judges.agreement import called, krippendorff_alpha
from scai.rubric import Rubric

Votes = Mapping[str, Mapping[str, float] | None]  # member -> its field values (None: failed)


def combine(rubric: Rubric, votes: Votes) -> tuple[dict[str, int], dict[str, float]] | None:
    """The jury's verdict (fields as the rubric's integers) and its mean per field; None when
    no member gave a verdict."""
    given = [v for v in votes.values() if v is not None]
    if not given:
        return None
    means: dict[str, float] = {}
    fields: dict[str, int] = {}
    for metric in rubric.metrics:
        values = [float(v[metric.name]) for v in given if metric.name in v]
        if not values:
            return None
        mean = sum(values) / len(values)
        means[metric.name] = mean
        fields[metric.name] = min(metric.max, max(metric.min, called(mean)))
    return fields, means


def binary(rubric: Rubric, field: str) -> bool:
    """Whether a rubric field is a 0/1 label (nominal agreement) rather than a scale."""
    metric = next(m for m in rubric.metrics if m.name == field)
    return metric.max - metric.min == 1


def alpha_per_field(rubric: Rubric, juries: Sequence[Votes]) -> dict[str, float | None]:
    """Krippendorff's alpha between the members for each of the rubric's fields, the replies
    as units (None: too little to compare, e.g. every value the same)."""
    members = sorted({m for votes in juries for m in votes})
    out: dict[str, float | None] = {}
    for metric in rubric.metrics:
        level = "nominal" if binary(rubric, metric.name) else "interval"
        units = [[None if (v := votes.get(m)) is None or metric.name not in v
                  else float(v[metric.name]) for m in members] for votes in juries]
        if level == "nominal":
            units = [[None if x is None else float(called(x)) for x in u] for u in units]
        out[metric.name] = krippendorff_alpha(units, level)
    return out


def alpha_line(alphas: Mapping[str, float | None], members: Sequence[str]) -> str:
    """`jury of 2 (local, local:gemma-270m), Krippendorff's alpha: refused 0.41, ...`."""
    shown = ", ".join(f"{k} {'n/a' if v is None else f'{v:.2f}'}" for k, v in alphas.items())
    return f"jury of {len(members)} ({', '.join(members)}), Krippendorff's alpha: {shown}"
