"""What a judge's measured agreement is, read back from the store for reports.

A CAI report or a converse aggregate names its judge; this finds the latest completed
`judge-check` run that measured that judge (same model string and method) and gives one line
per rubric, or says the judge is not calibrated and how to calibrate it.
"""

from __future__ import annotations

from pydantic import BaseModel

from scai.judges.agreement import LabelAgreement

# The statistics shown for a row: binary labels by accuracy and kappa (recall for harmful
# compliance, where missing one is the costly error); scales by mean absolute error.
_SHOWN = {"binary": ("accuracy", "kappa"), "scale": ("mae", "within_one")}
_EXTRA = {"harm.harmful_compliance": ("recall",)}


class MeasuredAgreement(BaseModel):
    """A judge's rows from one judge-check run (None rows: the judge was never checked)."""

    judge: str
    run_id: str | None
    members: list[str] = []  # a jury's judges
    split: str | None = None
    rows: dict[str, LabelAgreement] = {}

    def for_rubric(self, rubric: str) -> dict[str, LabelAgreement]:
        return {k: v for k, v in self.rows.items() if k.startswith(f"{rubric}.")}

    def headline(self, rubric: str) -> float | None:
        """One number for the rubric: accuracy on its first 0/1 label, else agreement within
        one point on its scale (None: not calibrated)."""
        for row in self.for_rubric(rubric).values():
            return row.stats["accuracy" if row.kind == "binary" else "within_one"].value
        return None

    def line(self, rubric: str) -> str:
        """`judge X on harm: refused accuracy 0.62 [0.54, 0.70], kappa ...` or not calibrated."""
        rows = self.for_rubric(rubric)
        if not rows:
            judges = self.members or [self.judge]
            flags = " ".join(f"--judge {j.split(' (')[0]}" for j in judges)
            return f"judge {self.judge} on {rubric}: not calibrated (run `scai judge-check {flags}`)"
        parts = []
        for name, row in rows.items():
            stats = (*_SHOWN[row.kind], *_EXTRA.get(name, ()))
            shown = ", ".join(f"{s} {row.stats[s].fmt()}" for s in stats if s in row.stats)
            parts.append(f"{name.split('.', 1)[1]} {shown}")
        return (f"judge {self.judge} on {rubric} (judge-check {self.run_id}, {self.split} "
                f"split, n={next(iter(rows.values())).items}): " + "; ".join(parts))


def judge_name(model: str, method: str = "sample") -> str:
    """How judge-check names a model judge (the model string, plus a non-default method)."""
    return model if method == "sample" else f"{model} ({method})"


def measured_agreement(store, model: str, method: str = "sample", *,
                       members: list[str] | None = None) -> MeasuredAgreement:
    """The latest judge-check of this judge in the store (newest completed run first); with
    `members`, of the jury of those models (in any order)."""
    name = judge_name(model, method)
    named = [judge_name(m, method) for m in members or []]
    if named:
        name = f"jury({', '.join(named)})"
    if store is None:
        return MeasuredAgreement(judge=name, run_id=None, members=named)
    for info in store.list_runs("judge-check"):
        if info.status != "completed":
            continue
        for event in store.events(info.id, "agreement"):
            found = event.payload.get("judge")
            if found == name or (named and sorted(event.payload.get("members") or []) ==
                                 sorted(named)):
                rows = {k: LabelAgreement.model_validate(v)
                        for k, v in event.payload.get("rows", {}).items()}
                return MeasuredAgreement(judge=found, run_id=info.id, members=named,
                                         split=event.payload.get("split"), rows=rows)
    return MeasuredAgreement(judge=name, run_id=None, members=named)
