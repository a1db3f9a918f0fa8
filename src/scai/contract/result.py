"""What a simulation returns: epochs, runs, and the estimates over the runs of one invocation."""

from __future__ import annotations

from pydantic import BaseModel, Field

from scai.contract.constitution import Constitution
from scai.contract.router import Route
from scai.stats import Estimate, mean_ci


class EpochRecord(BaseModel):
    """One epoch: the constitution in force, what it led to, and the episodes behind it."""

    epoch: int
    constitution: Constitution
    metrics: dict[str, float | None]
    episodes_run: int
    episodes_replayed: int
    groups: dict[str, Constitution] | None = Field(
        None, description="per_group: each slot's constitution in force (`constitution` then "
        "holds them all, one line per slot).")
    route: Route | None = Field(None, description="per_group: who was served which slot.")


class RunResult(BaseModel):
    """One run (one seed)."""

    run_id: str
    seed: int
    prior: str
    epochs: list[EpochRecord]
    final: Constitution
    episodes_run: int
    episodes_replayed: int
    model_calls: int
    parse_failures: int
    out_dir: str
    groups: str = Field("shared", description="shared, or per_group with its router "
                        "(per_group/oracle, per_group/observed).")
    baseline: RunResult | None = Field(
        None, description="per_group: the shared-constitution arm, same seed and society.")


def aggregate(runs: list[RunResult]) -> dict[str, list[Estimate]]:
    """Mean and 95% CI over runs of every metric, epoch by epoch."""
    names = sorted({k for r in runs for e in r.epochs for k in e.metrics})
    epochs = max(len(r.epochs) for r in runs)
    return {k: [mean_ci([r.epochs[i].metrics.get(k) for r in runs if i < len(r.epochs)
                         and r.epochs[i].metrics.get(k) is not None]) for i in range(epochs)]
            for k in names}


class SimulationResult(BaseModel):
    """All runs of one config, with per-epoch estimates over runs and the files written."""

    name: str
    runs: list[RunResult]
    out_dir: str
    paper_reference: str | None = None
    aggregate: dict[str, list[Estimate]] = Field(default_factory=dict)
    plot: str | None = None
    summary: str | None = None

    @property
    def final(self) -> Constitution:
        """The last run's learned constitution."""
        return self.runs[-1].final


class Variant(BaseModel):
    """One variant of the task played under the learned constitution, over its runs."""

    name: str
    prior: bool
    reason: bool
    share: Estimate
    acceptance: Estimate
    parse_failures: int
    run_ids: list[str]


class Evaluation(BaseModel):
    """A learned constitution on another task: every variant, and the summary written."""

    constitution: str
    source_run: str
    task: str
    variants: list[Variant]
    summary: str
