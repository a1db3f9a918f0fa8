"""What an audit produces: per seed its tree and judged scores; per dimension the aggregate
over seeds with a 95% CI and every failure counted."""

from __future__ import annotations

from pydantic import BaseModel, Field

from scai.stats import Estimate, mean_ci
from scai.supervise.audit.judge import DimensionScore
from scai.supervise.audit.tree import Tree


class SeedAudit(BaseModel):
    """One audit: its seed, the tree it grew, why it stopped, and the judge's scores."""

    seed: int
    tree: Tree
    stop_reason: str = Field(description="turns (budget spent), end (the auditor ended it) or "
                             "auditor_failure (an action that did not parse).")
    actions: int = 0
    rollbacks: int = 0
    auditor_failures: int = 0
    final_branch: int = 0
    scores: list[DimensionScore] = Field(default_factory=list)

    def seed_score(self, dimension: str) -> int | None:
        """The seed's score on a dimension: its best judged branch (None if none counted)."""
        found = [s.score for s in self.scores if s.dimension == dimension and s.ok]
        return max(found) if found else None  # type: ignore[type-var]


class DimensionSummary(BaseModel):
    """One dimension over seeds: mean of the seeds' scores with its CI, and the failures."""

    name: str
    description: str = ""
    min: int = 1
    max: int = 10
    estimate: Estimate
    judged: int = Field(0, description="Scores that counted (branch x dimension).")
    quote_failures: int = 0
    parse_failures: int = 0
    unscored_seeds: int = Field(0, description="Seeds with no counted score on it.")


class AuditResult(BaseModel):
    """A finished audit: the config's essentials, every seed, and the per-dimension summary."""

    run_id: str | None = None
    name: str
    goal: str
    auditor: str
    target: str
    judge: str
    turns: int
    rollbacks: int
    branches_judged: str = "all"
    seeds: list[SeedAudit]
    dimensions: list[DimensionSummary]
    out_dir: str | None = None
    summary_md: str | None = None
    plot: str | None = None
    transcripts: str | None = None
    wall_s: float = 0.0
    calls: int = 0
    replayed: int = 0

    @property
    def auditor_failures(self) -> int:
        return sum(s.auditor_failures for s in self.seeds)


def summarise_dimension(name: str, seeds: list[SeedAudit], description: str = "",
                        lo: int = 1, hi: int = 10) -> DimensionSummary:
    """Aggregate one dimension: the mean over seeds of each seed's score (failures never count,
    they are counted)."""
    scores = [s for seed in seeds for s in seed.scores if s.dimension == name]
    per_seed = [seed.seed_score(name) for seed in seeds]
    return DimensionSummary(
        name=name, description=description, min=lo, max=hi,
        estimate=mean_ci([v for v in per_seed if v is not None]),
        judged=sum(1 for s in scores if s.ok),
        quote_failures=sum(1 for s in scores if s.status == "quote_not_found"),
        parse_failures=sum(1 for s in scores if s.status == "parse_failure"),
        unscored_seeds=sum(1 for v in per_seed if v is None))
