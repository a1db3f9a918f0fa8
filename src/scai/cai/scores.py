"""What a CAI evaluation found: each reply with its verdict (`Answer`), each model's metrics per
rubric beside its judge's measured agreement (`RubricScores`, `ModelScores`), and `score`, which
turns one model's answers into them (failures counted, never averaged in)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator

from scai.cai.cost import ModelCost
from scai.cai.judge import STATISTICS
from scai.cai.jury import alpha_line, alpha_per_field
from scai.cai.rubrics import CaiRubric, shipped_rubrics
from scai.judges.record import MeasuredAgreement
from scai.rubric import JudgeFailure, Verdict, summarise


class Answer(BaseModel):
    """One model's reply to one prompt (one sample) and its judge's verdict."""

    model: str
    rubric: str
    prompt_id: str
    sample: int
    reply: str
    opens_with_refusal: bool
    verdict: dict[str, int] | None
    score: float | None
    judge_failure: str | None = None
    expected: dict[str, float] | None = None  # judge_method logprob: each field's expected value
    refused_probability: float | None = None  # refusal_judge classifier: its P(refused)
    jury: dict[str, dict[str, float] | None] | None = None  # evaluate.jury: each member's values


class RubricScores(BaseModel):
    """One model on one rubric: its reported metrics, judged and failed counts, the judge's
    measured agreement (None until the judge is calibrated)."""

    metrics: dict[str, float | None]
    judged: int | None = None  # None: read from a result written before rubrics were data
    failures: int = 0
    agreement: float | None = None
    agreement_note: str | None = None  # the judge's latest judge-check on this rubric, in words
    jury_alpha: dict[str, float | None] = {}  # evaluate.jury: alpha between the judges per field


class ModelScores(BaseModel):
    """One model's scores, keyed by rubric, and what its evaluation cost; `metrics()` is the
    flat view (None: not judged)."""

    rubrics: dict[str, RubricScores]
    answers: int
    cost: ModelCost | None = None  # None: read from a result written before cost was measured

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: Any) -> Any:
        # Results written before rubrics were data hold one flat mapping of every metric.
        if not isinstance(data, dict) or "rubrics" in data:
            return data
        failures = data.get("judge_failures") or {}
        return {"answers": data.get("answers", 0), "rubrics": {
            r.name: {"metrics": {k: data.get(k) for k in r.reported},
                     "failures": failures.get(r.name, 0)}
            for r in shipped_rubrics().values() if any(k in data for k in r.reported)}}

    def metrics(self) -> dict[str, float | None]:
        """Every reported metric by name, in rubric order, then the cost columns."""
        flat = {k: v for s in self.rubrics.values() for k, v in s.metrics.items()}
        return {**flat, **(self.cost.metrics() if self.cost else {})}

    @property
    def judge_failures(self) -> dict[str, int]:
        """Unreadable verdicts per rubric (excluded from the means, counted here)."""
        return {name: s.failures for name, s in self.rubrics.items()}


def score(answers: list[Answer], rubrics: list[CaiRubric] | None = None,
          cost: ModelCost | None = None, measured: MeasuredAgreement | None = None,
          refusal: MeasuredAgreement | None = None) -> ModelScores:
    """One model's answers -> its metrics per rubric (failures counted, never averaged in),
    each beside the judge's measured agreement on that rubric (`measured`, from judge-check)."""
    by_rubric: dict[str, RubricScores] = {}
    for r in rubrics if rubrics is not None else list(shipped_rubrics().values()):
        mine = [a for a in answers if a.rubric == r.name]
        verdicts = [Verdict(rubric=r.name, fields=a.verdict,
                            score=r.score(a.expected if a.expected else a.verdict))
                    if a.verdict is not None else
                    JudgeFailure(rubric=r.name, reason=a.judge_failure or "") for a in mine]
        summary = summarise(verdicts, r.agreement)
        openings = [a.opens_with_refusal for a in mine]
        metrics = {k: summary.mean if k == r.name else STATISTICS[k](verdicts, openings)
                   for k in r.reported}
        found, note = agreement_of(r, measured, refusal)
        juries = [a.jury for a in mine if a.jury]
        by_rubric[r.name] = RubricScores(
            metrics=metrics, judged=summary.judged, failures=summary.failures,
            agreement=r.agreement if r.agreement is not None else found, agreement_note=note,
            jury_alpha=alpha_per_field(r, juries) if juries else {})
    return ModelScores(rubrics=by_rubric, answers=len(answers), cost=cost)


def agreement_of(r: CaiRubric, measured: MeasuredAgreement | None,
                 refusal: MeasuredAgreement | None) -> tuple[float | None, str | None]:
    """A rubric's headline agreement and its line: the judge's latest judge-check, the refusal
    classifier's where it reads refusal (the other fields' judge beside it)."""
    by = refusal if refusal is not None and "refused" in {m.name for m in r.metrics} \
        else measured
    if by is None:
        return None, None
    note = by.line(r.name)
    if by is refusal and measured is not None and len(r.metrics) > 1:
        note = f"{note}; other fields: {measured.line(r.name)}"
    return by.headline(r.name), note


def note_jury(scores: dict[str, ModelScores], answers: dict[str, list[Answer]],
               rubrics: dict[str, CaiRubric]) -> None:
    """Each rubric's agreement line gains the jury's alpha over every model's replies (one
    number per field for the evaluation; `jury_alpha` keeps each model's own)."""
    for name, rubric in rubrics.items():
        juries = [a.jury for group in answers.values() for a in group
                  if a.rubric == name and a.jury]
        if not juries:
            continue
        line = alpha_line(alpha_per_field(rubric, juries), sorted({m for j in juries for m in j}))
        for s in scores.values():
            if name in s.rubrics:
                rs = s.rubrics[name]
                rs.agreement_note = f"{rs.agreement_note}; {line}" if rs.agreement_note else line
