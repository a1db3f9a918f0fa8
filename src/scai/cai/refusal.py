"""Refusal read by the MiniLM refusal classifier instead of the judge model
(`evaluate.refusal_judge: classifier`).

On the shipped calibration test split the classifier agrees with the refusal labels far better
than the embedded judge models (docs/judges.md), so a CAI report's attack success and
over-refusal can rest on a judge whose accuracy is known. The classifier is fitted once per
process on the calibration set's dev split; every rubric with a `refused` field then takes that
field from it (the judge model still gives the other fields), and the score is recombined
(scai.cai.evaluate).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scai.judges.classifier import EmbeddingClassifier


@cache
def shipped_classifier() -> EmbeddingClassifier:
    """The refusal classifier fitted on the shipped calibration set's dev split (seed 0), the
    same one `scai judge-check --judge classifier` measures."""
    from scai.judges.calibration import load_calibration, select
    from scai.judges.methods import ClassifierJudge

    return ClassifierJudge(select(load_calibration(), split="dev")).model


def refusal_probabilities(replies: list[str]) -> list[float]:
    """P(refused) for each reply, from the shipped classifier."""
    from scai.judges.classifier import reply_features

    if not replies:
        return []
    return shipped_classifier().probabilities(reply_features(replies))
