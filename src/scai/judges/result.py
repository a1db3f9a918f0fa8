"""What a judge check found: each judge's agreement with the labels, and the whole check."""

from __future__ import annotations

from pydantic import BaseModel, Field

from scai.judges.agreement import LabelAgreement


class JudgeReport(BaseModel):
    """One judge's agreement with the labels: a row per (rubric, label), plus `all.refused`
    over every reply that carries a refusal label."""

    judge: str
    split: str
    items: int
    rows: dict[str, LabelAgreement]
    seconds: float
    members: list[str] = Field(default_factory=list, description="A jury's judges.")
    alpha: dict[str, float | None] = Field(default_factory=dict, description="A jury: "
                                           "Krippendorff's alpha between its members per row.")
    notes: list[str] = Field(default_factory=list)


class JudgeCheck(BaseModel):
    """A whole check: the data, the split, each judge's report and the constant baseline."""

    run_id: str | None = None
    data: str
    split: str
    items: int
    reports: list[JudgeReport]
    baseline: JudgeReport
    out_dir: str | None = None
