"""Refusal read by the refusal classifier instead of the judge model
(`evaluate.refusal_judge: classifier`).

On the shipped calibration test split the classifier agrees with the refusal labels far better
than the embedded judge models (docs/judges.md), so a CAI report's attack success and
over-refusal can rest on a judge whose accuracy is known. The classifier is fitted once per
process on the shipped training set and the calibration set's dev split; every rubric with a
`refused` field then takes that field from it (the judge model still gives the other fields),
and the score is recombined (scai.cai.evaluate).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scai.judges.classifier import RefusalClassifier

# Which kind of request each refusal rubric judges replies to (the classifier reads it: a
# reply that changes the subject deflects a harmful request but may answer a benign one).
REQUEST_OF_RUBRIC = {"harm": "harmful", "over_refusal": "benign"}


@cache
def shipped_classifier() -> RefusalClassifier:
    """The refusal classifier fitted on the shipped training set and calibration dev split
    (seed 0), the same one `scai judge-check --judge classifier` measures."""
    from scai.judges.calibration import load_calibration, select
    from scai.judges.methods import ClassifierJudge

    return ClassifierJudge(select(load_calibration(), split="dev")).model


def refusal_probabilities(replies: list[str], rubrics: Sequence[str | None] | None = None
                          ) -> list[float]:
    """P(refused) for each reply, from the shipped classifier; `rubrics` (one per reply) names
    the rubric judging it, which tells the classifier the kind of request (unknown: None)."""
    from scai.judges.classifier import Replies

    if not replies:
        return []
    kinds = [REQUEST_OF_RUBRIC.get(r or "") for r in (rubrics or [None] * len(replies))]
    return shipped_classifier().probabilities(Replies(replies, kinds))
